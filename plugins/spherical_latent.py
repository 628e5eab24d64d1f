"""Spherical latents: z drawn on the sphere, in training and evaluation alike.

White 2016 ("Sampling Generative Networks", section 2.1) observes that
Gaussian latents of high dimension concentrate near the sphere of radius
sqrt(d) and that the space between is never trained on; ganhacks (Chintala
et al. 2016, trick 3) recommends sampling z on the sphere. The trick
replaces the model's Gaussian prior by the uniform distribution on the
sphere of radius sqrt(d) (a normalised Gaussian, rescaled), which keeps
the generator's input at the scale its initialisation expects. It replaces
the prior at build time, so evaluation draws from it too, and the protocol
record names it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

import torch
from torch import Tensor

import ganbench
from ganbench.api import GANModel, GaussianPrior, LatentPrior, Trick, TrickSpec

NAME = "spherical-latent"


class SphericalPrior(LatentPrior):
    """Uniform on the sphere of radius sqrt(dim) in R^dim."""

    def sample(
        self, n: int, device: torch.device | str, generator: torch.Generator | None = None
    ) -> Tensor:
        g = torch.randn(n, self.dim, device=device, generator=generator)
        return g / g.norm(dim=1, keepdim=True).clamp_min(1e-12) * math.sqrt(self.dim)

    def describe(self) -> dict[str, Any]:
        return {"name": "spherical", "dim": self.dim, "radius": "sqrt(dim)"}


class SphericalLatent(Trick):
    """Replaces a Gaussian latent prior by :class:`SphericalPrior`."""

    name = NAME
    hook_points = ("latent_prior",)

    def __init__(self, params: Mapping[str, Any]) -> None:
        del params

    def latent_prior(self, prior: LatentPrior, model: GANModel) -> LatentPrior:
        return SphericalPrior(prior.dim)


def gaussian_prior_problem(model: GANModel) -> str | None:
    """Why a trick that replaces a Gaussian prior cannot act on ``model`` (or None)."""
    prior = model.latent_prior
    if prior is None:
        return "the model draws no latent z"
    if not isinstance(prior, GaussianPrior):
        return f"it replaces a Gaussian prior, and the model's prior is {prior.describe()}"
    return None


@ganbench.hookimpl
def ganbench_register_tricks(register: Callable[[TrickSpec], None]) -> None:
    register(
        TrickSpec(
            name=NAME,
            build=SphericalLatent,
            hook_points=SphericalLatent.hook_points,
            description="z uniform on the sphere of radius sqrt(d) (White 2016; ganhacks)",
            check=gaussian_prior_problem,
        )
    )
