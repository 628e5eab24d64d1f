"""Paired comparison of a trick against the baseline over the same training seeds.

A seed fixes the initial weights and the data order, so the run with a
trick and the run without it on one seed are a pair, and their difference
is the trick's effect on that seed. Over n seeds:

- the mean difference, with a 95% percentile bootstrap interval (resampling
  the n differences, a fixed generator, so the interval is reproducible);
- a two-sided exact sign-flip permutation test of "the differences are
  symmetric about 0": every one of the 2^n sign patterns of the differences,
  the p-value being the share whose mean is at least as far from 0 as the
  observed one (Fisher's paired randomisation test);
- a verdict: ``better`` or ``worse`` when p < alpha and the interval
  excludes 0, ``no evidence`` otherwise.

With n seeds the smallest p-value the test can give is 2 / 2^n: 0.25 for 3
seeds, 0.0625 for 5, 0.03125 for 6. Fewer than 6 seeds can therefore never
show an effect at alpha 0.05, which is the honest answer: the verdict says
so rather than reading a pattern into three numbers.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

#: Exact enumeration up to this many seeds (2^16 sign patterns); beyond, a
#: seeded Monte Carlo draw of as many patterns.
EXACT_MAX_SEEDS = 16
ALPHA = 0.05
BOOTSTRAP_RESAMPLES = 10_000

Verdict = str  # "better" | "worse" | "no evidence"


@dataclass(frozen=True)
class PairedComparison:
    """One metric of one trick set against the baseline.

    Attributes:
        metric: the metric name; ``direction`` is ``"lower"`` or ``"higher"`` (is better).
        seeds: the seeds both sides completed, in order.
        differences: treated - baseline per seed.
        baseline_mean, treated_mean: the two sides' means over ``seeds``.
        mean_difference: the mean of ``differences``.
        ci_low, ci_high: the 95% bootstrap interval of the mean difference.
        p_value: the exact (or Monte Carlo) two-sided sign-flip p-value.
        verdict: ``"better"``, ``"worse"`` or ``"no evidence"``.
    """

    metric: str
    direction: str
    seeds: tuple[int, ...]
    differences: tuple[float, ...]
    baseline_mean: float
    treated_mean: float
    mean_difference: float
    ci_low: float
    ci_high: float
    p_value: float
    verdict: Verdict


def sign_flip_p_value(differences: Sequence[float], *, seed: int = 0) -> float:
    """Two-sided p-value of the paired randomisation test on ``differences``."""
    d = np.asarray(differences, dtype=np.float64)
    if d.size == 0:
        return math.nan
    observed = abs(d.mean())
    if d.size <= EXACT_MAX_SEEDS:
        signs = np.array(list(itertools.product((1.0, -1.0), repeat=d.size)))
    else:
        rng = np.random.default_rng(seed)
        signs = rng.choice((1.0, -1.0), size=(2**EXACT_MAX_SEEDS, d.size))
    means = np.abs(signs @ d) / d.size
    # A relative tolerance, so that float noise in the sums does not decide ties.
    return float(np.mean(means >= observed * (1 - 1e-12) - 1e-15))


def bootstrap_interval(
    differences: Sequence[float], *, resamples: int = BOOTSTRAP_RESAMPLES, seed: int = 0
) -> tuple[float, float]:
    """The 95% percentile bootstrap interval of the mean of ``differences``."""
    d = np.asarray(differences, dtype=np.float64)
    if d.size == 0:
        return math.nan, math.nan
    rng = np.random.default_rng(seed)
    means = d[rng.integers(0, d.size, size=(resamples, d.size))].mean(axis=1)
    low, high = np.percentile(means, [2.5, 97.5])
    return float(low), float(high)


def compare_paired(
    metric: str,
    direction: str,
    baseline: dict[int, float],
    treated: dict[int, float],
    *,
    alpha: float = ALPHA,
) -> PairedComparison:
    """Compare ``treated`` with ``baseline`` (seed -> value) on the seeds both have."""
    if direction not in ("lower", "higher"):
        raise ValueError(f"a compared metric must rank (lower or higher), not {direction!r}")
    seeds = tuple(sorted(set(baseline) & set(treated)))
    differences = tuple(treated[s] - baseline[s] for s in seeds)
    mean = float(np.mean(differences)) if seeds else math.nan
    low, high = bootstrap_interval(differences)
    p = sign_flip_p_value(differences)
    verdict = "no evidence"
    if seeds and p < alpha and not (low <= 0.0 <= high):
        improves = mean < 0 if direction == "lower" else mean > 0
        verdict = "better" if improves else "worse"
    return PairedComparison(
        metric=metric,
        direction=direction,
        seeds=seeds,
        differences=differences,
        baseline_mean=float(np.mean([baseline[s] for s in seeds])) if seeds else math.nan,
        treated_mean=float(np.mean([treated[s] for s in seeds])) if seeds else math.nan,
        mean_difference=mean,
        ci_low=low,
        ci_high=high,
        p_value=p,
        verdict=verdict,
    )
