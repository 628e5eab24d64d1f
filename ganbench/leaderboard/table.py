"""Leaderboard tables: runs grouped by protocol, aggregated over seeds, ranked.

One :class:`LeaderboardTable` per (task, dataset, comparison key). Runs whose
comparison keys differ are never in the same table, so numbers measured under
different protocols are never ranked against each other (design.md).
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ganbench.leaderboard.seeds import (
    ENTRY_COLUMNS,
    Entry,
    SeedRuns,
    describe_entry,
    entry_of,
    group_by_seed,
    repeated_seed_notes,
)
from ganbench.leaderboard.ties import TIE_COLUMNS, add_tie_columns
from ganbench.run.record import COMPARISON_FIELDS, RunRecord, comparison_key

#: Leading columns of :attr:`LeaderboardTable.rows`, before the metric columns.
ROW_COLUMNS: tuple[str, ...] = (
    "rank",
    "role",
    "model",
    "tricks",
    "steps",
    "batch_size",
    "kind",
    "n_seeds",
    "n_diverged",
    "comparison_key",
    "ranked_by",
    "ranking_direction",
    *TIE_COLUMNS,
)

#: Columns of :data:`ROW_COLUMNS` with one value per table, so that every
#: CSV row says which protocol it was measured under and what ranked it.
TABLE_COLUMNS: tuple[str, ...] = ("comparison_key", "ranked_by", "ranking_direction")

#: Row roles, in display order. Only "ranked" rows get a rank number:
#: ``ref`` is real data, ``baseline`` a fixed method (a model that does not
#: train: bicubic upsampling), ``untrained`` a trained model at step 0.
ROLES: tuple[str, ...] = ("ranked", "ref", "baseline", "untrained", "unranked")

#: Statuses that appear on a leaderboard; "running" runs are not shown.
_SHOWN_STATUSES = ("completed", "diverged")


@dataclass(frozen=True)
class LeaderboardTable:
    """One ranked table: every row measured under the same protocol.

    Attributes:
        task, dataset, comparison_key: what the table covers.
        protocol: the comparison-relevant protocol fields shared by all rows.
        primary_metric: the ranking metric, or None (then nothing is ranked).
        directions: metric name -> ``"lower"``, ``"higher"`` or ``"info"``.
        metric_names: metric columns in display order (primary first).
        rows: one row per entry; columns :data:`ROW_COLUMNS` then
            ``<metric>_mean`` and ``<metric>_std`` for each metric. ``rank`` is
            1..k for ``role == "ranked"`` rows within each training budget
            (steps, batch size: rows of different budgets are never ranked
            against each other, the longest budget comes first) and missing
            otherwise;
            ``n_seeds`` and ``n_diverged`` count distinct training seeds
            (repeated runs of a seed count once, with the newest run).
            ``ranked_by`` and ``ranking_direction`` are the primary metric
            and its direction, empty when the table is not ranked.
            ``ci_low`` .. ``seeds`` say which ranks the seeds separate
            (:mod:`ganbench.leaderboard.ties`): the 95% interval of the
            ranking metric's mean, whether the row is tied with a row
            ranked above it (and with which ranks), the Welch p-value
            against the row directly above, whether it has fewer than 3
            completed seeds, and those seeds.
        notes: caveats worth printing under the table.
    """

    task: str
    dataset: str
    comparison_key: str
    protocol: dict[str, Any]
    primary_metric: str | None
    directions: dict[str, str]
    metric_names: tuple[str, ...]
    rows: pd.DataFrame
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def ranking_direction(self) -> str | None:
        """``"lower"`` or ``"higher"`` when the table is ranked, else None."""
        direction = self.directions.get(self.primary_metric or "")
        return direction if direction in ("lower", "higher") else None


def build_tables(records: Iterable[RunRecord], min_seeds: int = 1) -> list[LeaderboardTable]:
    """Leaderboard tables for ``records``, sorted by (task, dataset, comparison key).

    Each training seed of an entry counts once, with its newest run
    (:mod:`ganbench.leaderboard.seeds`); a table note says whether repeated
    runs of a seed agreed. Only completed runs contribute metric values;
    diverged runs are counted per row; running runs are left out. A trained
    entry with fewer than ``min_seeds`` finished seeds (completed or
    diverged: a diverged seed is a result too) is left out, and a table note
    names it (published tables use 3: a spread needs seeds).
    """
    if min_seeds < 1:
        raise ValueError(f"min_seeds must be at least 1, not {min_seeds}")
    groups: dict[tuple[str, str, str], list[RunRecord]] = defaultdict(list)
    for record in records:
        if record.status not in _SHOWN_STATUSES:
            continue
        key = record.comparison_key or comparison_key(record.protocol)
        groups[(record.task, record.dataset, key)].append(record)
    return [
        _build_table(task, dataset, key, sorted(group, key=lambda r: r.run_id), min_seeds)
        for (task, dataset, key), group in sorted(groups.items())
    ]


def _build_table(
    task: str, dataset: str, key: str, shown: list[RunRecord], min_seeds: int
) -> LeaderboardTable:
    notes: list[str] = []
    seed_runs = _enough_seeds(group_by_seed(shown), min_seeds, notes)
    # From here on one run per training seed: the rest only feed the notes.
    records = [group.counted for group in seed_runs]
    completed = [r for r in records if r.status == "completed"]
    primary = _majority(
        [r.primary_metric for r in completed or records if r.primary_metric],
        "primary metric",
        notes,
    )
    metric_names = sorted({name for r in completed for name in r.metrics})
    if primary is not None and primary not in metric_names:
        metric_names.append(primary)
    # Primary metric first, so the ranking column is the first one a reader sees.
    metric_names.sort(key=lambda name: (name != primary, name))
    directions = {name: _direction(name, completed or records, notes) for name in metric_names}
    if primary is not None and directions.get(primary) not in ("lower", "higher"):
        notes.append(
            f"primary metric {primary} has direction {directions.get(primary)!r}; "
            "rows are not ranked"
        )
    if primary is None:
        notes.append("no run names a primary metric; rows are not ranked")
    notes += repeated_seed_notes(seed_runs, primary)

    direction = directions.get(primary or "")
    rows = _aggregate(records, metric_names)
    rows = _rank(rows, primary, direction)
    ranked = direction in ("lower", "higher")
    per_table = {
        "comparison_key": key,
        "ranked_by": primary if ranked else "",
        "ranking_direction": direction if ranked else "",
    }
    for column in TABLE_COLUMNS:
        rows.insert(ROW_COLUMNS.index(column), column, per_table[column])
    values, seeds = _ranking_values(completed, primary if ranked else None)
    metric_columns = [c for c in rows.columns if c not in ROW_COLUMNS]
    rows = add_tie_columns(rows, values, seeds)[list(ROW_COLUMNS) + metric_columns]
    protocol = {name: records[0].protocol.get(name) for name in COMPARISON_FIELDS}
    protocol["metric_params"] = _merged_metric_params(completed or records, notes)
    return LeaderboardTable(
        task=task,
        dataset=dataset,
        comparison_key=key,
        protocol=protocol,
        primary_metric=primary,
        directions=directions,
        metric_names=tuple(metric_names),
        rows=rows,
        notes=tuple(dict.fromkeys(notes)),  # each caveat once, in first-seen order
    )


def _enough_seeds(seed_runs: list[SeedRuns], min_seeds: int, notes: list[str]) -> list[SeedRuns]:
    """``seed_runs`` without the trained entries that have under ``min_seeds`` finished seeds.

    Every run shown is finished (completed or diverged). Real-data and
    untrained (steps 0) rows are one run by design and always stay.
    """
    finished = Counter(group.entry for group in seed_runs)
    short = {
        entry: count
        for entry, count in finished.items()
        if count < min_seeds and entry[0] != "real-data" and entry[3] != 0
    }
    for entry, count in sorted(short.items()):
        notes.append(
            f"left out: {describe_entry(entry)} has {count} finished seed(s); "
            f"a row needs {min_seeds}"
        )
    return [group for group in seed_runs if group.entry not in short]


def _aggregate(records: list[RunRecord], metric_names: list[str]) -> pd.DataFrame:
    """One row per entry: seed and divergence counts, mean and std of each metric.

    ``records`` holds one run per (entry, seed), so the counts are seed counts.
    """
    entries = pd.DataFrame(
        [
            {
                **dict(zip(ENTRY_COLUMNS, entry_of(r), strict=True)),
                "n_seeds": r.status == "completed",
                "n_diverged": r.status == "diverged",
            }
            for r in records
        ]
    )
    table = entries.groupby(list(ENTRY_COLUMNS), sort=True)[["n_seeds", "n_diverged"]].sum()

    # Metric columns are positional here so a metric called e.g. "model"
    # cannot collide with an entry column.
    done = entries["n_seeds"].to_numpy(dtype=bool)
    values = pd.DataFrame(
        [[float(r.metrics.get(name, math.nan)) for name in metric_names] for r in records],
        columns=range(len(metric_names)),
        dtype=float,
    )
    if metric_names and done.any():
        by = [entries.loc[done, column] for column in ENTRY_COLUMNS]
        grouped = values[done].groupby(by, sort=True)
        # skipna=False: a seed without the metric makes the cell n/a, so a mean
        # never silently covers fewer seeds than the row's n says.
        means = grouped.mean(skipna=False)
        stds = grouped.std(ddof=1, skipna=False)
    else:
        means = stds = pd.DataFrame(index=table.index, columns=range(len(metric_names)))
    for position, name in enumerate(metric_names):
        table[f"{name}_mean"] = means[position].reindex(table.index).astype(float)
        table[f"{name}_std"] = stds[position].reindex(table.index).astype(float)
    table[["n_seeds", "n_diverged"]] = table[["n_seeds", "n_diverged"]].astype(int)
    return table.reset_index()


def _rank(rows: pd.DataFrame, primary: str | None, direction: str | None) -> pd.DataFrame:
    """Order rows (ranked first, best first) and number the ranked ones 1..k."""
    is_reference = rows["kind"].eq("real-data")
    is_baseline = rows["kind"].eq("baseline")
    is_untrained = ~is_reference & ~is_baseline & rows["steps"].eq(0)
    if primary is not None and direction in ("lower", "higher"):
        score = rows[f"{primary}_mean"]
        if direction == "higher":
            score = -score
        rankable = (
            ~is_reference
            & ~is_baseline
            & ~is_untrained
            & rows["n_seeds"].gt(0)
            & np.isfinite(score)
        )
    else:
        score = pd.Series(np.nan, index=rows.index)
        rankable = pd.Series(False, index=rows.index)
    rows["role"] = np.select(
        [rankable, is_reference, is_baseline, is_untrained],
        ["ranked", "ref", "baseline", "untrained"],
        "unranked",
    )
    rows["_role_order"] = rows["role"].map(ROLES.index)
    rows["_score"] = score.where(rankable)
    # Ties in the score fall back to the entry's names, so the order (and the
    # rank numbers) never depends on insertion order.
    # One budget (steps, batch size) per ranking: rows trained longer are not
    # ranked above rows trained shorter; each budget is its own group, ranked 1..k.
    rows = rows.sort_values(
        ["_role_order", "steps", "batch_size", "_score", "model", "tricks", "kind"],
        ascending=[True, False, False, True, True, True, True],
        na_position="last",
        kind="mergesort",
    ).reset_index(drop=True)
    ranked = rows["role"].eq("ranked")
    rows["rank"] = pd.array([pd.NA] * len(rows), dtype="Int64")
    budget = rows.loc[ranked, ["steps", "batch_size"]]
    rows.loc[ranked, "rank"] = budget.groupby(["steps", "batch_size"]).cumcount().to_numpy() + 1
    metric_columns = [c for c in rows.columns if c.endswith(("_mean", "_std"))]
    # Per-table and tie columns are added by the caller, after ranking.
    leading = [c for c in ROW_COLUMNS if c not in TABLE_COLUMNS + TIE_COLUMNS]
    return rows[leading + metric_columns]


def _ranking_values(
    completed: list[RunRecord], primary: str | None
) -> tuple[dict[Entry, list[float]], dict[Entry, list[int]]]:
    """Per entry: the ranking metric's value on each completed seed, and those seeds.

    ``completed`` holds one run per (entry, seed). Values are in seed order;
    without a ranking metric there are no values (nothing to compare).
    """
    values: dict[Entry, list[float]] = defaultdict(list)
    seeds: dict[Entry, list[int]] = defaultdict(list)
    for record in sorted(completed, key=lambda r: (entry_of(r), int(r.seed))):
        entry = entry_of(record)
        seeds[entry].append(int(record.seed))
        if primary is not None:
            values[entry].append(float(record.metrics.get(primary, math.nan)))
    return dict(values), dict(seeds)


def _merged_metric_params(records: list[RunRecord], notes: list[str]) -> dict[str, Any]:
    """Metric parameters of the table's runs, merged per metric.

    ``metric_params`` is not part of the comparison key (ganbench.run.record: a metric
    with non-default parameters gets another name), and different models in
    one table may report different metrics, so the heading shows the union.
    A metric reported with different parameters under one name is a plugin
    bug worth flagging, not hiding.
    """
    merged: dict[str, Any] = {}
    for record in records:
        for metric, params in sorted((record.protocol.get("metric_params") or {}).items()):
            if metric not in merged:
                merged[metric] = params
            elif merged[metric] != params:
                notes.append(
                    f"runs disagree on the parameters of metric {metric}; showing the first run's"
                )
    return merged


def _direction(name: str, records: list[RunRecord], notes: list[str]) -> str:
    """The direction of metric ``name`` in one table.

    Informational as soon as one run recorded it so: a metric that cannot
    rank under this protocol (its ``unranked_metrics`` reason) is not ranked
    because older runs did not know it yet.
    """
    seen = [r.directions[name] for r in records if name in r.directions]
    if "info" in seen:
        return "info"
    return _majority(seen, f"direction of {name}", notes) or "info"


def _majority(values: list[str], what: str, notes: list[str]) -> str | None:
    """The most common value (ties broken by name); notes a disagreement."""
    if not values:
        return None
    counts = Counter(values)
    chosen = min(counts, key=lambda value: (-counts[value], value))
    if len(counts) > 1:
        seen = ", ".join(f"{value} ({counts[value]})" for value in sorted(counts))
        notes.append(f"runs disagree on the {what}: {seen}; using {chosen}")
    return chosen
