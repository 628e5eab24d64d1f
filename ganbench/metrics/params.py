"""Merging a caller's metric parameters over a metric's defaults."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def merged_params(defaults: Mapping[str, Any], params: Mapping[str, Any]) -> dict[str, Any]:
    """``params`` over ``defaults``; a name the metric does not know is an error.

    The defaults are what the protocol record shows when nothing is
    overridden, so a misspelt parameter must not be silently ignored.
    """
    unknown = set(params) - set(defaults)
    if unknown:
        raise ValueError(f"unknown metric params {sorted(unknown)}; known: {sorted(defaults)}")
    return {**defaults, **params}
