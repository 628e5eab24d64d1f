"""The feature-extractor interface metrics are computed in."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import torch
from torch import Tensor


@runtime_checkable
class FeatureExtractor(Protocol):
    """Maps samples to features (and, for classifiers, class probabilities).

    Attributes:
        space: the feature space's name as it appears in metric names, e.g.
            ``"digits-evaluator"`` in ``fid[digits-evaluator]``.
    """

    space: str

    def features(self, x: Tensor) -> Tensor:
        """Features (N x D, float64-safe float32) of samples ``x``."""
        ...

    def class_probs(self, x: Tensor) -> Tensor | None:
        """Class probabilities (N x K, rows sum to 1), or None if not a classifier."""
        ...

    def protocol(self) -> dict[str, Any]:
        """What identifies this space: name, weights sha256, preprocessing, accuracy."""
        ...


@dataclass(frozen=True)
class FeatureContext:
    """Where a feature extractor may cache files and run, and how loudly."""

    cache_dir: Path
    device: torch.device
    quiet: bool = True
    batch_size: int = 500
    #: Inception-v3 weights file chosen by the user (``--inception-weights``);
    #: None searches the environment variable, the torch hub cache, then downloads.
    inception_weights: Path | None = None
    #: Whether the extractor may download weights it does not find on disk.
    #: False keeps it offline: a missing file is then a one-line GanbenchError
    #: (the conformance kit in :mod:`ganbench.testing` builds extractors so).
    download: bool = True
