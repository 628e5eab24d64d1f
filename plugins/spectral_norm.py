"""Spectral normalisation of D: Miyato et al. 2018, "Spectral Normalization for GANs".

Every weight layer of the discriminator (linear and convolutional) is
divided by its largest singular value, estimated with one power iteration
per training step (section 2.1 and Algorithm 1), which bounds D's Lipschitz
constant. PyTorch's ``torch.nn.utils.parametrizations.spectral_norm`` does
exactly this; convolution kernels are reshaped to (out, in x k x k) as in
the paper. The trick wraps the layers at build time, so a resumed or scored
run loads its checkpoint into the same wrapped model. The paper's networks
have no BatchNorm in D; the trick does not remove a model's BatchNorm.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from torch.nn.utils.parametrizations import spectral_norm

import ganbench
from ganbench.api import GANModel, Param, Trick, TrickSpec, discriminator_layers

NAME = "spectral-norm"


class SpectralNorm(Trick):
    """Wraps each of D's weight layers in a spectral-norm parametrisation."""

    name = NAME
    hook_points = ("transform_model",)

    def __init__(self, params: Mapping[str, Any]) -> None:
        self.power_iterations = int(params["power_iterations"])
        if self.power_iterations < 1:
            raise ValueError(f"power_iterations must be at least 1, got {self.power_iterations}")

    def transform_model(self, model: GANModel) -> None:
        for _, layer in discriminator_layers(model):
            spectral_norm(layer, n_power_iterations=self.power_iterations)


def _check(model: GANModel) -> str | None:
    if not discriminator_layers(model):
        return "the discriminator has no linear or convolutional layer to normalise"
    return None


@ganbench.hookimpl
def ganbench_register_tricks(register: Callable[[TrickSpec], None]) -> None:
    register(
        TrickSpec(
            name=NAME,
            build=SpectralNorm,
            hook_points=SpectralNorm.hook_points,
            params=(Param("power_iterations", int, 1, "power iterations per step (paper: 1)"),),
            description="spectral normalisation of D's layers (Miyato et al. 2018)",
            check=_check,
        )
    )
