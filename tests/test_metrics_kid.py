"""KID: agreement with torch-fidelity, effective subset size, and sanity on known distributions."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch_fidelity.metric_kid import kid_features_to_metric

from ganbench.metrics.kid import kernel_inception_distance, polynomial_kernel, unbiased_mmd2


def _features(seed: int, n: int, dim: int, shift: float = 0.0) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(n, dim, generator=gen, dtype=torch.float64) + shift


def _torch_fidelity_kid(real: torch.Tensor, fake: torch.Tensor, **kw) -> tuple[float, float]:
    out = kid_features_to_metric(real, fake, verbose=False, **kw)
    return out["kernel_inception_distance_mean"], out["kernel_inception_distance_std"]


def test_matches_torch_fidelity_with_same_subsets() -> None:
    # Same RandomState seed and draw order, so the subsets are the same ones.
    real, fake = _features(0, 300, 24), _features(1, 250, 24, shift=0.3)
    ours = kernel_inception_distance(real, fake, subsets=20, subset_size=100, seed=7)
    mean, std = _torch_fidelity_kid(real, fake, kid_subsets=20, kid_subset_size=100, rng_seed=7)
    assert ours.mean == pytest.approx(mean, rel=1e-10)
    assert ours.std == pytest.approx(std, rel=1e-8)
    assert ours.subset_size == 100 and ours.subsets == 20


def test_matches_torch_fidelity_without_subset_sampling() -> None:
    # subset_size = n: every subset is the whole set, independent of the RNG.
    real, fake = _features(2, 120, 16), _features(3, 120, 16, shift=0.5)
    ours = kernel_inception_distance(real, fake, subsets=3, subset_size=120, seed=0)
    mean, _ = _torch_fidelity_kid(real, fake, kid_subsets=3, kid_subset_size=120, rng_seed=99)
    assert ours.mean == pytest.approx(mean, rel=1e-4)
    assert ours.std == pytest.approx(0.0, abs=1e-12)


def test_matches_torch_fidelity_other_degree() -> None:
    real, fake = _features(4, 80, 8), _features(5, 90, 8, shift=0.2)
    ours = kernel_inception_distance(real, fake, subsets=5, subset_size=50, seed=1, degree=2)
    mean, _ = _torch_fidelity_kid(
        real, fake, kid_subsets=5, kid_subset_size=50, rng_seed=1, kid_kernel_poly_degree=2
    )
    assert ours.mean == pytest.approx(mean, rel=1e-10)


def test_subset_size_is_clipped_and_reported() -> None:
    real, fake = _features(6, 200, 8), _features(7, 50, 8)
    result = kernel_inception_distance(real, fake, subsets=4, subset_size=1000)
    assert result.subset_size == 50


def test_same_distribution_near_zero_and_shift_clearly_positive() -> None:
    real = _features(8, 500, 16)
    same = kernel_inception_distance(real, _features(9, 500, 16), subsets=10, subset_size=250)
    shifted = kernel_inception_distance(
        real, _features(10, 500, 16, shift=1.0), subsets=10, subset_size=250
    )
    assert abs(same.mean) < 0.02
    assert shifted.mean > 0.5
    assert shifted.mean > 50 * abs(same.mean)


def test_seed_makes_it_deterministic() -> None:
    real, fake = _features(11, 100, 8), _features(12, 100, 8)
    a = kernel_inception_distance(real, fake, subsets=5, subset_size=40, seed=3)
    b = kernel_inception_distance(real, fake, subsets=5, subset_size=40, seed=3)
    assert a == b


def test_unbiased_mmd2_of_identical_constant_samples_is_zero() -> None:
    x = np.ones((5, 3))
    k = polynomial_kernel(x, x)
    assert unbiased_mmd2(k, k, k) == pytest.approx(0.0, abs=1e-12)


def test_too_few_samples_is_an_error() -> None:
    with pytest.raises(ValueError):
        kernel_inception_distance(np.zeros((1, 3)), np.zeros((10, 3)))
