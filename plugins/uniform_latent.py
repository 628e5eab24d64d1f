"""Uniform latents: z ~ U(-1, 1)^d instead of N(0, I), in training and evaluation.

The prior of DCGAN (Radford et al. 2016, section 4: "uniform noise
distribution") and of the original GAN code; the cube that White 2016
("Sampling Generative Networks") and ganhacks contrast with the sphere
(``spherical-latent``). It replaces a Gaussian prior at build time, so
evaluation draws from it too and the protocol record names it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import torch
from torch import Tensor

import ganbench
from ganbench.api import GANModel, LatentPrior, Trick, TrickSpec
from ganbench_plugins.spherical_latent import gaussian_prior_problem

NAME = "uniform-latent"


class UniformPrior(LatentPrior):
    """Uniform on the cube [-1, 1]^dim."""

    def sample(
        self, n: int, device: torch.device | str, generator: torch.Generator | None = None
    ) -> Tensor:
        return torch.rand(n, self.dim, device=device, generator=generator) * 2.0 - 1.0

    def describe(self) -> dict[str, Any]:
        return {"name": "uniform", "dim": self.dim, "low": -1.0, "high": 1.0}


class UniformLatent(Trick):
    """Replaces a Gaussian latent prior by :class:`UniformPrior`."""

    name = NAME
    hook_points = ("latent_prior",)

    def __init__(self, params: Mapping[str, Any]) -> None:
        del params

    def latent_prior(self, prior: LatentPrior, model: GANModel) -> LatentPrior:
        return UniformPrior(prior.dim)


@ganbench.hookimpl
def ganbench_register_tricks(register: Callable[[TrickSpec], None]) -> None:
    register(
        TrickSpec(
            name=NAME,
            build=UniformLatent,
            hook_points=UniformLatent.hook_points,
            description="z uniform on [-1, 1]^d, DCGAN's prior (Radford et al. 2016, sec. 4)",
            check=gaussian_prior_problem,
        )
    )
