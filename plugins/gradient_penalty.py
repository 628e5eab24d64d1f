"""Gradient penalty: Gulrajani et al. 2017, "Improved Training of Wasserstein GANs".

Adds lambda * E[(||grad_x D(x_hat)||_2 - 1)^2] to D's loss, with x_hat a
random point on the line between a real and a generated sample, one
uniform epsilon per pair (Algorithm 1, lines 6-8; lambda = 10, section 4).
The penalty is taken on what D sees (after ``transform_d_input``), under
the batch's conditioning, so it applies to any model and any loss: the
paper pairs it with the Wasserstein critic (``wgan-gp``), and it has since
been used on other losses too (Fedus et al. 2018), which is why the trick
does not refuse them. The gradient norm is over every dimension of one
sample (the flattened image or vector); the maths is the public
:func:`ganbench.blocks.penalties.gradient_penalty`, which ``wgan-gp`` uses too.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from torch import Tensor

import ganbench
from ganbench.api import Param, StepTensors, Trick, TrickSpec
from ganbench.blocks.penalties import gradient_penalty

NAME = "gradient-penalty"


class GradientPenalty(Trick):
    """Adds ``weight`` x the penalty to every D update as the term ``gradient_penalty``."""

    name = NAME
    hook_points = ("loss_terms",)

    def __init__(self, params: Mapping[str, Any]) -> None:
        self.weight = float(params["weight"])
        self.target_norm = float(params["target_norm"])

    def loss_terms(self, terms: dict[str, Tensor], step: StepTensors) -> dict[str, Tensor]:
        if step.net == "d":
            terms["gradient_penalty"] = self.weight * gradient_penalty(step, self.target_norm)
        return terms


@ganbench.hookimpl
def ganbench_register_tricks(register: Callable[[TrickSpec], None]) -> None:
    register(
        TrickSpec(
            name=NAME,
            build=GradientPenalty,
            hook_points=GradientPenalty.hook_points,
            params=(
                Param("weight", float, 10.0, "lambda, the penalty's weight (the paper's 10)"),
                Param("target_norm", float, 1.0, "the gradient norm penalised towards"),
            ),
            description="WGAN-GP's gradient penalty on real/fake interpolates (Gulrajani et al. 2017)",
        )
    )
