"""Repeated runs of one training seed: which run a leaderboard row counts.

A row's n is the number of distinct training seeds, because a seed is one
draw of the training randomness: running seed 0 three times measures seed 0
three times (identically, on one machine: ``tests/test_determinism.py``),
and counting it as three seeds would print a spread of zero and a seed
count the data does not have. So each (entry, seed) counts once, with its
newest run; the older runs only feed a table note that says whether they
agreed with the one counted.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from ganbench.run.record import RunRecord

#: What makes a leaderboard row: runs that differ only in seed are one entry.
ENTRY_COLUMNS: tuple[str, ...] = ("kind", "model", "tricks", "steps", "batch_size")

#: Two runs of one seed agree when their ranked values are this close. Runs
#: of a seed repeat bit for bit on one machine and thread count; elsewhere
#: float32 reductions in another order move the last digits (about 1e-7
#: relative), which 1e-6 allows for. Anything larger is a different result.
AGREEMENT_REL_TOL = 1e-6
#: Absolute floor of the agreement test, for values at or near zero.
AGREEMENT_ABS_TOL = 1e-12

#: An entry as a tuple of :data:`ENTRY_COLUMNS` values.
Entry = tuple[str, str, str, int, int]


@dataclass(frozen=True)
class SeedRuns:
    """Every shown run of one training seed of one entry.

    Attributes:
        entry: the entry, in :data:`ENTRY_COLUMNS` order.
        seed: the training seed.
        runs: the runs, oldest first (``created_at``, then ``run_id``).
    """

    entry: Entry
    seed: int
    runs: tuple[RunRecord, ...]

    @property
    def counted(self) -> RunRecord:
        """The run the leaderboard counts for this seed: the newest."""
        return self.runs[-1]


def entry_of(record: RunRecord) -> Entry:
    """The leaderboard entry ``record`` belongs to (:data:`ENTRY_COLUMNS` values)."""
    return (
        record.kind,
        record.model_label(),
        record.tricks_label(),
        int(record.steps),
        int(record.batch_size),
    )


def group_by_seed(records: Iterable[RunRecord]) -> list[SeedRuns]:
    """The runs of each (entry, seed), sorted by entry then seed.

    Runs are ordered by ``created_at`` and then ``run_id``, so which run
    counts never depends on the order the store returns them in.
    """
    groups: dict[tuple[Entry, int], list[RunRecord]] = defaultdict(list)
    for record in records:
        groups[(entry_of(record), int(record.seed))].append(record)
    return [
        SeedRuns(entry, seed, tuple(sorted(runs, key=lambda r: (r.created_at, r.run_id))))
        for (entry, seed), runs in sorted(groups.items())
    ]


def repeated_seed_notes(groups: Iterable[SeedRuns], metric: str | None) -> list[str]:
    """Table notes for seeds run more than once, judged on ``metric`` (the ranked one).

    One note per seed whose runs disagree (their status or their ``metric``
    values beyond float noise), naming the entry, the seed and every value,
    oldest first; one note per entry (and per ground of agreement) listing
    the seeds whose repeats agreed and were merged. ``metric`` None compares
    statuses only.
    """
    notes: list[str] = []
    # (entry, what the runs had in common) -> the seeds merged on that ground
    merged: dict[tuple[Entry, str], list[int]] = defaultdict(list)
    for group in groups:
        if len(group.runs) < 2:
            continue
        if _runs_agree(group.runs, metric):
            if group.counted.status != "completed":
                common = f"all {group.counted.status}"
            else:
                common = f"gave the same {metric}" if metric else "all completed"
            merged[(group.entry, common)].append(group.seed)
            continue
        values = ", ".join(_value_text(run, metric) for run in group.runs)
        notes.append(
            f"{describe_entry(group.entry)}, seed {group.seed}: {len(group.runs)} runs disagree "
            f"on {metric or 'their status'} ({values}, oldest first); only the newest, "
            f"{group.counted.run_id}, is counted"
        )
    for (entry, common), seeds in merged.items():
        listed = ", ".join(str(seed) for seed in seeds)
        notes.append(
            f"{describe_entry(entry)}: repeated runs of seed {listed} {common} and were "
            "merged (each seed counted once)"
        )
    return notes


def describe_entry(entry: Entry) -> str:
    """``"gan at 5000 steps, batch 256"``, with the tricks when there are any."""
    kind, model, tricks, steps, batch_size = entry
    if kind == "real-data":
        return model
    name = model if tricks == "-" else f"{model} + {tricks}"
    return f"{name} at {steps} steps, batch {batch_size}"


def _runs_agree(runs: tuple[RunRecord, ...], metric: str | None) -> bool:
    if len({run.status for run in runs}) > 1:
        return False
    if metric is None or runs[0].status != "completed":
        return True
    values = [_value(run, metric) for run in runs]
    if all(math.isnan(value) for value in values):
        return True
    if any(math.isnan(value) for value in values):
        return False
    return all(
        math.isclose(value, values[-1], rel_tol=AGREEMENT_REL_TOL, abs_tol=AGREEMENT_ABS_TOL)
        for value in values
    )


def _value(run: RunRecord, metric: str) -> float:
    return float(run.metrics.get(metric, math.nan))


def _value_text(run: RunRecord, metric: str | None) -> str:
    if run.status != "completed":
        return run.status
    if metric is None:
        return "completed"
    value = _value(run, metric)
    # Eight significant digits: enough to show a difference beyond the tolerance.
    return "n/a" if math.isnan(value) else f"{value:.8g}"
