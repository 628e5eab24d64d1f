"""Latent priors: the distribution z is drawn from, in training and evaluation alike.

A model owns one prior (``GANModel.latent_prior``); a trick may replace it
at build time (``Trick.latent_prior``), so the z a generator is evaluated on
is always drawn from the z it was trained on, and the protocol record names
the prior (``LatentPrior.describe``).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor


class LatentPrior:
    """A distribution over latent vectors of width ``dim``.

    Subclasses implement :meth:`sample` and :meth:`describe`; ``describe``
    must return plain JSON values, since it goes into the protocol record
    and two runs with different priors are never ranked together.
    """

    def __init__(self, dim: int) -> None:
        self.dim = int(dim)

    def sample(
        self, n: int, device: torch.device | str, generator: torch.Generator | None = None
    ) -> Tensor:
        """``n`` latent vectors, N x dim, on ``device``."""
        raise NotImplementedError

    def describe(self) -> dict[str, Any]:
        """The prior as JSON values, for the protocol record (``{"name": ..., ...}``)."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.describe()})"


class GaussianPrior(LatentPrior):
    """z ~ N(0, I): the prior of almost every GAN paper since Goodfellow et al. 2014."""

    def sample(
        self, n: int, device: torch.device | str, generator: torch.Generator | None = None
    ) -> Tensor:
        """Standard normal N x dim."""
        return torch.randn(n, self.dim, device=device, generator=generator)

    def describe(self) -> dict[str, Any]:
        """``{"name": "gaussian", "dim": dim}``."""
        return {"name": "gaussian", "dim": self.dim}
