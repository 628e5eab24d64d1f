"""The runs an ablation needs: one per (arm, seed), reused from the results store.

An *arm* is a trick set: the empty one is the baseline, the others are the
baseline plus a trick (``--trick label-smoothing``) or several
(``--trick a+b``). A *cell* is one arm on one seed. A cell is reused when
the store holds a completed run of the same model and parameters, dataset,
tricks and parameters, seed and budget, measured under the baseline's
protocol (comparison key), so an ablation that was stopped, or extended by
more seeds or tricks, trains only what is missing.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from ganbench.model_build import parse_trick
from ganbench.run.record import RunRecord

#: ``--trick all``: every registered trick that applies to the model.
ALL_TRICKS = "all"
BASELINE = "baseline"


@dataclass(frozen=True)
class Arm:
    """One trick set of an ablation.

    Attributes:
        texts: the tricks as given (``("label-smoothing", "ema:0.99")``); empty for the baseline.
        tricks: the tricks as run records hold them (``{"name": ..., "params": {...}}``).
    """

    texts: tuple[str, ...]
    tricks: tuple[dict[str, Any], ...]

    @property
    def label(self) -> str:
        """``"baseline"`` or the trick texts joined by ``+``."""
        return "+".join(self.texts) if self.texts else BASELINE


def parse_arms(trick_args: Sequence[str], registry: Any) -> list[Arm]:
    """The baseline, then one arm per ``--trick`` value (``all`` expands to every trick).

    Unknown tricks and bad parameters raise the one-line errors of ``ganbench run``.
    """
    groups: list[tuple[str, ...]] = []
    for text in trick_args:
        if text == ALL_TRICKS:
            groups += [(name,) for name in sorted(registry.tricks)]
        else:
            groups.append(tuple(part for part in text.split("+") if part))
    arms = [Arm((), ())]
    for group in dict.fromkeys(groups):  # each arm once, in first-given order
        tricks = []
        for text in group:
            spec, params = parse_trick(text, registry)
            tricks.append({"name": spec.name, "params": params})
        arms.append(Arm(group, tuple(tricks)))
    return arms


@dataclass(frozen=True)
class CellKey:
    """What a stored run must match to fill a cell (the arm and seed aside)."""

    model: str
    model_params: dict[str, Any]
    dataset: str
    steps: int
    batch_size: int


def find_cell(
    records: Iterable[RunRecord], key: CellKey, arm: Arm, seed: int, comparison_key: str | None
) -> RunRecord | None:
    """The newest completed stored run that fills (``arm``, ``seed``), or None."""
    found = None
    for record in records:
        if (
            record.kind == "model"
            and record.status == "completed"
            and record.model == key.model
            and record.model_params == key.model_params
            and record.dataset == key.dataset
            and record.steps == key.steps
            and record.steps_done == key.steps
            and record.batch_size == key.batch_size
            and record.seed == seed
            and list(record.tricks) == list(arm.tricks)
            and (comparison_key is None or record.comparison_key == comparison_key)
        ):
            found = record  # records come oldest first: the last match is the newest
    return found
