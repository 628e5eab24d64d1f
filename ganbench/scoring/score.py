"""Scoring two sample sets with the eval protocol's own metric code.

``ganbench score REAL FAKE`` and ``ganbench run`` compute metrics through the
same :class:`~ganbench.eval.inputs.EvalInputs`,
:func:`~ganbench.eval.metrics_runner.select_metrics` and
:func:`~ganbench.eval.metrics_runner.compute_metrics`; only where the
samples come from differs. The result carries its protocol record.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import torch

from ganbench.data.types import GanDataset
from ganbench.errors import GanbenchError
from ganbench.eval.inputs import EvalInputs
from ganbench.eval.metrics_runner import compute_metrics
from ganbench.eval.reference_stats import load_or_compute_reference_stats
from ganbench.features.base import FeatureExtractor
from ganbench.paths import cache_dir
from ganbench.progress import EvaluationProgress
from ganbench.provenance import versions
from ganbench.registry import Registry
from ganbench.run.preparation import build_feature_extractor, feature_context
from ganbench.run.record import EVAL_PROTOCOL_VERSION
from ganbench.scoring.metric_choice import choose_score_metrics
from ganbench.scoring.sources import ImageSet

#: Spaces that resize their input themselves, so REAL and FAKE may differ in size.
RESIZING_SPACES = ("inception-v3",)


@dataclass(frozen=True)
class ScoreResult:
    """Metric values by full name (e.g. ``fid[inception-v3]``), directions, protocol record."""

    metrics: dict[str, float]
    directions: dict[str, str]
    protocol: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        """``{"metrics": {...}, "protocol": {...}}``, as ``ganbench score --json`` prints."""
        return {"metrics": self.metrics, "protocol": self.protocol}


def default_extractor_name(real: ImageSet, fake: ImageSet) -> str:
    """The dataset's own space when a side comes from a dataset, else Inception (images)."""
    for side in (real, fake):
        if side.dataset_spec is not None:
            return side.dataset_spec.feature_extractor
    return "identity" if real.info.kind == "vector" else "inception-v3"


def _as_dataset(side: ImageSet) -> GanDataset:
    # Feature spaces are built for a dataset; a folder or array stands in as one.
    batch = side.batch()
    return GanDataset(info=side.info, splits={"train": batch, "val": batch, "test": batch})


def build_score_extractor(
    name: str,
    real: ImageSet,
    fake: ImageSet,
    registry: Registry,
    device: torch.device,
    inception_weights: str | None,
    quiet: bool,
) -> FeatureExtractor | None:
    """Feature space ``name`` (``none``: raw-sample metrics only) for scoring REAL against FAKE."""
    if name == "none":
        return None
    dataset = real.dataset or fake.dataset or _as_dataset(real)
    ctx = feature_context(device, inception_weights, quiet=quiet)
    return build_feature_extractor(name, dataset, registry, ctx)


def _check_shapes(real: ImageSet, fake: ImageSet, space: str | None) -> None:
    if real.info.kind != fake.info.kind:
        raise GanbenchError(
            f"REAL holds {real.info.kind} data but FAKE holds {fake.info.kind} data"
        )
    if real.x.shape[1:] == fake.x.shape[1:] or space in RESIZING_SPACES:
        return
    raise GanbenchError(
        f"REAL samples are {'x'.join(map(str, real.x.shape[1:]))} but FAKE samples are "
        f"{'x'.join(map(str, fake.x.shape[1:]))}; feature space {space!r} needs one shape "
        f"(spaces that resize: {', '.join(RESIZING_SPACES)})"
    )


def score_sets(
    real: ImageSet,
    fake: ImageSet,
    registry: Registry,
    *,
    metrics: tuple[str, ...] | None = None,
    feature_extractor: str | None = None,
    seed: int = 0,
    device: torch.device | None = None,
    inception_weights: str | None = None,
    quiet: bool = True,
) -> ScoreResult:
    """Score ``fake`` against ``real`` with the registered metrics.

    Args:
        real, fake: the two sets (see :mod:`ganbench.scoring.sources`).
        metrics: metric names; None computes every metric that applies.
        feature_extractor: feature space name; None picks
            :func:`default_extractor_name`.
        seed: seeds randomness inside metrics (KID subsets, attacks).
        device: where feature networks run (default CPU).
        inception_weights: an Inception-v3 weights file, if not found otherwise.
        quiet: no progress display (else one on stderr: reference statistics,
            features, each metric).

    Returns:
        The values and the protocol record. When REAL is a dataset split,
        its features come from the reference-statistics cache that
        ``ganbench run`` and ``ganbench stats`` share.
    """
    start = time.perf_counter()
    device = device or torch.device("cpu")
    if metrics is not None:
        for name in metrics:
            registry.metric(name)
    name = feature_extractor or default_extractor_name(real, fake)
    if name != "none":
        registry.feature_extractor(name)
    extractor = build_score_extractor(name, real, fake, registry, device, inception_weights, quiet)
    _check_shapes(real, fake, None if extractor is None else extractor.space)
    info = (real.dataset or fake.dataset).info if (real.dataset or fake.dataset) else real.info
    title = f"scoring {len(fake)} samples against {len(real)} reference samples"
    with EvaluationProgress(title, quiet=quiet) as progress:
        inputs = EvalInputs(
            info=info,
            real=real.batch(),
            fake=fake.x,
            fake_conditions=fake.conditions,
            extractor=extractor,
            seed=seed,
            conditional=fake.conditional,
            device=device,
            progress=progress,
        )
        # Before any reference statistics: a score that cannot compute anything says so first.
        specs, skipped = choose_score_metrics(registry, metrics, inputs)
        reference: dict[str, Any] | None = None
        if extractor is not None and real.dataset is not None and real.split is not None:
            progress.phase(f"reference statistics of the {real.split} split")
            stats = load_or_compute_reference_stats(
                real.dataset, real.split, extractor, cache_dir()
            )
            inputs.seed_reference_cache(stats.values)
            reference = {"key": stats.key, "file": str(stats.path), "loaded": stats.loaded}
        results = compute_metrics(specs, inputs)
    protocol = {
        "eval_protocol_version": EVAL_PROTOCOL_VERSION,
        "command": "score",
        "real": real.description,
        "fake": fake.description,
        "n_real": len(real),
        "n_fake": len(fake),
        "feature_extractor": None if extractor is None else extractor.protocol(),
        "preprocessing": {
            "kind": real.info.kind,
            "real_shape": list(real.x.shape[1:]),
            "fake_shape": list(fake.x.shape[1:]),
            "value_range": [-1.0, 1.0] if real.info.kind == "image" else None,
        },
        "metric_params": results.params,
        # Metrics computed but not ranked here, each with why (a metric's unranked_reason).
        "unranked_metrics": dict(results.unranked),
        "skipped_metrics": skipped,
        "reference_stats": reference,
        "seed": seed,
        "device": device.type,
        **versions(),
        "wall_time_s": round(time.perf_counter() - start, 3),
    }
    return ScoreResult(results.values, results.directions, protocol)
