"""Dropout in the discriminator, after each of its activations.

Goodfellow et al. 2014 trained their discriminators with dropout
(section 5); the practitioners' lists the articles draw on recommend it
against an over-confident D, and the article's sweep found rates of
0.3-0.6 best; ``p`` defaults to 0.5, inside that range. The dropout is a
child ``nn.Dropout`` of each of D's activation modules (LeakyReLU, ReLU,
ELU, GELU, maxout) applied to its output by a forward hook, so D's
parameters and their checkpoint names stay as they were;
it is active in training only (``model.eval()`` turns it off for
evaluation and for the attack metric).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from torch import Tensor, nn

import ganbench
from ganbench.api import GANModel, Param, Trick, TrickSpec
from ganbench.blocks.mlp import Maxout

NAME = "d-dropout"
DROPOUT_CHILD = "d_dropout"
ACTIVATIONS = (nn.LeakyReLU, nn.ReLU, nn.ELU, nn.GELU, Maxout)


def d_activations(model: GANModel) -> list[nn.Module]:
    """D's activation modules, the places dropout follows."""
    d = getattr(model, "discriminator", None)
    if not isinstance(d, nn.Module):
        return []
    return [module for module in d.modules() if isinstance(module, ACTIVATIONS)]


class DDropout(Trick):
    """Drops D's activations with probability ``p`` in training."""

    name = NAME
    hook_points = ("transform_model",)

    def __init__(self, params: Mapping[str, Any]) -> None:
        self.p = float(params["p"])
        if not 0.0 <= self.p < 1.0:
            raise ValueError(f"d-dropout p must be in [0, 1), got {self.p}")

    def transform_model(self, model: GANModel) -> None:
        for module in d_activations(model):
            # A child module (no parameters, so no checkpoint name moves) that a
            # forward hook applies to the activation's output.
            # in the mode of the model it joins (a new module starts in training mode).
            module.add_module(DROPOUT_CHILD, nn.Dropout(self.p).train(module.training))
            module.register_forward_hook(_drop)


def _drop(module: nn.Module, inputs: tuple[Tensor, ...], output: Tensor) -> Tensor:
    return getattr(module, DROPOUT_CHILD)(output)


def _check(model: GANModel) -> str | None:
    if not d_activations(model):
        names = ", ".join(kind.__name__ for kind in ACTIVATIONS)
        return f"its discriminator has none of the activations dropout follows ({names})"
    return None


@ganbench.hookimpl
def ganbench_register_tricks(register: Callable[[TrickSpec], None]) -> None:
    register(
        TrickSpec(
            name=NAME,
            build=DDropout,
            hook_points=DDropout.hook_points,
            params=(Param("p", float, 0.5, "drop probability (the article: 0.3-0.6)"),),
            description="dropout after D's activations (Goodfellow et al. 2014, sec. 5)",
            check=_check,
        )
    )
