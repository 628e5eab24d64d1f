"""Early stopping on the validation metric, with a patience.

Training ends once ``patience`` validations in a row have not improved on
the best validation so far (Prechelt 1998, "Early Stopping - But When?",
the "patience" criterion; for GANs the validation metric is the run's
selection metric on the validation split, FID in most tables). The run
protocol already evaluates the generator that scored best on validation
(``best.pt``), so stopping changes what is evaluated only by saving the
remaining budget; the record says when it stopped (``steps_done`` below
``steps``, ``stopped_early`` in the protocol record). Validations come every
``--checkpoint-every`` steps (200 by default), so the default patience of
5 means 1,000 steps without improvement. ``min_delta`` is the least change
that counts as an improvement, in the metric's units (0: any).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

import ganbench
from ganbench.api import Param, StepContext, Trick, TrickSpec, Validation

NAME = "early-stop"


class EarlyStop(Trick):
    """Requests a stop after ``patience`` validations without improvement."""

    name = NAME
    hook_points = ("after_validation",)

    def __init__(self, params: Mapping[str, Any]) -> None:
        self.patience = int(params["patience"])
        self.min_delta = float(params["min_delta"])
        if self.patience < 1:
            raise ValueError(f"early-stop patience must be at least 1, got {self.patience}")
        if self.min_delta < 0.0:
            raise ValueError(f"early-stop min_delta must be >= 0, got {self.min_delta}")
        #: The best value this trick has seen, and validations since it.
        self.best: float | None = None
        self.stale = 0

    def after_validation(self, validation: Validation, ctx: StepContext) -> None:
        value = validation.value
        if math.isfinite(value) and self._improves(value, validation.lower_is_better):
            self.best, self.stale = value, 0
        else:
            self.stale += 1
        if self.stale >= self.patience:
            ctx.stop_requested = True

    def _improves(self, value: float, lower_is_better: bool) -> bool:
        if self.best is None:
            return True
        gain = self.best - value if lower_is_better else value - self.best
        return gain > self.min_delta

    def state_dict(self) -> dict[str, Any]:
        return {"best": self.best, "stale": self.stale}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.best, self.stale = state["best"], int(state["stale"])


@ganbench.hookimpl
def ganbench_register_tricks(register: Callable[[TrickSpec], None]) -> None:
    register(
        TrickSpec(
            name=NAME,
            build=EarlyStop,
            hook_points=EarlyStop.hook_points,
            params=(
                Param("patience", int, 5, "validations without improvement before stopping"),
                Param("min_delta", float, 0.0, "least change that counts as an improvement"),
            ),
            description="stop training after `patience` validations without improvement",
        )
    )
