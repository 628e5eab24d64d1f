"""One-sided label smoothing: D's target for real samples is 0.9, not 1.

Salimans et al. 2016, "Improved Techniques for Training GANs", section 3.4:
replacing the real target 1 by alpha (they use 0.9) keeps D from growing
over-confident; smoothing only the real side, "one-sided", because a
smoothed fake target would reward G for samples where p_data is zero.
Only losses that read D's targets can be smoothed (``check``): the
Wasserstein and hinge losses ignore them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from torch import Tensor

import ganbench
from ganbench.api import GANModel, Param, StepContext, Trick, TrickSpec

NAME = "label-smoothing"


def targets_problem(model: GANModel, trick: str) -> str | None:
    """Why a trick that moves D's targets cannot act on ``model`` (or None)."""
    loss = model.adversarial_loss
    if not loss.uses_targets:
        return f"its loss {loss.name!r} ignores D's targets, so {trick} would change nothing"
    return None


class LabelSmoothing(Trick):
    """Scales D's real targets by ``value`` (1 -> 0.9)."""

    name = NAME
    hook_points = ("targets",)

    def __init__(self, params: Mapping[str, Any]) -> None:
        self.value = float(params["value"])
        if not 0.0 < self.value <= 1.0:
            raise ValueError(f"label-smoothing value must be in (0, 1], got {self.value}")

    def targets(self, real: Tensor, fake: Tensor, ctx: StepContext) -> tuple[Tensor, Tensor]:
        # Scaling (not overwriting) keeps a target another trick flipped to 0 at 0.
        return real * self.value, fake


@ganbench.hookimpl
def ganbench_register_tricks(register: Callable[[TrickSpec], None]) -> None:
    register(
        TrickSpec(
            name=NAME,
            build=LabelSmoothing,
            hook_points=LabelSmoothing.hook_points,
            params=(Param("value", float, 0.9, "D's target for real samples (paper: 0.9)"),),
            description="one-sided label smoothing, real target 0.9 (Salimans et al. 2016, 3.4)",
            check=lambda model: targets_problem(model, NAME),
        )
    )
