"""The standard eval protocol: sample N, extract features, compute metrics.

Numbers are reported on the reference split (``test``); checkpoints are
selected on ``val`` with the dataset's primary metric. Every value goes out
with the protocol record of design.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from ganbench.data.types import Batch, DataInfo, GanDataset
from ganbench.eval.eval_progress import NO_PROGRESS, EvalProgress
from ganbench.eval.inputs import EvalInputs
from ganbench.eval.metrics_runner import (
    MetricResults,
    compute_metrics,
    full_name,
    select_metrics,
    why_not_applicable,
)
from ganbench.eval.reference_stats import load_or_compute_reference_stats
from ganbench.eval.sampling import generate_samples, pick_conditions
from ganbench.features.base import FeatureExtractor
from ganbench.model import GANModel
from ganbench.paths import cache_dir
from ganbench.run.record import EVAL_PROTOCOL_VERSION
from ganbench.specs import MetricSpec
from ganbench.tasks import TASK_FIELDS, TaskKind

REFERENCE_SPLIT = "test"
SELECTION_SPLIT = "val"


@dataclass
class Evaluation:
    """Generated samples and their metric results."""

    fake: Tensor
    conditions: Batch
    results: MetricResults


@dataclass(frozen=True)
class EvalSettings:
    """The evaluation half of the protocol (what makes numbers comparable)."""

    n_fake: int
    seed: int
    metrics: tuple[str, ...] | None = None  # None: every metric that applies
    #: Metrics left out even where they apply: ``--skip-metric`` names, and the
    #: defaults too few samples for (see :mod:`ganbench.eval.metric_plan`).
    skip: tuple[str, ...] = ()

    def available(self, metric_specs: dict[str, MetricSpec]) -> dict[str, MetricSpec]:
        """``metric_specs`` without the skipped ones."""
        return {name: spec for name, spec in metric_specs.items() if name not in self.skip}


def _generates_from_source(model: GANModel | None, conditions: Batch) -> bool:
    return (
        model is not None
        and conditions.source is not None
        and "source" in TASK_FIELDS[TaskKind(model.task)]
    )


def paired_targets(info: DataInfo, model: GANModel | None, conditions: Batch) -> Tensor | None:
    """What each fake should equal: ``conditions.x``, when the model generates
    from a ``source`` that belongs with it (super-resolution), else None."""
    if not info.paired or not _generates_from_source(model, conditions):
        return None
    return conditions.x


#: ``info.extras`` key of a dataset whose ``y`` labels ``source`` row for row too.
SOURCE_LABELS_KEY = "source_labels"


def source_labels(info: DataInfo, model: GANModel | None, conditions: Batch) -> Tensor | None:
    """The class of each fake's input (``conditions.y``), where the dataset says
    ``y`` labels its sources and the model generates from them, else None."""
    if not info.extras.get(SOURCE_LABELS_KEY) or conditions.y is None:
        return None
    return conditions.y if _generates_from_source(model, conditions) else None


def _inputs(
    dataset: GanDataset,
    reference: Batch,
    fake: Tensor,
    conditions: Batch,
    extractor: FeatureExtractor | None,
    seed: int,
    conditional: bool,
    model: GANModel | None = None,
    device: torch.device | None = None,
    progress: EvalProgress = NO_PROGRESS,
) -> EvalInputs:
    return EvalInputs(
        info=dataset.info,
        real=reference,
        fake=fake,
        fake_conditions=conditions,
        extractor=extractor,
        targets=paired_targets(dataset.info, model, conditions),
        source_labels=source_labels(dataset.info, model, conditions),
        seed=seed,
        conditional=conditional,
        model=model,
        device=device or torch.device("cpu"),
        progress=progress,
    )


def cached_reference(
    dataset: GanDataset, split: str, extractor: FeatureExtractor | None
) -> dict[str, Any]:
    """The reference split's features and statistics from the on-disk cache (computed once).

    Empty without a feature space: raw-sample metrics need no statistics.
    """
    if extractor is None:
        return {}
    stats = load_or_compute_reference_stats(dataset, split, extractor, cache_dir())
    return dict(stats.values)


def evaluate_model(
    model: GANModel,
    dataset: GanDataset,
    extractor: FeatureExtractor | None,
    metric_specs: dict[str, MetricSpec],
    settings: EvalSettings,
    device: torch.device,
    split: str = REFERENCE_SPLIT,
    reference_cache: dict | None = None,
    progress: EvalProgress = NO_PROGRESS,
) -> Evaluation:
    """Generate ``n_fake`` samples conditioned like ``split`` and score them against it.

    ``reference_cache`` holds the split's features and statistics already
    computed (:func:`cached_reference`), so they are not computed again.
    ``progress`` hears the phases: sampling, features, each metric.
    """
    reference = dataset.splits[split]
    conditions = pick_conditions(reference, settings.n_fake, settings.seed)
    n = len(conditions)
    progress.phase(f"sampling {n} fakes", total=n)
    fake = generate_samples(
        model, conditions, settings.seed, device, dataset.info.shape, on_batch=progress.update
    )
    conditional = model.task == TaskKind.CLASS_CONDITIONAL
    inputs = _inputs(
        dataset,
        reference,
        fake,
        conditions,
        extractor,
        settings.seed,
        conditional,
        model,
        device,
        progress,
    )
    if reference_cache is not None:
        inputs.seed_reference_cache(reference_cache)
    specs = select_metrics(settings.available(metric_specs), settings.metrics, inputs)
    results = compute_metrics(specs, inputs)
    return Evaluation(fake, conditions, results)


def evaluate_real_data(
    dataset: GanDataset,
    extractor: FeatureExtractor | None,
    metric_specs: dict[str, MetricSpec],
    settings: EvalSettings,
    reference_cache: dict | None = None,
    progress: EvalProgress = NO_PROGRESS,
) -> Evaluation:
    """Score ``n_fake`` train-split samples against the test split: the scale's best case."""
    reference = dataset.splits[REFERENCE_SPLIT]
    drawn = pick_conditions(dataset.splits["train"], settings.n_fake, settings.seed)
    inputs = _inputs(
        dataset, reference, drawn.x, drawn, extractor, settings.seed, False, progress=progress
    )
    if reference_cache is not None:
        inputs.seed_reference_cache(reference_cache)
    available = settings.available(metric_specs)
    requested = settings.metrics
    if requested is not None:
        # Real data has no model and no conditioning it was generated from, so
        # metrics of a trained model (its discriminator, its conditional
        # accuracy) do not exist for this row even when the run asked for them.
        requested = tuple(n for n in requested if why_not_applicable(available[n], inputs) is None)
    specs = select_metrics(available, requested, inputs)
    return Evaluation(drawn.x, drawn, compute_metrics(specs, inputs))


def primary_metric_spec(metric_specs: dict[str, MetricSpec], output: str) -> MetricSpec | None:
    """The metric whose outputs include ``output`` (e.g. ``fid``, ``mode_kl``)."""
    for _, spec in sorted(metric_specs.items()):
        if output in spec.outputs:
            return spec
    return None


def primary_metric_name(
    metric_specs: dict[str, MetricSpec], output: str, extractor: FeatureExtractor | None
) -> str | None:
    """Full name of the dataset's primary metric in this feature space."""
    spec = primary_metric_spec(metric_specs, output)
    if spec is None or (spec.in_feature_space and extractor is None):
        return None
    return full_name(output, spec, None if extractor is None else extractor.space)


def make_validator(
    dataset: GanDataset,
    extractor: FeatureExtractor | None,
    metric_specs: dict[str, MetricSpec],
    output: str,
    n_fake: int,
    seed: int,
    device: torch.device,
):
    """A callback scoring a generator's primary metric on the validation split."""
    spec = primary_metric_spec(metric_specs, output)
    if spec is None or (spec.in_feature_space and extractor is None):
        return None  # nothing to select on: the last checkpoint is evaluated

    reference_cache = cached_reference(dataset, SELECTION_SPLIT, extractor)

    def validate(model: GANModel) -> float:
        evaluation = evaluate_model(
            model,
            dataset,
            extractor,
            {spec.name: spec},
            EvalSettings(n_fake=n_fake, seed=seed, metrics=(spec.name,)),
            device,
            split=SELECTION_SPLIT,
            reference_cache=reference_cache,
        )
        name = full_name(output, spec, None if extractor is None else extractor.space)
        return evaluation.results.values[name]

    return validate


def protocol_record(
    dataset: GanDataset,
    extractor: FeatureExtractor | None,
    results: MetricResults,
    n_fake: int,
    *,
    selection: dict[str, Any] | None,
    training: dict[str, Any],
    provenance: dict[str, Any],
    skipped: dict[str, str] | None = None,
) -> dict[str, Any]:
    """The protocol record (design.md) for one set of metric values."""
    info = dataset.info
    return {
        "eval_protocol_version": EVAL_PROTOCOL_VERSION,
        "dataset": info.name,
        "dataset_fingerprint": dataset.fingerprint()[:16],
        "reference_split": REFERENCE_SPLIT,
        "selection_split": SELECTION_SPLIT,
        "n_real": len(dataset.splits[REFERENCE_SPLIT]),
        "n_fake": n_fake,
        "feature_extractor": None if extractor is None else extractor.protocol(),
        "preprocessing": {
            "kind": info.kind,
            "shape": list(info.shape),
            "value_range": [-1.0, 1.0] if info.kind == "image" else None,
        },
        "metric_params": results.params,
        # Metrics computed but not ranked here, each with why (a metric's unranked_reason).
        "unranked_metrics": dict(results.unranked),
        # Metrics left out, each with why: kept next to the numbers so that a
        # missing column is explained, not a mystery.
        "skipped_metrics": dict(skipped or {}),
        "selection": selection,
        **training,
        **provenance,
    }
