"""Class coverage of generated samples, judged by an evaluator classifier.

Two numbers from the evaluator's predicted classes of the fakes:
how many classes appear in meaningful numbers, and how far the predicted
class histogram is from the reference split's true label histogram.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ganbench.metrics._arrays import ArrayLike, as_int64, as_probs
from ganbench.metrics.divergence import kl_divergence, normalize_histogram

#: Mass given to every class of the reference histogram when some class has
#: no reference label, so that KL stays finite (see :func:`class_coverage`).
REFERENCE_EPS = 1e-6


@dataclass(frozen=True)
class ClassCoverage:
    """Class coverage of one set of fakes.

    Attributes:
        classes_covered: classes predicted for at least ``min_share * N / K`` fakes.
        class_kl: KL(fake predicted-class histogram || reference label histogram), nats.
    """

    classes_covered: int
    class_kl: float


def predicted_class_counts(probs: np.ndarray) -> np.ndarray:
    """Counts (K,) of the evaluator's argmax class over rows of probs (N, K)."""
    return np.bincount(probs.argmax(axis=1), minlength=probs.shape[1])


def class_coverage(
    probs: ArrayLike, reference_labels: ArrayLike, min_share: float = 0.1
) -> ClassCoverage:
    """Class coverage of fakes against a labelled reference split.

    A class counts as covered when its predicted count is at least
    ``min_share`` of its uniform share N / K (by default a tenth). A bare
    count > 0 would be too lenient: a mode-collapsed generator emits a few
    ambiguous samples that the classifier scatters over other classes, and
    one stray sample should not make a class "covered".

    The KL uses 0 log 0 = 0, so classes the generator never produces add
    nothing (the covered count reports those). Real datasets' reference
    splits hold every class; if one does not, :data:`REFERENCE_EPS` is
    added to every reference class and the histogram renormalised, so a
    fake in that class costs a large but finite amount instead of ``inf``
    (which JSON cannot hold).

    Args:
        probs: (N, K) evaluator class probabilities of the fakes.
        reference_labels: (M,) int64 true labels of the reference split, in [0, K).
        min_share: fraction of the uniform share a class needs to count.

    Returns:
        :class:`ClassCoverage`.
    """
    p = as_probs(probs)
    labels = as_int64(reference_labels, name="reference_labels")
    n, k = p.shape
    if labels.size == 0:
        raise ValueError("reference_labels is empty")
    if labels.min() < 0 or labels.max() >= k:
        raise ValueError(f"reference labels must lie in [0, {k}) to match probs with {k} classes")
    fake_counts = predicted_class_counts(p)
    threshold = min_share * n / k
    covered = int((fake_counts >= threshold).sum())
    ref_counts = np.bincount(labels, minlength=k).astype(np.float64)
    if (ref_counts == 0).any():
        ref_counts = ref_counts / ref_counts.sum() + REFERENCE_EPS
    kl = kl_divergence(normalize_histogram(fake_counts), normalize_histogram(ref_counts))
    return ClassCoverage(classes_covered=covered, class_kl=kl)
