"""Inception Score from a classifier's class probabilities.

Salimans et al., "Improved Techniques for Training GANs" (NeurIPS 2016),
section 4: IS = exp(E_x KL(p(y|x) || p(y))), where p(y) is the marginal of
p(y|x) over the generated samples. It is computed on ``splits`` consecutive
chunks and reported as mean and standard deviation over chunks.
"""

from __future__ import annotations

import numpy as np
from scipy.special import rel_entr

from ganbench.metrics._arrays import ArrayLike, as_probs


def split_inception_score(probs: np.ndarray) -> float:
    """exp(mean KL(p(y|x) || p(y))) of one chunk of class probabilities (n, K)."""
    marginal = probs.mean(axis=0, keepdims=True)
    # rel_entr gives 0 for p(y|x) = 0 (0 log 0 = 0), so confident rows are exact.
    kl_per_row = rel_entr(probs, marginal).sum(axis=1)
    return float(np.exp(kl_per_row.mean()))


def inception_score(probs: ArrayLike, splits: int = 10) -> tuple[float, float]:
    """Inception Score of class probabilities.

    The chunks are rows ``[i*N//splits, (i+1)*N//splits)`` in the order
    given (torch-fidelity's boundaries); no shuffling happens here, so the
    caller decides the order (generated samples are already i.i.d.).

    Args:
        probs: (N, K) class probabilities p(y|x), rows summing to 1, N >= splits.
        splits: number of chunks.

    Returns:
        ``(mean, std)`` over chunks; std is the population one (ddof=0).
        The value lies in [1, K].
    """
    p = as_probs(probs)
    n = p.shape[0]
    if not 1 <= splits <= n:
        raise ValueError(f"splits must be between 1 and the number of samples ({n}), got {splits}")
    scores = np.array(
        [split_inception_score(p[i * n // splits : (i + 1) * n // splits]) for i in range(splits)]
    )
    return float(scores.mean()), float(scores.std())
