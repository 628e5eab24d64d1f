"""Fréchet distance: closed forms, pytorch-fid agreement, singular covariances."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from pytorch_fid.fid_score import calculate_frechet_distance

from ganbench.metrics.frechet import (
    fid_from_features,
    frechet_distance,
    gaussian_stats,
    psd_factor,
    trace_sqrt_product,
)


def _random_spd(rng: np.random.Generator, dim: int, n: int) -> np.ndarray:
    x = rng.normal(size=(n, dim)) @ rng.normal(size=(dim, dim))
    return np.cov(x, rowvar=False)


def test_gaussian_stats_match_numpy() -> None:
    x = np.random.default_rng(0).normal(size=(50, 7))
    mu, sigma = gaussian_stats(torch.from_numpy(x).float())
    assert mu.dtype == np.float64 and sigma.shape == (7, 7)
    np.testing.assert_allclose(mu, x.mean(axis=0), rtol=1e-6)
    np.testing.assert_allclose(sigma, np.cov(x, rowvar=False), rtol=1e-5, atol=1e-6)


def test_gaussian_stats_needs_two_samples() -> None:
    with pytest.raises(ValueError):
        gaussian_stats(np.zeros((1, 3)))


def test_identical_stats_give_zero() -> None:
    rng = np.random.default_rng(1)
    mu = rng.normal(size=16)
    sigma = _random_spd(rng, 16, 200)
    assert frechet_distance(mu, sigma, mu, sigma) == pytest.approx(0.0, abs=1e-9)


def test_mean_shift_only_is_squared_distance() -> None:
    rng = np.random.default_rng(2)
    sigma = _random_spd(rng, 10, 100)
    mu1, mu2 = rng.normal(size=10), rng.normal(size=10)
    expected = float(np.sum((mu1 - mu2) ** 2))
    assert frechet_distance(mu1, sigma, mu2, sigma) == pytest.approx(expected, rel=1e-9)


def test_diagonal_covariances_closed_form() -> None:
    # For diagonal covariances tr(sqrt(S1 S2)) = sum sqrt(a_i b_i), so the
    # trace term is sum (sqrt(a_i) - sqrt(b_i))^2.
    rng = np.random.default_rng(3)
    a, b = rng.uniform(0.1, 4.0, size=12), rng.uniform(0.1, 4.0, size=12)
    mu1, mu2 = rng.normal(size=12), rng.normal(size=12)
    expected = np.sum((mu1 - mu2) ** 2) + np.sum((np.sqrt(a) - np.sqrt(b)) ** 2)
    got = frechet_distance(mu1, np.diag(a), mu2, np.diag(b))
    assert got == pytest.approx(expected, rel=1e-12)


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # pytorch-fid passes sqrtm(disp=)
def test_matches_pytorch_fid_on_random_stats() -> None:
    rng = np.random.default_rng(4)
    for dim in (2, 32, 64):
        mu1, mu2 = rng.normal(size=dim), rng.normal(size=dim) * 0.3
        s1, s2 = _random_spd(rng, dim, 4 * dim), _random_spd(rng, dim, 4 * dim)
        reference = calculate_frechet_distance(mu1, s1, mu2, s2)
        assert frechet_distance(mu1, s1, mu2, s2) == pytest.approx(reference, rel=1e-6)


def _nuclear_reference(real: np.ndarray, fake: np.ndarray) -> float:
    """FID from a different route: with S1 = A^T A and S2 = B^T B (A, B the
    centred, scaled samples), the non-zero eigenvalues of S1 S2 are the squared
    singular values of A B^T, so tr(sqrt(S1 S2)) is the nuclear norm of A B^T.
    This small SVD is well conditioned even when n << d."""
    a = (real - real.mean(axis=0)) / np.sqrt(real.shape[0] - 1)
    b = (fake - fake.mean(axis=0)) / np.sqrt(fake.shape[0] - 1)
    diff = real.mean(axis=0) - fake.mean(axis=0)
    return float(
        diff @ diff + np.sum(a * a) + np.sum(b * b) - 2.0 * np.linalg.norm(a @ b.T, ord="nuc")
    )


@pytest.mark.parametrize(("n_real", "n_fake", "dim"), [(10, 15, 40), (30, 30, 200), (300, 200, 20)])
def test_singular_covariances_agree_with_nuclear_norm_reference(
    n_real: int, n_fake: int, dim: int
) -> None:
    rng = np.random.default_rng(dim)
    real = rng.normal(size=(n_real, dim))
    fake = rng.normal(loc=0.2, size=(n_fake, dim)) * 1.5
    got = fid_from_features(real, fake)
    assert np.isfinite(got) and got >= 0.0
    assert got == pytest.approx(_nuclear_reference(real, fake), rel=1e-10)


def test_singular_identical_samples_are_zero() -> None:
    x = np.random.default_rng(5).normal(size=(8, 64))
    assert fid_from_features(x, x) == pytest.approx(0.0, abs=1e-8)


def test_trace_sqrt_product_of_rank_deficient_matrices() -> None:
    # Two rank-1 covariances along the same direction v: sqrt(S1 S2) has trace |v|^2.
    v = np.array([1.0, 2.0, 0.0, -1.0])
    s = np.outer(v, v)
    assert trace_sqrt_product(s, s) == pytest.approx(v @ v, rel=1e-10)
    # Orthogonal rank-1 covariances: S1 S2 = 0.
    w = np.array([2.0, -1.0, 0.0, 0.0])
    assert trace_sqrt_product(s, np.outer(w, w)) == pytest.approx(0.0, abs=1e-7)


def test_shape_mismatch_is_an_error() -> None:
    with pytest.raises(ValueError):
        frechet_distance(np.zeros(3), np.eye(3), np.zeros(4), np.eye(4))


def test_psd_factor_reconstructs_singular_matrices() -> None:
    x = np.random.default_rng(7).normal(size=(5, 12))
    s = x.T @ x  # rank 5 in 12 dimensions
    factor = psd_factor(s)
    assert factor.shape == (12, 5)
    np.testing.assert_allclose(factor @ factor.T, s, atol=1e-10)


def test_zero_covariance_leaves_means_and_traces() -> None:
    mu1, mu2 = np.zeros(3), np.array([1.0, 2.0, 2.0])
    sigma2 = np.diag([1.0, 2.0, 3.0])
    assert frechet_distance(mu1, np.zeros((3, 3)), mu2, sigma2) == pytest.approx(9.0 + 6.0)
