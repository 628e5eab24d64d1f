"""Inception Score: limiting cases and agreement with torch-fidelity."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch_fidelity.metric_isc import isc_features_to_metric

from ganbench.metrics.inception_score import inception_score


def test_uniform_predictions_score_one() -> None:
    mean, std = inception_score(np.full((100, 10), 0.1), splits=5)
    assert mean == pytest.approx(1.0, abs=1e-12)
    assert std == pytest.approx(0.0, abs=1e-12)


def test_confident_even_predictions_score_num_classes() -> None:
    k = 10
    probs = np.eye(k)[np.arange(200) % k]  # each split of 20 rows holds every class twice
    mean, std = inception_score(torch.from_numpy(probs).float(), splits=10)
    assert mean == pytest.approx(k, rel=1e-12)
    assert std == pytest.approx(0.0, abs=1e-12)
    assert inception_score(probs, splits=1)[0] == pytest.approx(k, rel=1e-12)


def test_matches_torch_fidelity_same_order() -> None:
    # torch-fidelity takes logits; softmax of the same logits gives our probs.
    # N = 1003 is not a multiple of the splits, so chunk boundaries are tested too.
    logits = torch.randn(1003, 10, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    logits *= 3.0
    reference = isc_features_to_metric(logits, splits=10, shuffle=False)
    mean, std = inception_score(logits.softmax(dim=1), splits=10)
    assert mean == pytest.approx(reference["inception_score_mean"], rel=1e-6)
    assert std == pytest.approx(reference["inception_score_std"], rel=1e-6)


def test_matches_torch_fidelity_with_its_shuffle_reproduced() -> None:
    logits = torch.randn(500, 7, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    reference = isc_features_to_metric(logits, splits=4, shuffle=True, rng_seed=2020)
    order = np.random.RandomState(2020).permutation(500)
    mean, std = inception_score(logits.softmax(dim=1)[order], splits=4)
    assert mean == pytest.approx(reference["inception_score_mean"], rel=1e-6)
    assert std == pytest.approx(reference["inception_score_std"], rel=1e-6)


def test_logits_are_rejected() -> None:
    with pytest.raises(ValueError, match="logits"):
        inception_score(np.random.default_rng(0).normal(size=(20, 3)), splits=2)


def test_more_splits_than_samples_is_an_error() -> None:
    with pytest.raises(ValueError):
        inception_score(np.full((3, 2), 0.5), splits=5)
