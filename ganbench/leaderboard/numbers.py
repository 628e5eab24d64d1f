"""How leaderboard numbers are printed: ``"12.34 ± 0.56"``."""

from __future__ import annotations

import math


def decimals_for(value: float) -> int:
    """Decimal places that show at least three significant digits of ``value``.

    Values of magnitude >= 1 get two decimals (``12.34``); smaller ones get
    enough to keep three significant digits (``0.00123``), so a KID of 0.001
    does not print as ``0.00``.
    """
    if not math.isfinite(value) or value == 0 or abs(value) >= 1:
        return 2
    return min(8, 2 - math.floor(math.log10(abs(value))))


def format_mean_std(mean: float, std: float) -> str:
    """``"mean ± std"`` with the same decimals for both; ``"n/a"`` without a mean.

    The std is left out when it is undefined (a single seed): the row's seed
    count already says so.
    """
    if mean is None or math.isnan(mean):
        return "n/a"
    places = decimals_for(mean)
    text = f"{mean:.{places}f}"
    if std is not None and not math.isnan(std):
        text += f" ± {std:.{places}f}"
    return text
