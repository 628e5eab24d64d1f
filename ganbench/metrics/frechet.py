"""Fréchet distance between Gaussians fitted to features (the maths of FID).

Heusel et al., "GANs Trained by a Two Time-Scale Update Rule Converge to a
Local Nash Equilibrium" (NeurIPS 2017), eq. (6):

    d^2 = ||mu1 - mu2||^2 + tr(S1) + tr(S2) - 2 tr(sqrt(S1 S2))

The trace term is computed in float64 by a symmetric eigenvalue method rather
than ``scipy.linalg.sqrtm``. A pivoted Cholesky factorisation (LAPACK
``dpstrf``) writes sigma1 = F F^T with F of shape (D, r), r the numerical rank
of sigma1; S1 S2 has the same nonzero eigenvalues as the symmetric PSD r x r
matrix F^T S2 F, so tr(sqrt(S1 S2)) is the sum of the square roots of that
matrix's eigenvalues (``eigh``, values only). This is why it is fast and
stable: the factorisation stops at the numerical rank, so singular
covariances (fewer samples than feature dimensions, e.g. 2048-d Inception
features of 1,000 samples) shrink the problem instead of breaking it, and
eigenvalues that rounding leaves at +-1e-16 instead of 0 are set to 0 before
the square root (each would otherwise add ~1e-8 of error). ``sqrtm`` of the
non-symmetric product S1 S2 is a Schur method, several times slower at
D = 2048 (``benchmarks/frechet.py``), and can return complex or NaN entries
for singular covariances.
"""

from __future__ import annotations

import numpy as np
import scipy.linalg
from scipy.linalg import lapack

from ganbench.metrics._arrays import ArrayLike, as_float64


def gaussian_stats(features: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """Mean and unbiased covariance of features.

    Args:
        features: (N, D) with N >= 2.

    Returns:
        ``(mu, sigma)``: float64 (D,) and (D, D); ``sigma`` equals
        ``np.cov(features, rowvar=False)`` (divides by N - 1).
    """
    x = as_float64(features, ndim=2, name="features")
    n = x.shape[0]
    if n < 2:
        raise ValueError(f"need at least 2 samples for a covariance, got {n}")
    mu = x.mean(axis=0)
    centered = x - mu
    sigma = centered.T @ centered / (n - 1)
    return mu, sigma


def _symmetric(matrix: np.ndarray) -> np.ndarray:
    # Products of symmetric matrices are symmetric only up to rounding; eigh
    # reads one triangle, so symmetrise explicitly to use both.
    return (matrix + matrix.T) / 2.0


def psd_factor(matrix: np.ndarray) -> np.ndarray:
    """F (D, r) with F @ F.T == matrix, for a symmetric PSD (D, D) matrix of numerical rank r.

    Pivoted Cholesky (LAPACK ``dpstrf``) with LAPACK's default rank
    tolerance, D * eps * max(diagonal): the factorisation stops once the
    remaining diagonal is below it, which is rounding noise for a covariance.
    """
    factor, pivots, rank, info = lapack.dpstrf(_symmetric(matrix), lower=1, tol=-1.0)
    if info < 0:
        raise ValueError(f"dpstrf rejected argument {-info}")
    lower = np.tril(factor)[:, :rank]
    # dpstrf factors P^T A P = L L^T; undo the row permutation so F F^T = A.
    unpermuted = np.empty_like(lower)
    unpermuted[pivots - 1] = lower
    return unpermuted


def trace_sqrt_product(sigma1: ArrayLike, sigma2: ArrayLike) -> float:
    """tr(sqrt(sigma1 @ sigma2)) for symmetric PSD (D, D) matrices, in float64.

    The sum of the square roots of the eigenvalues of F^T sigma2 F, where
    sigma1 = F F^T (see the module docstring).
    """
    s1 = as_float64(sigma1, ndim=2, name="sigma1")
    s2 = as_float64(sigma2, ndim=2, name="sigma2")
    factor = psd_factor(s1)
    if factor.shape[1] == 0:  # sigma1 == 0
        return 0.0
    reduced = _symmetric(factor.T @ s2 @ factor)
    eigvals = scipy.linalg.eigh(reduced, eigvals_only=True, driver="evd")
    # Eigenvalues below the numerical-rank tolerance are zeros plus rounding.
    tolerance = reduced.shape[0] * np.finfo(np.float64).eps * max(float(eigvals.max()), 0.0)
    return float(np.sqrt(np.where(eigvals > tolerance, eigvals, 0.0)).sum())


def frechet_distance(mu1: ArrayLike, sigma1: ArrayLike, mu2: ArrayLike, sigma2: ArrayLike) -> float:
    """Squared Fréchet distance between N(mu1, sigma1) and N(mu2, sigma2).

    Args:
        mu1, mu2: means, (D,).
        sigma1, sigma2: covariances, (D, D), symmetric PSD (may be singular).

    Returns:
        d^2 >= 0, in the units of the features squared. The exact value is
        never negative; a rounding residue below zero (identical inputs) is
        reported as 0.
    """
    m1 = as_float64(mu1, ndim=1, name="mu1")
    m2 = as_float64(mu2, ndim=1, name="mu2")
    s1 = as_float64(sigma1, ndim=2, name="sigma1")
    s2 = as_float64(sigma2, ndim=2, name="sigma2")
    d = m1.shape[0]
    if m2.shape != (d,) or s1.shape != (d, d) or s2.shape != (d, d):
        raise ValueError(
            f"shape mismatch: mu1 {m1.shape}, mu2 {m2.shape}, sigma1 {s1.shape}, sigma2 {s2.shape}"
        )
    diff = m1 - m2
    value = diff @ diff + np.trace(s1) + np.trace(s2) - 2.0 * trace_sqrt_product(s1, s2)
    return float(max(value, 0.0))


def fid_from_features(real: ArrayLike, fake: ArrayLike) -> float:
    """Fréchet distance between Gaussians fitted to real (N1, D) and fake (N2, D) features."""
    mu_r, sigma_r = gaussian_stats(real)
    mu_f, sigma_f = gaussian_stats(fake)
    return frechet_distance(mu_r, sigma_r, mu_f, sigma_f)
