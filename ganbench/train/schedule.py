"""How many discriminator steps each generator step takes: the D-steps schedule.

Most papers use a constant (1 for DCGAN, 5 critic steps for WGAN-GP). WGAN
(Arjovsky et al. 2017, Algorithm 1 and the authors' code) trains the critic
100 times for the first 25 generator steps and every 500th one, so a
schedule is a function of the generator step, and the protocol record keeps
the schedule (``describe``), not one number.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class DStepSchedule:
    """``base`` D steps per G step, ``boosted`` instead on the boosted G steps.

    A generator step ``s`` (0-based) is boosted when ``s < boost_first`` or
    when ``boost_every`` > 0 and ``s % boost_every == 0``. Subclass and
    override :meth:`at` and :meth:`describe` for another shape.

    Attributes:
        base: D steps of an ordinary generator step (at least 1).
        boosted: D steps of a boosted generator step (0: no boost).
        boost_first: the first this many generator steps are boosted.
        boost_every: every this-many-th generator step is boosted (0: none).
    """

    base: int = 1
    boosted: int = 0
    boost_first: int = 0
    boost_every: int = 0

    def __post_init__(self) -> None:
        if self.base < 1:
            raise ValueError(f"D steps per G step must be at least 1, got {self.base}")
        if self.boosted < 0 or self.boost_first < 0 or self.boost_every < 0:
            raise ValueError(f"a D-steps schedule takes no negative numbers: {self}")

    def at(self, step: int) -> int:
        """D steps for generator step ``step``."""
        if self.boosted and (
            step < self.boost_first or (self.boost_every and step % self.boost_every == 0)
        ):
            return self.boosted
        return self.base

    def total(self, steps: int) -> int:
        """D steps the first ``steps`` generator steps take in all."""
        return sum(self.at(s) for s in range(steps))

    def with_base(self, base: int) -> DStepSchedule:
        """The same boosts around another ``base`` (what ``--d-steps N`` sets)."""
        return DStepSchedule(base, self.boosted, self.boost_first, self.boost_every)

    def describe(self) -> dict[str, Any]:
        """JSON form for the protocol record; a constant schedule is ``{"base": n}``."""
        if not self.boosted:
            return {"base": self.base}
        return {
            "base": self.base,
            "boosted": self.boosted,
            "boost_first": self.boost_first,
            "boost_every": self.boost_every,
        }


def as_schedule(value: int | DStepSchedule) -> DStepSchedule:
    """A model's ``d_steps`` (a number or a schedule) as a schedule."""
    if isinstance(value, DStepSchedule):
        return value
    return DStepSchedule(int(value))
