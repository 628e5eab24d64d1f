"""Class coverage and conditional accuracy on constructed predictions."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from ganbench.metrics.class_coverage import REFERENCE_EPS, class_coverage
from ganbench.metrics.conditional_accuracy import conditional_accuracy


def _one_hot(classes: np.ndarray, k: int) -> np.ndarray:
    return np.eye(k)[classes]


def test_balanced_fakes_cover_every_class_with_zero_kl() -> None:
    k = 10
    probs = _one_hot(np.arange(1000) % k, k)
    labels = torch.arange(500) % k
    result = class_coverage(probs, labels)
    assert result.classes_covered == k
    assert result.class_kl == pytest.approx(0.0, abs=1e-12)


def test_stray_samples_do_not_count_as_coverage() -> None:
    # N=1000, K=10: threshold 0.1 * 100 = 10 samples. Class 9 gets 9, class 8 gets 10.
    k = 10
    classes = np.concatenate([np.repeat(np.arange(8), 122), np.full(10, 8), np.full(9, 9)])
    classes = np.concatenate([classes, np.zeros(1000 - classes.size, dtype=int)])
    result = class_coverage(_one_hot(classes, k), np.arange(100) % k)
    assert result.classes_covered == 9


def test_kl_against_unbalanced_reference() -> None:
    # Fakes: half class 0, half class 1 of K=3. Reference labels: 1/4, 1/4, 1/2.
    probs = _one_hot(np.array([0, 0, 1, 1]), 3)
    labels = np.array([0, 1, 2, 2])
    expected = 0.5 * math.log(0.5 / 0.25) * 2
    result = class_coverage(probs, labels)
    assert result.class_kl == pytest.approx(expected, rel=1e-12)
    # Uniform share 4/3 * 0.1: any predicted sample counts here.
    assert result.classes_covered == 2


def test_soft_probabilities_use_argmax() -> None:
    probs = np.array([[0.6, 0.4], [0.3, 0.7]])
    assert class_coverage(probs, np.array([0, 1])).classes_covered == 2


def test_reference_without_some_class_gives_finite_kl() -> None:
    probs = _one_hot(np.array([0, 1, 2]), 3)
    labels = np.array([0, 1, 0, 1])  # class 2 absent
    result = class_coverage(probs, labels)
    q = np.array([0.5, 0.5, 0.0]) + REFERENCE_EPS
    q /= q.sum()
    expected = sum((1 / 3) * math.log((1 / 3) / qi) for qi in q)
    assert math.isfinite(result.class_kl)
    assert result.class_kl == pytest.approx(expected, rel=1e-9)


def test_labels_out_of_range_are_an_error() -> None:
    with pytest.raises(ValueError):
        class_coverage(_one_hot(np.array([0, 1]), 2), np.array([0, 2]))


def test_conditional_accuracy_counts_matching_argmax() -> None:
    probs = _one_hot(np.array([0, 1, 2, 2, 1]), 3)
    labels = torch.tensor([0, 1, 2, 0, 0])
    assert conditional_accuracy(probs, labels) == pytest.approx(3 / 5)
    assert (
        conditional_accuracy(torch.from_numpy(probs).float(), torch.tensor([0, 1, 2, 2, 1])) == 1.0
    )


def test_conditional_accuracy_length_mismatch() -> None:
    with pytest.raises(ValueError):
        conditional_accuracy(np.eye(3), np.array([0, 1]))
