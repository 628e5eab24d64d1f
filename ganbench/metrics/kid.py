"""Kernel Inception Distance: unbiased MMD^2 with a polynomial kernel, over feature subsets.

Bińkowski et al., "Demystifying MMD GANs" (ICLR 2018), section 4. The kernel
is k(x, y) = (x . y / D + 1)^degree (cubic by default). The estimate is
averaged over random subsets because the unbiased estimator costs O(m^2 D)
per subset; the subsets follow torch-fidelity's scheme (for each subset,
``subset_size`` real rows then ``subset_size`` fake rows drawn without
replacement from ``numpy.random.RandomState(seed)``), so for the same
features and seed the values agree with ``torch_fidelity`` exactly.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ganbench.metrics._arrays import ArrayLike, as_float64


@dataclass(frozen=True)
class KIDResult:
    """KID over subsets.

    Attributes:
        mean: mean of the per-subset MMD^2 estimates (may be slightly
            negative when the distributions match: the estimator is unbiased).
        std: their population standard deviation (ddof=0, as torch-fidelity).
        subset_size: the subset size actually used,
            ``min(requested, n_real, n_fake)``.
        subsets: the number of subsets.
    """

    mean: float
    std: float
    subset_size: int
    subsets: int


def polynomial_kernel(x: np.ndarray, y: np.ndarray, degree: int = 3) -> np.ndarray:
    """Gram matrix (m, n) of k(a, b) = (a . b / D + 1)^degree between rows of x (m, D) and y (n, D)."""
    dim = x.shape[1]
    return (x @ y.T / dim + 1.0) ** degree


def unbiased_mmd2(k_xx: np.ndarray, k_xy: np.ndarray, k_yy: np.ndarray) -> float:
    """Unbiased MMD^2 estimate from Gram matrices of two samples of equal size m >= 2.

    The within-sample terms leave out the diagonal (k(x_i, x_i) pairs a
    sample with itself, which is what biases the plain estimate upwards);
    the cross term keeps every pair.

    Args:
        k_xx, k_xy, k_yy: (m, m) Gram matrices.
    """
    m = k_xx.shape[0]
    within_x = k_xx.sum() - np.trace(k_xx)
    within_y = k_yy.sum() - np.trace(k_yy)
    return float((within_x + within_y) / (m * (m - 1)) - 2.0 * k_xy.sum() / (m * m))


def kernel_inception_distance(
    real_feats: ArrayLike,
    fake_feats: ArrayLike,
    subsets: int = 100,
    subset_size: int = 1000,
    seed: int = 0,
    degree: int = 3,
) -> KIDResult:
    """KID between real (N1, D) and fake (N2, D) features.

    Args:
        real_feats, fake_feats: features; float64 is used internally.
        subsets: number of random subsets averaged.
        subset_size: requested rows per subset; clipped to ``min(N1, N2)``
            so that small evaluations still run (the clipped value is
            returned and must be recorded: KID's variance depends on it).
        seed: seeds ``numpy.random.RandomState`` for the subset draws.
        degree: polynomial kernel degree.

    Returns:
        :class:`KIDResult` with mean, std, the effective subset size and count.
    """
    real = as_float64(real_feats, ndim=2, name="real_feats")
    fake = as_float64(fake_feats, ndim=2, name="fake_feats")
    if real.shape[1] != fake.shape[1]:
        raise ValueError(f"feature widths differ: {real.shape[1]} vs {fake.shape[1]}")
    if subsets < 1:
        raise ValueError(f"subsets must be >= 1, got {subsets}")
    size = min(int(subset_size), real.shape[0], fake.shape[0])
    if size < 2:
        raise ValueError(f"KID needs subsets of at least 2 rows; effective subset size is {size}")
    rng = np.random.RandomState(seed)
    estimates = np.empty(subsets, dtype=np.float64)
    for i in range(subsets):
        # Draw order (real, then fake) matches torch-fidelity's, so seeds line up.
        x = real[rng.choice(real.shape[0], size, replace=False)]
        y = fake[rng.choice(fake.shape[0], size, replace=False)]
        estimates[i] = unbiased_mmd2(
            polynomial_kernel(x, x, degree),
            polynomial_kernel(x, y, degree),
            polynomial_kernel(y, y, degree),
        )
    return KIDResult(
        mean=float(estimates.mean()),
        std=float(estimates.std()),
        subset_size=size,
        subsets=subsets,
    )
