"""Fréchet distance between Gaussians fitted to features (the maths of FID).

Heusel et al., "GANs Trained by a Two Time-Scale Update Rule Converge to a
Local Nash Equilibrium" (NeurIPS 2017), eq. (6):

    d^2 = ||mu1 - mu2||^2 + tr(S1) + tr(S2) - 2 tr(sqrt(S1 S2))

The trace of the matrix square root is taken from symmetric eigen- and
singular-value decompositions rather than ``scipy.linalg.sqrtm``: S1 S2 is
similar to the symmetric PSD matrix sqrt(S1) S2 sqrt(S1), so tr(sqrt(S1 S2))
is the sum of the square roots of that matrix's eigenvalues. Those are the
singular values of M = sqrt(S1) sqrt(S2) (because sqrt(S1) S2 sqrt(S1) = M M^T),
and taking singular values of M directly avoids square-rooting eigenvalues
that rounding left at ~1e-16 instead of 0: each such root adds ~1e-8 (relative)
of error, which matters when the covariances are singular (fewer samples than
feature dimensions, e.g. 2048-d Inception features of 1000 samples), where
``sqrtm`` of the non-symmetric product may even return complex or NaN
entries.
"""

from __future__ import annotations

import numpy as np

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


def _psd_sqrt(matrix: np.ndarray) -> np.ndarray:
    """Symmetric square root of a symmetric PSD (D, D) matrix.

    Eigenvalues below the usual numerical-rank tolerance (D * eps * largest)
    are set to 0: a covariance has no negative eigenvalues, and its exact
    zeros come out of ``eigh`` as +-1e-16-sized noise whose square roots
    (~1e-8) would otherwise pollute the trace. Genuine eigenvalues that small
    are below what float64 can resolve anyway.
    """
    eigvals, eigvecs = np.linalg.eigh(_symmetric(matrix))
    tolerance = matrix.shape[0] * np.finfo(np.float64).eps * max(float(eigvals.max()), 0.0)
    roots = np.sqrt(np.where(eigvals > tolerance, eigvals, 0.0))
    return (eigvecs * roots) @ eigvecs.T


def trace_sqrt_product(sigma1: ArrayLike, sigma2: ArrayLike) -> float:
    """tr(sqrt(sigma1 @ sigma2)) for symmetric PSD (D, D) matrices, in float64.

    Computed as the sum of singular values of sqrt(sigma1) @ sqrt(sigma2),
    i.e. the square roots of the eigenvalues of sqrt(sigma1) sigma2 sqrt(sigma1).
    """
    s1 = as_float64(sigma1, ndim=2, name="sigma1")
    s2 = as_float64(sigma2, ndim=2, name="sigma2")
    product_root = _psd_sqrt(s1) @ _psd_sqrt(s2)
    return float(np.linalg.svd(product_root, compute_uv=False).sum())


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
