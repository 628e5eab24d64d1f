"""DCGAN's initialisation as a trick usable on any model.

Radford et al. 2016, section 4: "All weights were initialized from a
zero-centered Normal distribution with standard deviation 0.02"; the
PyTorch DCGAN example also draws BatchNorm scales from N(1, 0.02) with zero
shifts, as :func:`ganbench.blocks.dcgan.dcgan_init` does. Applied after the
model's own initialisation, on fresh runs only (a resumed run loads its
weights). ``std`` is the paper's 0.02. Biases are set to zero: the paper
says nothing of them, and the example's layers have none.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from torch import nn

import ganbench
from ganbench.api import GANModel, Param, Trick, TrickSpec

NAME = "dcgan-init"
_WEIGHTED = (nn.Linear, nn.Conv1d, nn.Conv2d, nn.ConvTranspose2d)
_NORMS = (nn.BatchNorm1d, nn.BatchNorm2d)


class DCGANInit(Trick):
    """Re-draws every linear and convolution weight from N(0, std)."""

    name = NAME
    hook_points = ("init_weights",)

    def __init__(self, params: Mapping[str, Any]) -> None:
        self.std = float(params["std"])
        if self.std <= 0.0:
            raise ValueError(f"dcgan-init std must be > 0, got {self.std}")

    def init_weights(self, model: GANModel) -> None:
        for module in model.modules():
            if isinstance(module, _WEIGHTED):
                nn.init.normal_(module.weight, 0.0, self.std)
                if module.bias is not None:
                    nn.init.zeros_(module.bias)
            elif isinstance(module, _NORMS) and module.affine:
                nn.init.normal_(module.weight, 1.0, self.std)
                nn.init.zeros_(module.bias)


def _check(model: GANModel) -> str | None:
    if not any(isinstance(module, _WEIGHTED) for module in model.modules()):
        return "it has no linear or convolution layer to initialise"
    return None


@ganbench.hookimpl
def ganbench_register_tricks(register: Callable[[TrickSpec], None]) -> None:
    register(
        TrickSpec(
            name=NAME,
            build=DCGANInit,
            hook_points=DCGANInit.hook_points,
            params=(Param("std", float, 0.02, "weight std (paper: 0.02)"),),
            description="weights N(0, 0.02), BatchNorm scale N(1, 0.02) (Radford et al. 2016)",
            check=_check,
        )
    )
