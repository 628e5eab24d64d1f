"""The R1 regulariser: Mescheder, Geiger and Nowozin 2018, "Which Training
Methods for GANs do actually Converge?" (ICML).

Adds gamma / 2 * E[||grad_x D(x)||^2] over the real samples to D's loss
(eq. 9), which makes the non-saturating game locally convergent where the
unregularised one is not (section 4). gamma = 10 is the value of the
paper's CelebA-HQ and LSUN experiments (section 5 and its appendix); the
maths is :func:`ganbench.blocks.penalties.r1_penalty`. Like the gradient
penalty it applies to any model and loss.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from torch import Tensor

import ganbench
from ganbench.api import Param, StepTensors, Trick, TrickSpec
from ganbench.blocks.penalties import r1_penalty

NAME = "r1"


class R1(Trick):
    """Adds ``gamma`` / 2 x the R1 penalty to every D update as the term ``r1``."""

    name = NAME
    hook_points = ("loss_terms",)

    def __init__(self, params: Mapping[str, Any]) -> None:
        self.gamma = float(params["gamma"])
        if self.gamma < 0.0:
            raise ValueError(f"r1 gamma must be >= 0, got {self.gamma}")

    def loss_terms(self, terms: dict[str, Tensor], step: StepTensors) -> dict[str, Tensor]:
        if step.net == "d":
            terms["r1"] = 0.5 * self.gamma * r1_penalty(step)
        return terms


@ganbench.hookimpl
def ganbench_register_tricks(register: Callable[[TrickSpec], None]) -> None:
    register(
        TrickSpec(
            name=NAME,
            build=R1,
            hook_points=R1.hook_points,
            params=(Param("gamma", float, 10.0, "gamma, the penalty's weight (paper: 10)"),),
            description="R1: gamma/2 ||grad D(x_real)||^2 on D (Mescheder et al. 2018, eq. 9)",
        )
    )
