"""Mode coverage on a ring of 8 Gaussians with constructed samples."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from ganbench.metrics.mode_coverage import mode_coverage

STD = 0.02
RING = np.array(
    [[2.0 * math.cos(a), 2.0 * math.sin(a)] for a in np.linspace(0, 2 * math.pi, 8, endpoint=False)]
)


def _around(mode_index: np.ndarray, seed: int = 0) -> np.ndarray:
    # Offsets of at most 2 std, well inside the 3-std high-quality radius.
    rng = np.random.default_rng(seed)
    offsets = rng.uniform(-1.0, 1.0, size=(mode_index.size, 2)) * STD * math.sqrt(2)
    return RING[mode_index] + offsets


def test_every_mode_equally_is_full_coverage() -> None:
    samples = torch.from_numpy(_around(np.arange(800) % 8)).float()
    result = mode_coverage(samples, RING, STD)
    assert result.modes_covered == 8
    assert result.high_quality_frac == 1.0
    assert result.mode_kl == pytest.approx(0.0, abs=1e-12)


def test_collapse_onto_one_mode() -> None:
    result = mode_coverage(_around(np.full(500, 3)), RING, STD)
    assert result.modes_covered == 1
    assert result.high_quality_frac == 1.0
    assert result.mode_kl == pytest.approx(math.log(8), rel=1e-12)


def test_off_mode_samples_lower_the_high_quality_share() -> None:
    on_mode = _around(np.arange(600) % 8)
    off_mode = np.zeros((200, 2))  # the ring's centre: 2 units (100 std) from every mode
    result = mode_coverage(np.concatenate([on_mode, off_mode]), RING, STD)
    assert result.high_quality_frac == pytest.approx(0.75)
    assert result.modes_covered == 8
    assert result.mode_kl == pytest.approx(0.0, abs=1e-12)  # low-quality samples are ignored


def test_high_quality_radius_is_n_std() -> None:
    just_inside = RING[:1] + np.array([[2.9 * STD, 0.0]])
    just_outside = RING[:1] + np.array([[3.1 * STD, 0.0]])
    assert mode_coverage(just_inside, RING, STD).high_quality_frac == 1.0
    assert mode_coverage(just_outside, RING, STD).high_quality_frac == 0.0
    assert mode_coverage(just_outside, RING, STD, n_std=4.0).high_quality_frac == 1.0


def test_uneven_histogram_kl_and_min_count() -> None:
    # Modes 0-3 get 3 samples each, modes 4-7 get 1 each: p = (3/16 x4, 1/16 x4).
    index = np.concatenate([np.repeat(np.arange(4), 3), np.arange(4, 8)])
    samples = _around(index)
    expected = 4 * (3 / 16) * math.log((3 / 16) * 8) + 4 * (1 / 16) * math.log((1 / 16) * 8)
    result = mode_coverage(samples, RING, STD)
    assert result.mode_kl == pytest.approx(expected, rel=1e-12)
    assert result.modes_covered == 8
    assert mode_coverage(samples, RING, STD, min_count=2).modes_covered == 4


def test_no_high_quality_sample_convention() -> None:
    result = mode_coverage(np.zeros((50, 2)), RING, STD)
    assert result.modes_covered == 0
    assert result.high_quality_frac == 0.0
    assert result.mode_kl == pytest.approx(math.log(8))


OFF = math.exp(-4.5)  # 2-D Gaussian mass beyond 3 std


def test_reverse_kl_closed_forms() -> None:
    # Every sample on-mode, evenly: all mass on the M discs, none off-mode.
    even = mode_coverage(_around(np.arange(800) % 8), RING, STD)
    assert even.reverse_kl == pytest.approx(-math.log(1 - OFF), rel=1e-12)
    # Collapse onto one disc: log(1 / ((1 - e) / 8)).
    collapsed = mode_coverage(_around(np.full(400, 2)), RING, STD)
    assert collapsed.reverse_kl == pytest.approx(math.log(8 / (1 - OFF)), rel=1e-12)
    # Every sample misses: log(1 / e) = 4.5, worse than collapse.
    missed = mode_coverage(np.zeros((50, 2)), RING, STD)
    assert missed.reverse_kl == pytest.approx(4.5, rel=1e-12)
    assert missed.reverse_kl > collapsed.reverse_kl > even.reverse_kl


def test_reverse_kl_penalises_what_mode_kl_ignores() -> None:
    # 8 lucky on-mode points (one per mode) among 2,500 look perfect to mode_kl...
    lucky = np.concatenate([_around(np.arange(8)), np.zeros((2492, 2))])
    # ...while 700 on-mode points on four modes do not.
    half = np.concatenate([_around(np.arange(700) % 4), np.zeros((1800, 2))])
    lucky_result, half_result = mode_coverage(lucky, RING, STD), mode_coverage(half, RING, STD)
    assert lucky_result.mode_kl < half_result.mode_kl
    assert half_result.reverse_kl < lucky_result.reverse_kl


def test_dimension_mismatch_is_an_error() -> None:
    with pytest.raises(ValueError):
        mode_coverage(np.zeros((5, 3)), RING, STD)
