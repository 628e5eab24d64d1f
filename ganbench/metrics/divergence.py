"""Kullback-Leibler divergence between discrete distributions (histograms)."""

from __future__ import annotations

import numpy as np
from scipy.special import rel_entr


def normalize_histogram(counts: np.ndarray) -> np.ndarray:
    """Counts (K,) -> probabilities (K,) summing to 1; all-zero counts are an error."""
    counts = np.asarray(counts, dtype=np.float64)
    total = counts.sum()
    if total <= 0:
        raise ValueError("cannot normalise an empty histogram")
    return counts / total


def kl_divergence(p: np.ndarray, q: np.ndarray) -> float:
    """KL(p || q) in nats for two distributions over the same K outcomes.

    Uses the convention 0 log(0/q) = 0, so outcomes that ``p`` never takes
    contribute nothing; an outcome with p > 0 and q = 0 gives ``inf``.

    Args:
        p, q: (K,) non-negative, each summing to 1.
    """
    p = np.asarray(p, dtype=np.float64)
    q = np.asarray(q, dtype=np.float64)
    if p.shape != q.shape or p.ndim != 1:
        raise ValueError(f"p and q must be 1-D of one length, got {p.shape} and {q.shape}")
    return float(rel_entr(p, q).sum())


def kl_to_uniform(counts: np.ndarray) -> float:
    """KL(counts / total || uniform) in nats over the K bins of ``counts``.

    0 for an even spread, log(K) when everything falls in one bin: the mode
    KL of VEEGAN and PacGAN.
    """
    counts = np.asarray(counts, dtype=np.float64)
    return kl_divergence(
        normalize_histogram(counts), np.full(counts.shape[0], 1.0 / counts.shape[0])
    )
