"""Several discriminator steps per generator step.

Goodfellow et al. 2014, Algorithm 1, take k D steps per G step (they used
k = 1); the articles advise more than one when G starts winning, and WGAN
(Arjovsky et al. 2017) and WGAN-GP (Gulrajani et al. 2017) train their
critics 5 times per generator step, the default ``k`` here. The trick sets
the schedule's base and keeps any boosts the model's schedule has (WGAN's
100-step warm-up); the protocol record names the schedule it trained with.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import ganbench
from ganbench.api import DStepSchedule, Param, Trick, TrickSpec

NAME = "d-steps"


class DSteps(Trick):
    """``k`` D steps per ordinary G step."""

    name = NAME
    hook_points = ("d_steps_schedule",)

    def __init__(self, params: Mapping[str, Any]) -> None:
        self.k = int(params["k"])
        if self.k < 1:
            raise ValueError(f"d-steps k must be >= 1, got {self.k}")

    def d_steps_schedule(self, schedule: DStepSchedule) -> DStepSchedule:
        return schedule.with_base(self.k)


@ganbench.hookimpl
def ganbench_register_tricks(register: Callable[[TrickSpec], None]) -> None:
    register(
        TrickSpec(
            name=NAME,
            build=DSteps,
            hook_points=DSteps.hook_points,
            params=(Param("k", int, 5, "D steps per G step (WGAN's n_critic: 5)"),),
            description="k D steps per G step (Goodfellow et al. 2014, Alg. 1; WGAN's 5)",
        )
    )
