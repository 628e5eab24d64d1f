"""Leaderboard ranks the seeds do not separate: intervals, tie marks, p-values, few seeds."""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from ganbench.leaderboard import build_tables, write_leaderboards
from ganbench.leaderboard.ties import intervals_overlap, mean_interval, welch_p_value
from ganbench.run.record import RunRecord, comparison_key

FID = "fid[digits-evaluator]"

PROTOCOL = {
    "eval_protocol_version": 1,
    "dataset": "digits",
    "reference_split": "test",
    "n_real": 360,
    "n_fake": 1000,
    "metric_params": {"fid": {}},
}


def run(model: str, seed: int, fid: float, **overrides) -> RunRecord:
    fields = {
        "run_id": f"{model}-{seed}-{overrides.get('steps', 2000)}",
        "kind": "model",
        "status": "completed",
        "model": model,
        "dataset": "digits",
        "task": "unconditional",
        "seed": seed,
        "steps": 2000,
        "batch_size": 64,
        "metrics": {FID: fid},
        "directions": {FID: "lower"},
        "primary_metric": FID,
        "protocol": PROTOCOL,
        "comparison_key": comparison_key(PROTOCOL),
        "created_at": "2024-01-01",
    }
    fields.update(overrides)
    return RunRecord(**fields)


def seeds_of(model: str, values: list[float], **overrides) -> list[RunRecord]:
    return [run(model, seed, value, **overrides) for seed, value in enumerate(values)]


def ranked(records: list[RunRecord], min_seeds: int = 1) -> dict[str, dict]:
    (table,) = build_tables(records, min_seeds)
    return {row["model"]: row for row in table.rows.to_dict("records") if row["role"] == "ranked"}


def page(tmp_path: Path, records: list[RunRecord], min_seeds: int = 1) -> tuple[str, list[dict]]:
    write_leaderboards(records, tmp_path, min_seeds)
    md = (tmp_path / "unconditional" / "digits.md").read_text()
    text = (tmp_path / "unconditional" / "digits.csv").read_text()
    return md, list(csv.DictReader(io.StringIO(text)))


def test_interval_and_p_value_match_scipy_on_a_hand_example() -> None:
    a, b = [10.0, 12.0, 14.0], [13.0, 14.0, 18.0]
    # mean 12, s = 2, sem = 2 / sqrt(3), t(0.975, 2) = 4.3027: 12 ± 4.968.
    low, high = mean_interval(a)
    half = stats.t.ppf(0.975, 2) * 2.0 / math.sqrt(3)
    assert (low, high) == pytest.approx((12.0 - half, 12.0 + half))
    assert (low, high) == pytest.approx(tuple(stats.ttest_1samp(a, 0.0).confidence_interval()))
    assert half == pytest.approx(4.9683, abs=1e-4)
    expected = stats.ttest_ind(b, a, equal_var=False).pvalue
    assert welch_p_value(b, a) == pytest.approx(expected)
    # Welch by hand: t = 3 / sqrt(4/3 + 7/3), df by Welch-Satterthwaite.
    t = 3.0 / math.sqrt(4 / 3 + 7 / 3)
    df = (4 / 3 + 7 / 3) ** 2 / ((4 / 3) ** 2 / 2 + (7 / 3) ** 2 / 2)
    assert welch_p_value(b, a) == pytest.approx(2 * stats.t.sf(t, df))

    rows = ranked(seeds_of("a", a) + seeds_of("b", b))
    assert (rows["b"]["ci_low"], rows["b"]["ci_high"]) == pytest.approx(mean_interval(b))
    assert rows["b"]["p_vs_above"] == pytest.approx(expected)
    assert pd.isna(rows["a"]["p_vs_above"]) and pd.isna(rows["a"]["tied_with_above"])


def test_degenerate_intervals() -> None:
    assert mean_interval([5.0, 5.0, 5.0]) == (5.0, 5.0)  # no spread is an answer, not an error
    assert all(math.isnan(end) for end in mean_interval([5.0]))
    assert math.isnan(welch_p_value([1.0], [2.0, 3.0]))
    assert intervals_overlap((math.nan, math.nan), (100.0, 101.0))  # one seed ties with anything
    assert not intervals_overlap((0.0, 1.0), (1.5, 2.0))
    assert intervals_overlap((0.0, 1.0), (1.0, 2.0))  # closed intervals


def test_overlapping_intervals_are_marked_tied(tmp_path: Path) -> None:
    records = seeds_of("dcgan", [10.0, 12.0, 14.0]) + seeds_of("gan", [11.0, 13.0, 15.0])
    rows = ranked(records)
    assert (rows["dcgan"]["rank"], rows["gan"]["rank"]) == (1, 2)  # the order stays
    assert bool(rows["gan"]["tied_with_above"]) and rows["gan"]["tied_with"] == "1"

    md, csv_rows = page(tmp_path, records)
    assert "| =2 | gan |" in md and "| 1 | dcgan |" in md
    assert "= before a rank: tied with a row ranked above it" in md
    assert "Welch" in md and "†" not in md
    by_model = {row["model"]: row for row in csv_rows}
    assert by_model["gan"]["rank"] == "2"  # the CSV rank stays a number
    assert by_model["gan"]["tied_with_above"] == "True"
    assert by_model["dcgan"]["tied_with_above"] == ""


def test_clearly_separated_rows_have_no_mark(tmp_path: Path) -> None:
    records = seeds_of("dcgan", [10.0, 10.1, 10.2]) + seeds_of("gan", [30.0, 30.1, 30.2])
    rows = ranked(records)
    assert rows["gan"]["tied_with_above"] is False
    assert rows["gan"]["p_vs_above"] < 0.001
    md, _ = page(tmp_path, records)
    assert "| 2 | gan |" in md and "<0.001" in md
    assert "before a rank" not in md  # no mark used, no legend for it


def test_a_non_adjacent_overlap_is_a_tie_too() -> None:
    # 1 is wide, 2 narrow inside it, 3 clear of 2 but reaching into 1's interval.
    records = (
        seeds_of("one", [8.0, 10.0, 12.0])
        + seeds_of("two", [13.9, 14.0, 14.1])
        + seeds_of("three", [14.6, 14.65, 14.7])
    )
    rows = ranked(records)
    assert [rows[m]["rank"] for m in ("one", "two", "three")] == [1, 2, 3]
    assert rows["three"]["ci_low"] > rows["two"]["ci_high"]
    assert rows["three"]["ci_low"] < rows["one"]["ci_high"]
    assert bool(rows["three"]["tied_with_above"]) and rows["three"]["tied_with"] == "1"


def test_a_one_seed_row_ties_with_its_neighbours(tmp_path: Path) -> None:
    records = (
        [run("alone", 0, 1.0)]
        + seeds_of("dcgan", [10.0, 10.1, 10.2])
        + seeds_of("gan", [30.0, 30.1, 30.2])
    )
    rows = ranked(records)
    assert rows["alone"]["rank"] == 1 and math.isnan(rows["alone"]["ci_low"])
    assert rows["dcgan"]["tied_with"] == "1"  # nothing can be separated from one seed
    assert rows["gan"]["tied_with"] == "1"  # ... however far apart the means
    assert math.isnan(rows["dcgan"]["p_vs_above"])
    md, _ = page(tmp_path, records)
    assert "| 1 | alone | - | 2000 | 64 | 1† | 0 | - |" in md
    assert "| =2 | dcgan | - | 2000 | 64 | 3 | 0 | n/a |" in md
    assert "A row with one seed has no interval" in md


def test_two_seed_row_is_marked_few_with_a_legend(tmp_path: Path) -> None:
    records = seeds_of("dcgan", [10.0, 10.1, 10.2]) + seeds_of("gan", [30.0, 31.0])
    records.append(run("gan", 0, 300.0, steps=0, run_id="untrained"))
    md, csv_rows = page(tmp_path, records, min_seeds=1)
    assert "| 2 | gan | - | 2000 | 64 | 2† | 0 |" in md
    assert "| 1 | dcgan | - | 2000 | 64 | 3 | 0 |" in md
    assert "| untrained | gan | - | 0 | 64 | 1 | 0 |" in md  # one run by design: no mark
    legend = "† after n: fewer than 3 completed seeds"
    table_end = md.index("| untrained | gan |")
    assert md.index(legend) > table_end  # under the table
    by_model = {(row["model"], row["steps"]): row for row in csv_rows}
    assert by_model[("gan", "2000")]["few_seeds"] == "True"
    assert by_model[("dcgan", "2000")]["few_seeds"] == "False"
    assert by_model[("gan", "0")]["few_seeds"] == "False"
    assert by_model[("gan", "2000")]["seeds"] == "0 1"
    assert by_model[("dcgan", "2000")]["n_seeds"] == "3"
    html = (tmp_path / "unconditional" / "digits.html").read_text()
    assert "the mean rests" in html  # the HTML page has the legend too


def test_csv_has_the_new_columns(tmp_path: Path) -> None:
    records = seeds_of("dcgan", [10.0, 12.0, 14.0]) + seeds_of("gan", [11.0, 13.0, 15.0])
    _, csv_rows = page(tmp_path, records)
    header = list(csv_rows[0])
    wanted = ["ci_low", "ci_high", "tied_with_above", "tied_with", "p_vs_above", "few_seeds"]
    assert all(column in header for column in wanted + ["seeds"])
    # Numbers stay numbers: every ci and p cell parses as a float or is empty.
    for row in csv_rows:
        for column in ("ci_low", "ci_high", "p_vs_above"):
            assert row[column] == "" or np.isfinite(float(row[column]))
    dcgan = next(row for row in csv_rows if row["model"] == "dcgan")
    assert (float(dcgan["ci_low"]), float(dcgan["ci_high"])) == pytest.approx(
        mean_interval([10.0, 12.0, 14.0])
    )


def test_budget_groups_are_compared_separately() -> None:
    # Same means, different budgets: each is rank 1 of its own group, so neither is tied.
    records = seeds_of("dcgan", [10.0, 12.0, 14.0]) + seeds_of(
        "dcgan", [10.0, 12.0, 14.0], steps=5000
    )
    (table,) = build_tables(records)
    rows = table.rows[table.rows["role"].eq("ranked")]
    assert list(rows["rank"]) == [1, 1]
    assert rows["tied_with_above"].isna().all()


def test_unranked_table_has_empty_tie_columns(tmp_path: Path) -> None:
    records = [run("gan", seed, 10.0 + seed, primary_metric=None) for seed in range(3)]
    md, csv_rows = page(tmp_path, records)
    (row,) = csv_rows
    assert (row["tied_with_above"], row["p_vs_above"], row["ci_low"]) == ("", "", "")
    assert "p vs above" not in md
