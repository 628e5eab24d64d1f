"""Running an ablation: check every arm before training, then fill the missing cells."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from ganbench.ablate.cells import BASELINE, Arm, CellKey, find_cell
from ganbench.ablate.paired import PairedComparison, compare_paired
from ganbench.errors import GanbenchError, IncompatibleError, PluginContractError
from ganbench.model_build import parse_model
from ganbench.results.store import ResultsStore
from ganbench.run.record import RunRecord
from ganbench.run.request import RunRequest


@dataclass
class Ablation:
    """What an ablation found.

    Attributes:
        base: the request every cell shares (no tricks, no seed).
        seeds: the seeds every arm trains on.
        arms: the arms that ran, the baseline first.
        refused: arm label -> why it does not apply (``--trick all`` only).
        runs: arm label -> seed -> the run that fills the cell.
        reused: how many cells came from the store.
        comparisons: arm label -> one comparison per ranked metric.
    """

    base: RunRequest
    seeds: tuple[int, ...]
    arms: list[Arm]
    refused: dict[str, str] = field(default_factory=dict)
    runs: dict[str, dict[int, RunRecord]] = field(default_factory=dict)
    reused: int = 0
    comparisons: dict[str, list[PairedComparison]] = field(default_factory=dict)

    @property
    def baseline_record(self) -> RunRecord:
        """The baseline's first run: its protocol heads the report."""
        return self.runs[BASELINE][self.seeds[0]]


def check_arms(
    arms: Sequence[Arm],
    base: RunRequest,
    registry: Any,
    *,
    drop_refused: bool,
) -> tuple[list[Arm], dict[str, str]]:
    """Prepare every arm once (no training): refuse bad input before any cell trains.

    An arm whose trick does not apply raises (one line, exit 2), unless
    ``drop_refused`` (``--trick all``), when it is left out with its reason.
    """
    from ganbench.run.preparation import prepare_run  # imports torch

    kept, refused = [], {}
    for arm in arms:
        try:
            prepare_run(replace(base, tricks=arm.texts), registry)
        except (IncompatibleError, PluginContractError) as error:
            if not (drop_refused and arm.texts):
                raise
            refused[arm.label] = str(error)
            continue
        kept.append(arm)
    return kept, refused


def run_ablation(
    registry: Any,
    base: RunRequest,
    arms: Sequence[Arm],
    seeds: Sequence[int],
    store_path: Any,
    train: Callable[[RunRequest], RunRecord],
    *,
    drop_refused: bool = False,
    on_cell: Callable[[int, int, str, int, bool], None] | None = None,
) -> Ablation:
    """Fill every (arm, seed) cell, from the store where it can, and compare each arm.

    ``train(request)`` runs one cell (``ganbench run``'s path); ``on_cell(i,
    n, arm, seed, reused)`` reports progress.
    """
    if not seeds:
        raise GanbenchError("an ablation needs at least one seed")
    kept, refused = check_arms(arms, base, registry, drop_refused=drop_refused)
    ablation = Ablation(base=base, seeds=tuple(seeds), arms=kept, refused=refused)
    spec, params = parse_model(base.model, registry)
    dataset = registry.dataset(base.dataset)
    key = CellKey(
        model=spec.name,
        model_params=params,
        dataset=dataset.name,
        steps=base.steps if base.steps is not None else dataset.default_steps,
        batch_size=base.batch_size if base.batch_size is not None else dataset.default_batch_size,
    )
    store = ResultsStore(store_path)
    stored = store.runs(dataset=dataset.name, kind="model", status="completed")
    comparison_key: str | None = None
    total, number = len(kept) * len(seeds), 0
    for arm in kept:
        cells = ablation.runs.setdefault(arm.label, {})
        for seed in seeds:
            number += 1
            record = find_cell(stored, key, arm, seed, comparison_key)
            reused = record is not None
            if record is None:
                record = train(replace(base, tricks=arm.texts, seed=seed))
            else:
                ablation.reused += 1
            if comparison_key is None:
                comparison_key = record.comparison_key  # the baseline's ruler for every cell
            elif record.comparison_key != comparison_key:
                raise GanbenchError(
                    f"ablation cell {arm.label}, seed {seed} was measured under protocol "
                    f"{record.comparison_key}, the baseline under {comparison_key}"
                )
            cells[seed] = record
            if on_cell is not None:
                on_cell(number, total, arm.label, seed, reused)
    ablation.comparisons = compare_arms(ablation)
    return ablation


def ranked_metrics(record: RunRecord) -> list[str]:
    """The metrics of ``record`` that rank (lower or higher is better), primary first."""
    names = sorted(n for n, d in record.directions.items() if d in ("lower", "higher"))
    names.sort(key=lambda name: name != record.primary_metric)
    return [name for name in names if name in record.metrics]


def compare_arms(ablation: Ablation) -> dict[str, list[PairedComparison]]:
    """Each non-baseline arm against the baseline, on every ranked metric."""
    baseline = ablation.runs[BASELINE]
    metrics = ranked_metrics(ablation.baseline_record)
    directions = ablation.baseline_record.directions
    result = {}
    for arm in ablation.arms[1:]:
        runs = ablation.runs[arm.label]
        result[arm.label] = [
            compare_paired(
                metric,
                directions[metric],
                {s: r.metrics[metric] for s, r in baseline.items() if metric in r.metrics},
                {s: r.metrics[metric] for s, r in runs.items() if metric in r.metrics},
            )
            for metric in metrics
        ]
    return result
