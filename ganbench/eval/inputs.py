"""What a metric receives: real and generated samples, and lazily their features."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import Tensor

from ganbench.data.types import Batch, DataInfo
from ganbench.eval.eval_progress import NO_PROGRESS, EvalProgress
from ganbench.features.base import FeatureExtractor
from ganbench.metrics.frechet import gaussian_stats

if TYPE_CHECKING:
    from ganbench.model import GANModel


@dataclass
class EvalInputs:
    """Real reference samples and generated samples for one evaluation.

    Attributes:
        info: the dataset description (``extras`` carries e.g. mixture modes).
        real: the reference split (``real.x`` and its labels, if any).
        fake: generated samples, shaped like ``real.x``.
        fake_conditions: the conditioning each fake was generated from
            (``fake_conditions.y`` are the requested classes for
            class-conditional models).
        extractor: the feature space, or None for metrics on raw samples.
        targets: what each fake should equal, row for row, where a task has
            one right answer (super-resolution: the high-resolution image of
            the low-resolution input the fake was made from), else None.
        source_labels: the class of the input each fake was translated from
            (N_fake,), where the dataset labels its sources (its
            ``info.extras["source_labels"]``) and the model generates from
            them, else None.
        seed: seeds any randomness inside metrics (KID subsets).
        conditional: whether fakes were generated from class labels.
        model: the trained model, for metrics of the model itself (attack
            robustness of its discriminator); None when scoring samples.
        device: where such metrics run the model.
        progress: where the evaluation reports its phases; a slow metric
            may report its own units of work with
            ``inputs.progress.update(done, total)`` (cheap: a no-op unless
            someone is watching).
    """

    info: DataInfo
    real: Batch
    fake: Tensor
    fake_conditions: Batch
    extractor: FeatureExtractor | None
    targets: Tensor | None = None
    source_labels: Tensor | None = None
    seed: int = 0
    conditional: bool = False
    model: GANModel | None = None
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))
    progress: EvalProgress = field(default=NO_PROGRESS, repr=False)
    _cache: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def space(self) -> str | None:
        """Name of the feature space, or None."""
        return None if self.extractor is None else self.extractor.space

    def _cached(self, key: str, compute, phase: str | None = None) -> Any:
        if key not in self._cache:
            if phase is not None:
                # Features are the slow part of most evaluations: say so when they run.
                self.progress.phase(phase)
            with torch.no_grad():
                self._cache[key] = compute()
        return self._cache[key]

    def seed_reference_cache(self, cache: dict[str, Any]) -> None:
        """Reuse reference features computed for the same split and feature space."""
        self._cache.update({k: v for k, v in cache.items() if k.startswith("real_")})

    def real_features(self) -> Tensor:
        """Features of the reference samples (N_real x D)."""
        assert self.extractor is not None
        return self._cached(
            "real_features",
            lambda: self.extractor.features(self.real.x),
            f"features of {len(self.real)} reals",
        )

    def fake_features(self) -> Tensor:
        """Features of the generated samples (N_fake x D)."""
        assert self.extractor is not None
        return self._cached(
            "fake_features",
            lambda: self.extractor.features(self.fake),
            f"features of {len(self.fake)} fakes",
        )

    def real_probs(self) -> Tensor | None:
        """Class probabilities of the reference samples, if the space has them."""
        assert self.extractor is not None
        return self._cached(
            "real_probs",
            lambda: self.extractor.class_probs(self.real.x),
            f"class probabilities of {len(self.real)} reals",
        )

    def fake_probs(self) -> Tensor | None:
        """Class probabilities of the generated samples, if the space has them."""
        assert self.extractor is not None
        return self._cached(
            "fake_probs",
            lambda: self.extractor.class_probs(self.fake),
            f"class probabilities of {len(self.fake)} fakes",
        )

    def real_gaussian(self) -> tuple[np.ndarray, np.ndarray]:
        """Mean (D,) and covariance (D, D), float64, of the reference features."""
        mu, sigma = self._cached(
            "real_gaussian",
            lambda: tuple(torch.from_numpy(a) for a in gaussian_stats(self.real_features())),
        )
        return mu.numpy(), sigma.numpy()

    def fake_gaussian(self) -> tuple[np.ndarray, np.ndarray]:
        """Mean (D,) and covariance (D, D), float64, of the generated samples' features."""
        mu, sigma = self._cached(
            "fake_gaussian",
            lambda: tuple(torch.from_numpy(a) for a in gaussian_stats(self.fake_features())),
        )
        return mu.numpy(), sigma.numpy()
