"""Which ranked rows the seeds actually separate: intervals, ties, p-values.

Two leaderboard rows are different models (or tricks), so their seeds are
not pairs the way an ablation's are (:mod:`ganbench.ablate.paired`): seed 0
of one model and seed 0 of another share nothing but a number. The
comparison is therefore unpaired:

- each row gets a 95% Student t interval of the mean of its ranking metric,
  ``mean ± t(0.975, n-1) · s / sqrt(n)``, over its completed seeds. A
  percentile bootstrap (what ``ganbench ablate`` uses for its paired
  differences) is degenerate here: three seeds have only 10 distinct
  resamples, and the interval is about the range of the three values,
  narrower than the data justify. The t interval is wide with three seeds
  (t = 4.30), which is the honest width: it is better to call two rows
  tied than to rank them on noise.
- a ranked row is *tied with the row above* when its interval overlaps the
  interval of any row ranked above it in its budget group. Not only the
  adjacent one: intervals of different widths can leave rows 1 and 3
  overlapping while 2 is separated from 3, and then an unmarked 3 would
  claim a separation from 1 that the seeds do not show. A row with one seed
  has no interval and cannot be separated from anything, so it ties with
  every row above it and every row below it ties with it.
- ``p_vs_above`` is the two-sided Welch's t-test (``scipy.stats.ttest_ind``
  with ``equal_var=False``) against the row directly above. Welch, not
  the independent permutation test: it makes the same normal assumption as
  the t interval, so the two never tell different stories, and with 3 + 3
  seeds a permutation test has only 20 splits and cannot go below p = 0.1.
- a trained row with fewer than :data:`FEW_SEEDS` completed seeds is
  flagged: its mean (and interval) rests on very few values.

Everything here is closed-form: no random draws, so the same values always
give the same columns.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import stats

from ganbench.leaderboard.seeds import ENTRY_COLUMNS, Entry

#: Coverage of each row's interval of the mean.
CONFIDENCE = 0.95
#: A trained row with fewer completed seeds than this is flagged.
FEW_SEEDS = 3

#: Columns :func:`add_tie_columns` adds, in CSV order.
TIE_COLUMNS: tuple[str, ...] = (
    "ci_low",
    "ci_high",
    "tied_with_above",
    "tied_with",
    "p_vs_above",
    "few_seeds",
    "seeds",
)


def mean_interval(values: Sequence[float], confidence: float = CONFIDENCE) -> tuple[float, float]:
    """The Student t interval of the mean of ``values``; NaNs with fewer than 2 values.

    Values that are all equal give the point interval (mean, mean): scipy's
    ``t.interval`` rejects a zero scale, but zero spread is a valid answer.
    """
    x = np.asarray(values, dtype=np.float64)
    if x.size < 2 or not np.all(np.isfinite(x)):
        return math.nan, math.nan
    mean = float(x.mean())
    sem = float(stats.sem(x))
    if sem == 0.0:
        return mean, mean
    low, high = stats.t.interval(confidence, df=x.size - 1, loc=mean, scale=sem)
    return float(low), float(high)


def welch_p_value(a: Sequence[float], b: Sequence[float]) -> float:
    """Two-sided Welch's t-test p-value of ``a`` against ``b``; NaN when it is undefined.

    Undefined: fewer than 2 values on a side (no variance), or both sides
    constant and equal.
    """
    x, y = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if x.size < 2 or y.size < 2 or not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))):
        return math.nan
    with warnings.catch_warnings():
        # Seeds with identical values (an integer metric such as modes
        # covered) make scipy warn about precision; the answer is still right.
        warnings.simplefilter("ignore", RuntimeWarning)
        p = stats.ttest_ind(x, y, equal_var=False).pvalue
    return float(p)


def intervals_overlap(a: tuple[float, float], b: tuple[float, float]) -> bool:
    """Whether two closed intervals share a point; an undefined (NaN) interval overlaps anything."""
    if any(math.isnan(end) for end in (*a, *b)):
        return True
    return a[0] <= b[1] and b[0] <= a[1]


def add_tie_columns(
    rows: pd.DataFrame,
    values: Mapping[Entry, Sequence[float]],
    seeds: Mapping[Entry, Sequence[int]],
) -> pd.DataFrame:
    """``rows`` (ranked and ordered by ``table._rank``) with :data:`TIE_COLUMNS` appended.

    Args:
        rows: one row per entry, with ``role``, ``rank``, ``steps``,
            ``batch_size`` and the :data:`ENTRY_COLUMNS`.
        values: entry -> the ranking metric's value for each completed seed
            (missing or empty when the table is not ranked).
        seeds: entry -> its completed seeds, sorted.

    ``tied_with_above``, ``tied_with`` (the ranks above whose intervals
    overlap, space-separated) and ``p_vs_above`` are empty for rows that
    are not ranked and for the first row of each budget group.
    """
    rows = rows.copy()
    entries = [
        tuple(record[column] for column in ENTRY_COLUMNS)
        for record in rows[list(ENTRY_COLUMNS)].to_dict("records")
    ]
    intervals = [mean_interval(values.get(entry, ())) for entry in entries]
    rows["ci_low"] = [low for low, _ in intervals]
    rows["ci_high"] = [high for _, high in intervals]

    tied: list[object] = [pd.NA] * len(rows)
    tied_with: list[str] = [""] * len(rows)
    p_above: list[float] = [math.nan] * len(rows)
    # Rows arrive ranked best first within each budget; "above" means
    # earlier in the same (steps, batch size) group.
    above_in_group: dict[tuple[int, int], list[int]] = {}
    for position, record in enumerate(rows[["role", "rank", "steps", "batch_size"]].to_numpy()):
        role, rank, steps, batch_size = record
        if role != "ranked":
            continue
        above = above_in_group.setdefault((int(steps), int(batch_size)), [])
        if above:
            overlapping = [
                int(rows["rank"].iloc[i])
                for i in above
                if intervals_overlap(intervals[i], intervals[position])
            ]
            tied[position] = bool(overlapping)
            tied_with[position] = " ".join(str(r) for r in overlapping)
            p_above[position] = welch_p_value(
                values.get(entries[position], ()), values.get(entries[above[-1]], ())
            )
        above.append(position)
    rows["tied_with_above"] = pd.array(tied, dtype="boolean")
    rows["tied_with"] = tied_with
    rows["p_vs_above"] = p_above

    trained = rows["kind"].ne("real-data") & rows["steps"].ne(0)
    rows["few_seeds"] = trained & rows["n_seeds"].lt(FEW_SEEDS)
    rows["seeds"] = [" ".join(str(s) for s in seeds.get(entry, ())) for entry in entries]
    return rows
