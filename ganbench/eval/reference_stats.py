"""Reference statistics of a dataset split in a feature space, cached on disk.

Scoring a generator against CIFAR-10's test split in Inception space means
pushing 10,000 images through Inception-v3 before any fake is looked at; the
answer depends only on the split's data, the feature network and its
preprocessing. So it is computed once and kept in the cache folder
(``<cache>/reference-stats/``), keyed by a hash of exactly those things: the
dataset's content fingerprint, the split, and the feature extractor's
protocol record (its weights sha256 and preprocessing). New weights or a
changed preprocessing give a new key, hence a rebuild; nothing stale is ever
read. ``ganbench run``, ``ganbench score`` and ``ganbench stats`` share the
files.

A file holds the split's features (N x D float32; PRDC and KID need the
samples themselves), their mean and covariance (float64; FID needs only
these) and the class probabilities when the space is a classifier. Files are
written atomically and read with ``torch.load(weights_only=True)``; an
unreadable file is rebuilt, not trusted.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from ganbench.data.types import GanDataset
from ganbench.features.base import FeatureExtractor
from ganbench.metrics.frechet import gaussian_stats
from ganbench.results.atomic import atomic_write_bytes

log = logging.getLogger(__name__)

#: Bump when the file layout or what is stored changes: it renames every file.
STATS_FORMAT_VERSION = 1
STATS_FOLDER = "reference-stats"


@dataclass(frozen=True)
class ReferenceStats:
    """One split's statistics in one feature space.

    Attributes:
        key: the cache key (hash of ``record``).
        record: what the key was computed from (dataset, fingerprint, split,
            sample count, the extractor's protocol record).
        path: the cache file.
        values: the reference entries of :class:`~ganbench.eval.inputs.EvalInputs`'s
            cache: ``real_features`` (N x D), ``real_probs`` (N x K or None),
            ``real_gaussian`` ((D,) mean and (D, D) covariance, float64).
        loaded: True when read from the cache, False when computed now.
    """

    key: str
    record: dict[str, Any]
    path: Path
    values: dict[str, Any]
    loaded: bool

    @property
    def n(self) -> int:
        """Number of reference samples."""
        return int(self.values["real_features"].shape[0])

    @property
    def dim(self) -> int:
        """Feature dimensions."""
        return int(self.values["real_features"].shape[1])


def stats_record(dataset: GanDataset, split: str, extractor: FeatureExtractor) -> dict[str, Any]:
    """Everything the statistics depend on, as a JSON-ready dict."""
    return {
        "format": STATS_FORMAT_VERSION,
        "dataset": dataset.info.name,
        "dataset_fingerprint": dataset.fingerprint(),
        "split": split,
        "n": len(dataset.splits[split]),
        "feature_extractor": extractor.protocol(),
    }


def stats_key(record: dict[str, Any]) -> str:
    """A short, stable hash of a :func:`stats_record`."""
    blob = json.dumps(record, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:20]


def stats_path(cache_dir: Path, dataset: str, split: str, key: str) -> Path:
    """``<cache>/reference-stats/<dataset>-<split>-<key>.pt``."""
    return cache_dir / STATS_FOLDER / f"{dataset}-{split}-{key}.pt"


def compute_values(x: Tensor, extractor: FeatureExtractor) -> dict[str, Any]:
    """Features, class probabilities and the Gaussian fit of samples ``x``."""
    with torch.no_grad():
        features = extractor.features(x).float()
        probs = extractor.class_probs(x)
    mu, sigma = gaussian_stats(features)
    return {
        "real_features": features,
        "real_probs": None if probs is None else probs.float(),
        "real_gaussian": (torch.from_numpy(mu), torch.from_numpy(sigma)),
    }


def _read(path: Path, key: str) -> dict[str, Any] | None:
    try:
        payload = torch.load(io.BytesIO(path.read_bytes()), map_location="cpu", weights_only=True)
        if payload.get("key") != key:
            raise ValueError(f"holds key {payload.get('key')!r}")
        return {name: payload[name] for name in ("real_features", "real_probs", "real_gaussian")}
    except Exception as exc:  # a damaged cache file is rebuilt, not trusted
        log.warning("reference statistics %s are unreadable (%s); recomputing", path, exc)
        return None


def _write(path: Path, key: str, record: dict[str, Any], values: dict[str, Any]) -> None:
    buffer = io.BytesIO()
    torch.save({"key": key, "record": json.dumps(record, sort_keys=True), **values}, buffer)
    atomic_write_bytes(path, buffer.getvalue())


def load_or_compute_reference_stats(
    dataset: GanDataset, split: str, extractor: FeatureExtractor, cache_dir: Path
) -> ReferenceStats:
    """The cached statistics of ``dataset``'s ``split`` in ``extractor``'s space.

    Computed and cached on the first call; every later call with the same
    data, split, weights and preprocessing reads the file.
    """
    record = stats_record(dataset, split, extractor)
    key = stats_key(record)
    path = stats_path(cache_dir, dataset.info.name, split, key)
    if path.exists():
        values = _read(path, key)
        if values is not None:
            return ReferenceStats(key, record, path, values, loaded=True)
    values = compute_values(dataset.splits[split].x, extractor)
    _write(path, key, record, values)
    return ReferenceStats(key, record, path, values, loaded=False)
