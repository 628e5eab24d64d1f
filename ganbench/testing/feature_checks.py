"""Light conformance checks of a feature-extractor plugin: :func:`check_feature_extractor`."""

from __future__ import annotations

import json

import torch

from ganbench.data.types import GanDataset
from ganbench.errors import GanbenchError, PluginContractError
from ganbench.features.base import FeatureContext, FeatureExtractor
from ganbench.paths import cache_dir
from ganbench.registry import Registry, load_registry
from ganbench.specs import FeatureExtractorSpec
from ganbench.testing.probe_data import Unavailable, registered_datasets
from ganbench.testing.results import Check, CheckLog, CheckResult, describe_error
from ganbench.testing.training import CPU, isolated_rng, keeps_rng

N_SAMPLES = 16
#: Features of a sample must not depend on what else is in its batch (beyond rounding).
BATCH_RTOL, BATCH_ATOL = 1e-4, 1e-5


@keeps_rng
def check_feature_extractor(
    spec: FeatureExtractorSpec, registry: Registry | None = None
) -> list[CheckResult]:
    """Check a feature-extractor plugin, lightly.

    Checks the registration record; then, on the first registered dataset
    of each data kind that loads offline and that ``spec.check`` accepts,
    builds the extractor offline (``FeatureContext(download=False)``, cache in
    :func:`ganbench.paths.cache_dir`): an extractor that needs weights it
    cannot find, or raises another one-line
    :class:`~ganbench.api.GanbenchError`, is skipped with that message. A
    built extractor must give finite N x D features that do not depend on
    the batch, class probabilities that are None or rows summing to 1, and
    a JSON-serialisable ``protocol()``.

    Args:
        spec: the extractor's registration record.
        registry: where to find datasets (default: :func:`ganbench.registry.load_registry`).
    """
    registry = registry if registry is not None else load_registry()
    log = CheckLog("feature_extractor", spec.name)
    if not log.registration("feature_extractors", FeatureExtractorSpec, spec):
        return log.results
    chosen: dict[str, GanDataset] = {}
    for found in registered_datasets(registry, ("image", "vector")):
        if isinstance(found, Unavailable) or found.info.kind in chosen:
            continue
        try:
            reason = spec.check(found.info) if spec.check is not None else None
        except Exception as exc:
            log.add(f"check() [{found.info.name}]", "failed", describe_error(exc))
            continue
        if reason is None:
            chosen[found.info.kind] = found
    if not chosen:
        log.add("applicable dataset", "skipped", "applies to no dataset that loads offline here")
    for dataset in chosen.values():
        with isolated_rng(0):
            _check_on_dataset(spec, dataset, log)
    return log.results


def _check_on_dataset(spec: FeatureExtractorSpec, dataset: GanDataset, log: CheckLog) -> None:
    at = f" [{dataset.info.name}]"
    with log.check("builds offline" + at) as check:
        extractor = _build(spec, dataset, check)
        check.detail = f"space {extractor.space!r}"
    if not check.ok:
        return
    x = dataset.splits["test"].x[:N_SAMPLES]
    n = len(x)
    with log.check("features" + at) as check:
        feats = extractor.features(x)
        if not isinstance(feats, torch.Tensor) or feats.dim() != 2 or feats.shape[0] != n:
            shape = tuple(feats.shape) if isinstance(feats, torch.Tensor) else type(feats).__name__
            check.fail(f"features() of {n} samples returned {shape}, expected ({n}, D)")
        if not torch.isfinite(feats).all():
            check.fail("features() returned NaN or infinite values")
        if not torch.equal(feats, extractor.features(x)):
            check.fail("features() of the same samples differ between two calls")
        half = extractor.features(x[: n // 2])
        if not torch.allclose(half, feats[: n // 2], rtol=BATCH_RTOL, atol=BATCH_ATOL):
            check.fail("a sample's features depend on the other samples in its batch")
        check.detail = f"({n}, {feats.shape[1]})"
    with log.check("class probabilities" + at) as check:
        probs = extractor.class_probs(x)
        if probs is None:
            check.detail = "not a classifier (None)"
        else:
            if probs.dim() != 2 or probs.shape[0] != n or probs.shape[1] < 2:
                check.fail(f"class_probs() returned {tuple(probs.shape)}, expected ({n}, K >= 2)")
            if not torch.isfinite(probs).all() or bool((probs < 0).any()):
                check.fail("class_probs() has negative, NaN or infinite values")
            sums = probs.double().sum(dim=1)
            if not torch.allclose(sums, torch.ones_like(sums), atol=1e-4):
                check.fail(
                    f"class_probs() rows sum to {float(sums.min()):.6g}..{float(sums.max()):.6g}"
                )
            check.detail = f"({n}, {probs.shape[1]})"
    with log.check("protocol" + at) as check:
        record = extractor.protocol()
        if not isinstance(record, dict):
            check.fail(f"protocol() returned {type(record).__name__}, not a dict")
        try:
            json.dumps(record)
        except (TypeError, ValueError) as exc:
            check.fail(f"protocol() is not JSON-serialisable: {exc}")
        check.detail = ", ".join(sorted(record))


def _build(spec: FeatureExtractorSpec, dataset: GanDataset, check: Check) -> FeatureExtractor:
    ctx = FeatureContext(cache_dir=cache_dir(), device=CPU, quiet=True, download=False)
    try:
        extractor = spec.build(dataset, ctx)
    except PluginContractError:
        raise
    except GanbenchError as exc:
        # Weights not on disk (and no download here), or data it needs: not this check's business.
        check.skip(str(exc))
    if not isinstance(extractor, FeatureExtractor):
        check.fail(
            f"build() returned {type(extractor).__name__}, which lacks space, features, "
            "class_probs or protocol"
        )
    if not isinstance(extractor.space, str) or not extractor.space:
        check.fail(f"space must be a non-empty string, got {extractor.space!r}")
    return extractor
