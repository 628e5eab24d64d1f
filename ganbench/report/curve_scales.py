"""Choices that keep training curves readable: axis scales, smoothing, outlier-proof limits.

A validation FID falls from ~1400 to ~40 in the first tenth of a run; on a
linear axis everything after that drop is a flat line, so positive
validation values get a log axis. Losses logged every few steps are noisy
and the first steps can be far off the rest: long series get a rolling mean
over the faint raw curve, and axes follow the bulk of the values, not a
handful of spikes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np

#: Loss series with more points than this get a rolling mean over the raw curve.
SMOOTH_ABOVE_POINTS = 40

#: The rolling mean spans about this share of the series.
SMOOTH_SHARE = 0.05

#: Axes follow the ``[q, 100 - q]`` percentiles of the values...
ROBUST_PERCENTILE = 1.0

#: ...when the full range is more than this many times wider (a few spikes).
OUTLIER_STRETCH = 2.0

#: Fewer points than this are always shown whole.
ROBUST_MIN_POINTS = 20


def _finite(values: Sequence[float]) -> np.ndarray:
    array = np.asarray(values, dtype=np.float64)
    return array[np.isfinite(array)]


def validation_scale(values: Sequence[float]) -> Literal["log", "linear"]:
    """``"log"`` when every finite value is positive (FID, KID, KL), else ``"linear"``."""
    finite = _finite(values)
    return "log" if finite.size and bool((finite > 0).all()) else "linear"


def smoothing_window(n_points: int) -> int:
    """Odd rolling-mean width for a series of ``n_points``; 1 (no smoothing) for short ones."""
    if n_points <= SMOOTH_ABOVE_POINTS:
        return 1
    return max(3, int(n_points * SMOOTH_SHARE)) | 1


def rolling_mean(values: Sequence[float], window: int) -> np.ndarray:
    """Centred mean over ``window`` points that skips NaN; NaN where the input is NaN.

    Near the ends the window is cut short rather than padded, so the curve
    does not bend towards zero there.
    """
    array = np.asarray(values, dtype=np.float64)
    if window <= 1 or array.size == 0:
        return array.copy()
    ok = np.isfinite(array)
    kernel = np.ones(window)
    total = np.convolve(np.where(ok, array, 0.0), kernel, mode="same")
    count = np.convolve(ok.astype(np.float64), kernel, mode="same")
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = total / count
    mean[~ok] = np.nan  # a gap (a diverged loss) stays a gap
    return mean


def robust_limits(values: Sequence[float]) -> tuple[float, float] | None:
    """Y limits around the bulk of ``values`` when a few outliers stretch the axis, else None."""
    finite = _finite(values)
    if finite.size < ROBUST_MIN_POINTS:
        return None
    low, high = np.percentile(finite, [ROBUST_PERCENTILE, 100 - ROBUST_PERCENTILE])
    bulk = float(high - low)
    if bulk <= 0 or float(finite.max() - finite.min()) <= OUTLIER_STRETCH * bulk:
        return None
    margin = 0.1 * bulk
    return float(low - margin), float(high + margin)
