"""Smooth gradients: the sparse-gradient layers of a model swapped for dense ones.

The practitioners' lists the articles draw on (Chintala et al. 2016, "How
to train a GAN", trick 5: "avoid sparse gradients: ReLU, MaxPool") and
DCGAN's guidelines (Radford et al. 2016, section 3) swap ReLU for
LeakyReLU and max-pooling for average pooling, in G and D alike. ``swap``
picks ``leaky-relu`` (slope 0.2, DCGAN's), ``avg-pool`` (same kernel,
stride and padding) or ``all``. The swaps are of modules without weights,
so checkpoint names do not move. Not done here: ReLU called as a function
inside ``forward`` (invisible from outside the module), and the swaps that
add weights (max-pooling to strided convolution, unpooling to transposed
convolution), which change the architecture rather than its gradients.
The trick is refused for a model with none of the layers it swaps.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from torch import nn

import ganbench
from ganbench.api import GANModel, IncompatibleError, Param, Trick, TrickSpec

NAME = "smooth-gradients"
LEAKY_SLOPE = 0.2


def _leaky(module: nn.Module) -> nn.Module | None:
    return nn.LeakyReLU(LEAKY_SLOPE) if type(module) is nn.ReLU else None


def _average_pool(module: nn.Module) -> nn.Module | None:
    if type(module) is nn.MaxPool2d:
        return nn.AvgPool2d(module.kernel_size, module.stride, module.padding, module.ceil_mode)
    return None


SWAPS: dict[str, tuple[Callable[[nn.Module], nn.Module | None], ...]] = {
    "leaky-relu": (_leaky,),
    "avg-pool": (_average_pool,),
    "all": (_leaky, _average_pool),
}


def swapped_layers(model: nn.Module, swap: str) -> list[tuple[nn.Module, str, nn.Module]]:
    """(parent, child name, replacement) for every layer ``swap`` replaces in ``model``."""
    found = []
    for parent in model.modules():
        for name, child in parent.named_children():
            for make in SWAPS[swap]:
                replacement = make(child)
                if replacement is not None:
                    found.append((parent, name, replacement))
    return found


class SmoothGradients(Trick):
    """Replaces ReLU by LeakyReLU(0.2) and/or max-pooling by average pooling."""

    name = NAME
    hook_points = ("transform_model",)

    def __init__(self, params: Mapping[str, Any]) -> None:
        self.swap = str(params["swap"])

    def transform_model(self, model: GANModel) -> None:
        swaps = swapped_layers(model, self.swap)
        if not swaps:
            # check() asks about every swap; this setting may still find nothing.
            raise IncompatibleError(f"trick {NAME!r}: swap={self.swap} finds no layer to replace")
        for parent, name, replacement in swaps:
            setattr(parent, name, replacement)


def _check(model: GANModel) -> str | None:
    if not swapped_layers(model, "all"):
        return "it has no ReLU or max-pooling module to swap"
    return None


@ganbench.hookimpl
def ganbench_register_tricks(register: Callable[[TrickSpec], None]) -> None:
    register(
        TrickSpec(
            name=NAME,
            build=SmoothGradients,
            hook_points=SmoothGradients.hook_points,
            params=(Param("swap", str, "all", "which swaps", choices=tuple(SWAPS)),),
            description="ReLU -> LeakyReLU(0.2), max-pool -> avg-pool in G and D (ganhacks 5)",
            check=_check,
        )
    )
