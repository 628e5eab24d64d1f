"""The recording trick the kit runs against every model: are the step hooks reached in order?

A model that overrides ``train_step`` and skips a hook point would get a
trick recorded (and shown on the leaderboard) that did nothing; this trick
declares every step hook point, changes nothing, and notes each call, so
:func:`hook_order_problems` can say which hook a model's step misses or
calls out of place.
"""

from __future__ import annotations

from typing import Any

from torch import Tensor

from ganbench.trick import STEP_HOOK_POINTS, Trick


class HookOrderRecorder(Trick):
    """Notes ``(hook point, detail)`` for every step hook call; returns its inputs unchanged."""

    name = "kit-hook-order"
    hook_points = (*STEP_HOOK_POINTS, "end_of_step")

    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []

    def targets(self, real: Tensor, fake: Tensor, ctx: Any) -> tuple[Tensor, Tensor]:
        self.calls.append(("targets", ""))
        return real, fake

    def transform_d_input(self, x: Tensor, which: str, ctx: Any) -> Tensor:
        self.calls.append(("transform_d_input", which))
        return x

    def transform_d_output(self, out: dict[str, Tensor], which: str, ctx: Any) -> dict[str, Tensor]:
        self.calls.append(("transform_d_output", which))
        return out

    def loss_terms(self, terms: dict[str, Tensor], step: Any) -> dict[str, Tensor]:
        self.calls.append(("loss_terms", step.net))
        return terms

    def after_d_step(self, model: Any, ctx: Any) -> None:
        self.calls.append(("after_d_step", ""))

    def after_g_step(self, model: Any, ctx: Any) -> None:
        self.calls.append(("after_g_step", ""))

    def end_of_step(self, model: Any, ctx: Any) -> None:
        self.calls.append(("end_of_step", ""))


def hook_order_problems(calls: list[tuple[str, str]]) -> list[str]:
    """What is missing or out of place in one or more recorded training steps.

    Each D optimizer step (``after_d_step``) must follow, since the previous
    optimizer step, D's inputs (``transform_d_input``), its outputs
    (``transform_d_output``), the ``targets`` and the D loss terms; each G optimizer step the G loss terms; every step
    ends with ``end_of_step``.
    """
    problems: list[str] = []
    reached = {point for point, _ in calls}
    for point in (*STEP_HOOK_POINTS, "end_of_step"):
        if point not in reached:
            problems.append(f"{point} is never reached")
    since: list[tuple[str, str]] = []
    for point, detail in calls:
        if point == "after_d_step":
            seen = {p for p, _ in since}
            for needed in ("transform_d_input", "transform_d_output", "targets"):
                if needed not in seen:
                    problems.append(f"a D optimizer step without {needed} before it")
            if ("loss_terms", "d") not in since:
                problems.append("a D optimizer step without D loss_terms before it")
            since = []
        elif point == "after_g_step":
            if ("loss_terms", "g") not in since:
                problems.append("a G optimizer step without G loss_terms before it")
            since = []
        elif point == "end_of_step":
            since = []
        else:
            since.append((point, detail))
    if calls and calls[-1][0] != "end_of_step":
        problems.append("the step does not end with end_of_step")
    return sorted(set(problems), key=problems.index)
