"""Conditional accuracy: does a class-conditional generator draw the class it was asked for?

The fraction of fakes whose evaluator prediction equals their conditioning
class (used for AC-GAN style models, Odena et al. 2017, section 4.1).
"""

from __future__ import annotations

import numpy as np

from ganbench.metrics._arrays import ArrayLike, as_float64, as_int64


def conditional_accuracy(probs: ArrayLike, labels: ArrayLike) -> float:
    """Share of fakes whose evaluator argmax class equals the requested class.

    Args:
        probs: (N, K) evaluator class probabilities (or any per-class scores:
            only the argmax is used).
        labels: (N,) int64 classes the fakes were generated for.

    Returns:
        Accuracy in [0, 1].
    """
    p = as_float64(probs, ndim=2, name="probs")
    y = as_int64(labels, name="labels")
    if p.shape[0] != y.shape[0]:
        raise ValueError(f"{p.shape[0]} probability rows but {y.shape[0]} labels")
    if y.size == 0:
        raise ValueError("no samples")
    return float(np.mean(p.argmax(axis=1) == y))
