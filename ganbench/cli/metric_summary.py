"""Which metric values a summary table ranks, and the one line that stands for the rest.

A run reports a few ranked metrics (``fid``: lower is better) and many
informational values (22 attack-robustness accuracies, ``kid_std``, ...).
In one table the informational rows bury the ranked ones, so the table
shows the ranked ones, primary first, and a single line counts the others
by the metric they come from.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ganbench.specs import MetricSpec

#: Metrics with more informational values than this are summarised by count.
MAX_NAMES_LISTED = 3

#: Group of values that no registered metric declares (e.g. renamed outputs).
OTHER_GROUP = "other"


def output_name(full_name: str) -> str:
    """``kid_std[digits-evaluator]`` -> ``kid_std``: the name a metric spec declares."""
    return full_name.split("[", 1)[0]


def ranked_names(
    metrics: Mapping[str, float], directions: Mapping[str, str], primary: str | None
) -> list[str]:
    """Values with a direction (``lower``/``higher``): the primary first, then by name."""
    ranked = sorted(n for n in metrics if directions.get(n, "info") in ("lower", "higher"))
    if primary in ranked:
        ranked.remove(primary)
        ranked.insert(0, primary)
    return ranked


def informational_names(metrics: Mapping[str, float], directions: Mapping[str, str]) -> list[str]:
    """Values shown but never ranked (direction ``info``), by name."""
    return sorted(n for n in metrics if directions.get(n, "info") not in ("lower", "higher"))


def group_by_metric(
    names: list[str], metric_specs: Mapping[str, MetricSpec] | None
) -> dict[str, list[str]]:
    """``names`` grouped by the metric that declares them (``other`` when none does)."""
    owner: dict[str, str] = {}
    for metric, spec in sorted((metric_specs or {}).items()):
        for output in spec.outputs:
            owner.setdefault(output, metric)
    groups: dict[str, list[str]] = {}
    for name in names:
        groups.setdefault(owner.get(output_name(name), OTHER_GROUP), []).append(name)
    return groups


def informational_summary(
    names: list[str], metric_specs: Mapping[str, MetricSpec] | None, where: str
) -> str | None:
    """One line for the informational values, e.g.

    ``26 informational values (not ranked) in record.json: attack-robustness
    (22 values), kid (kid_std, kid_subset_size), ...``; None when there are none.
    """
    if not names:
        return None
    parts = []
    groups = group_by_metric(names, metric_specs)
    for metric in sorted(groups, key=lambda m: (m == OTHER_GROUP, m)):
        members = groups[metric]
        if len(members) > MAX_NAMES_LISTED:
            parts.append(f"{metric} ({len(members)} values)")
        else:
            parts.append(f"{metric} ({', '.join(output_name(n) for n in members)})")
    noun = "value" if len(names) == 1 else "values"
    return f"{len(names)} informational {noun} (not ranked) in {where}: {', '.join(parts)}"
