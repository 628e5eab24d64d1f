"""How a table shows what its seeds do not establish: tie and few-seeds marks, their legend.

The CSV keeps the numbers (``tied_with_above``, ``p_vs_above``, ...: see
:mod:`ganbench.leaderboard.ties`); the Markdown and HTML tables mark the
rank and seed count instead, and print a legend under every table that
uses a mark, so a reader never has to look up what a mark means.
"""

from __future__ import annotations

import math

import pandas as pd

from ganbench.leaderboard.ties import CONFIDENCE, FEW_SEEDS

#: Before a rank: the row is not separated from some row ranked above it.
TIE_MARK = "="
#: After a seed count: fewer than :data:`FEW_SEEDS` completed seeds.
FEW_SEEDS_MARK = "†"
#: Header of the p-value column in ranked tables.
P_HEADER = "p vs above"


def rank_text(row: dict[str, object]) -> str:
    """``"3"``, ``"=3"`` when tied with a row above, or the role of an unranked row."""
    role = str(row["role"])
    if role != "ranked":
        return {"unranked": "-"}.get(role, role)
    tied = row.get("tied_with_above")
    mark = TIE_MARK if tied is not None and not pd.isna(tied) and bool(tied) else ""
    return f"{mark}{row['rank']}"


def seeds_text(row: dict[str, object]) -> str:
    """The seed count, with :data:`FEW_SEEDS_MARK` when there are too few."""
    return f"{row['n_seeds']}{FEW_SEEDS_MARK if bool(row.get('few_seeds')) else ''}"


def p_text(row: dict[str, object]) -> str:
    """The p-value against the row above: ``"-"`` without one, ``"n/a"`` when undefined."""
    if row["role"] != "ranked" or pd.isna(row.get("tied_with_above")):
        return "-"
    p = float(row["p_vs_above"])  # type: ignore[arg-type]
    if math.isnan(p):
        return "n/a"
    return "<0.001" if p < 0.001 else f"{p:.3f}"


def legend_lines(rows: pd.DataFrame, metric: str | None, shows_p: bool) -> list[str]:
    """One plain-text sentence per mark (or column) the table uses; empty when none."""
    lines: list[str] = []
    ranked = rows[rows["role"].eq("ranked")]
    confidence = f"{CONFIDENCE:.0%}"
    if ranked["tied_with_above"].fillna(False).astype(bool).any():
        lines.append(
            f"{TIE_MARK} before a rank: tied with a row ranked above it; the {confidence} "
            f"interval of this row's mean {metric} (Student t over its seeds) overlaps that "
            "row's, so the seeds do not separate them (the CSV's tied_with lists the ranks). "
            "A row with one seed has no interval and is tied with every row it is ranked with."
        )
    if shows_p and len(ranked) > 1:
        lines.append(
            f"{P_HEADER}: two-sided Welch's t-test of this row's seeds against the row ranked "
            f"directly above it, on {metric}; n/a when either row has fewer than 2 seeds."
        )
    if rows["few_seeds"].astype(bool).any():
        lines.append(
            f"{FEW_SEEDS_MARK} after n: fewer than {FEW_SEEDS} completed seeds; the mean rests "
            "on very few values."
        )
    return lines
