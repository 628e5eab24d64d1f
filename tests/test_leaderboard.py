"""Leaderboards: grouping by protocol, mean/std over seeds, ranking, escaping, determinism."""

from __future__ import annotations

import csv
import io
import random
import re
from pathlib import Path

import pandas as pd
import pytest

from ganbench.leaderboard import build_leaderboards, build_tables
from ganbench.leaderboard.escape import escape_markdown, safe_file_stem
from ganbench.leaderboard.numbers import format_mean_std
from ganbench.results import ResultsStore
from ganbench.run.record import RunRecord, comparison_key

FID = "fid[digits-evaluator]"
IS = "is[digits-evaluator]"


def make_protocol(n_fake: int = 1000) -> dict:
    return {
        "eval_protocol_version": 1,
        "dataset": "digits",
        "dataset_fingerprint": "ab12cd34",
        "reference_split": "test",
        "n_real": 360,
        "n_fake": n_fake,
        "feature_extractor": {
            "name": "evaluator",
            "space": "digits-evaluator",
            "weights_sha256": "0123456789abcdef" * 4,
            "test_accuracy": 0.97,
        },
        "preprocessing": {"image_size": 8, "value_range": [-1, 1]},
        "metric_params": {"fid": {}, "kid": {"subsets": 100, "subset_size": 1000}},
    }


def run(
    run_id: str,
    model: str = "dcgan",
    fid: float = 20.0,
    *,
    seed: int = 0,
    primary: str = FID,
    is_score: float = 5.0,
    n_fake: int = 1000,
    **overrides,
) -> RunRecord:
    protocol = make_protocol(n_fake)
    fields = {
        "run_id": run_id,
        "kind": "model",
        "status": "completed",
        "model": model,
        "dataset": "digits",
        "task": "unconditional",
        "seed": seed,
        "steps": 2000,
        "batch_size": 64,
        "metrics": {FID: fid, IS: is_score},
        "directions": {FID: "lower", IS: "higher"},
        "primary_metric": primary,
        "protocol": protocol,
        "comparison_key": comparison_key(protocol),
        "created_at": "2024-01-01",
    }
    fields.update(overrides)
    return RunRecord(**fields)


def rows_of(table) -> list[dict]:
    return table.rows.to_dict("records")


def test_two_protocols_are_two_tables(tmp_path: Path) -> None:
    records = [run("a", "gan", 10.0), run("b", "dcgan", 5.0, n_fake=500)]
    tables = build_tables(records)
    assert len(tables) == 2
    assert {t.comparison_key for t in tables} == {r.comparison_key for r in records}
    for table in tables:
        assert [row["rank"] for row in rows_of(table)] == [1]

    store = ResultsStore(tmp_path / "s.sqlite")
    for record in records:
        store.add(record)
    build_leaderboards(store, tmp_path / "lb")
    text = (tmp_path / "lb" / "unconditional" / "digits.md").read_text()
    assert text.count("## Protocol `") == 2
    assert r"n\_fake=500" in text and r"n\_fake=1000" in text
    assert r"metric params: fid: defaults; kid: subset\_size=1000, subsets=100" in text
    assert "evaluator test accuracy 0.9700" in text and "0123456789ab" in text


def test_mean_std_and_seed_count() -> None:
    records = [run(f"s{seed}", fid=fid, seed=seed) for seed, fid in enumerate([10.0, 12.0, 14.0])]
    (table,) = build_tables(records)
    (row,) = rows_of(table)
    assert row["n_seeds"] == 3 and row["n_diverged"] == 0
    assert row[f"{FID}_mean"] == pytest.approx(12.0)
    assert row[f"{FID}_std"] == pytest.approx(2.0)
    assert format_mean_std(12.34, 0.56) == "12.34 ± 0.56"
    assert format_mean_std(0.00123, 0.0004) == "0.00123 ± 0.00040"
    assert format_mean_std(float("nan"), 1.0) == "n/a"


def test_rank_lower_is_better() -> None:
    (table,) = build_tables([run("a", "worse", 30.0), run("b", "better", 10.0)])
    assert [(r["rank"], r["model"]) for r in rows_of(table)] == [(1, "better"), (2, "worse")]
    assert table.ranking_direction == "lower"


def test_rank_higher_is_better() -> None:
    records = [
        run("a", "low-is", 10.0, primary=IS, is_score=3.0),
        run("b", "high-is", 30.0, primary=IS, is_score=8.0),
    ]
    (table,) = build_tables(records)
    assert [(r["rank"], r["model"]) for r in rows_of(table)] == [(1, "high-is"), (2, "low-is")]
    assert table.metric_names[0] == IS


def test_reference_rows_not_ranked() -> None:
    records = [
        run("real", "real-data", 0.5, kind="real-data", steps=0, batch_size=0),
        run("untrained", "dcgan", 300.0, steps=0),
        run("m1", "dcgan", 20.0),
        run("m2", "gan", 40.0),
    ]
    (table,) = build_tables(records)
    got = [(r["role"], r["rank"], r["model"], r["steps"]) for r in rows_of(table)]
    assert [g[:3] for g in got[:2]] == [("ranked", 1, "dcgan"), ("ranked", 2, "gan")]
    assert got[2][0] == "ref" and pd.isna(got[2][1])
    assert got[3][0] == "untrained" and pd.isna(got[3][1])
    assert got[3][0] == "untrained" and got[3][3] == 0


def test_diverged_counted_not_averaged(tmp_path: Path) -> None:
    records = [
        run("ok1", fid=10.0, seed=0),
        run("ok2", fid=20.0, seed=1),
        run("bad", fid=1.0, seed=2, status="diverged"),
        run("only-bad", "wgan", fid=1.0, status="diverged"),
        run("still-running", "gan", fid=1.0, status="running"),
    ]
    (table,) = build_tables(records)
    rows = {r["model"]: r for r in rows_of(table)}
    assert set(rows) == {"dcgan", "wgan"}
    assert (rows["dcgan"]["n_seeds"], rows["dcgan"]["n_diverged"]) == (2, 1)
    assert rows["dcgan"][f"{FID}_mean"] == pytest.approx(15.0)
    assert (rows["wgan"]["n_seeds"], rows["wgan"]["n_diverged"], rows["wgan"]["role"]) == (
        0,
        1,
        "unranked",
    )


def test_hostile_names_are_escaped(tmp_path: Path) -> None:
    store = ResultsStore(tmp_path / "s.sqlite")
    hostile = "evil|<script>"
    store.add(run("h", hostile, 10.0, tricks=[{"name": "t|*x*", "params": {}}]))
    store.add(run("n", "nice", 20.0))
    out = tmp_path / "lb"
    build_leaderboards(store, out)
    md = (out / "unconditional" / "digits.md").read_text()
    html = (out / "unconditional" / "digits.html").read_text()
    assert "<script>" not in md
    assert html.count("<script>") == 1  # the page's own sort script, no other
    assert r"evil\|\<script\>" in md and r"t\|\*x\*" in md
    assert "evil|&lt;script&gt;" in html
    # Every table line has the same number of unescaped cell separators.
    table_lines = [line for line in md.splitlines() if line.startswith("|")]
    counts = {len(re.findall(r"(?<!\\)\|", line)) for line in table_lines}
    assert len(counts) == 1
    csv_rows = list(csv.DictReader(io.StringIO((out / "unconditional" / "digits.csv").read_text())))
    assert {row["model"] for row in csv_rows} == {hostile, "nice"}


def test_hostile_dataset_name_stays_inside(tmp_path: Path) -> None:
    store = ResultsStore(tmp_path / "s.sqlite")
    store.add(run("x", dataset="../../escape", task="../up"))
    paths = build_leaderboards(store, tmp_path / "lb")
    for path in paths:
        assert (tmp_path / "lb") in path.resolve().parents
    assert safe_file_stem("digits") == "digits"
    assert safe_file_stem("a/b") != safe_file_stem("a_b")
    assert escape_markdown("a_b") == r"a\_b"


def test_csv_columns(tmp_path: Path) -> None:
    store = ResultsStore(tmp_path / "s.sqlite")
    store.add(run("a", "gan", 10.0, seed=0))
    store.add(run("b", "gan", 12.0, seed=1))
    build_leaderboards(store, tmp_path / "lb")
    reader = csv.DictReader(
        io.StringIO((tmp_path / "lb" / "unconditional" / "digits.csv").read_text())
    )
    (row,) = list(reader)
    for column in (
        "model",
        "tricks",
        "steps",
        "batch_size",
        "kind",
        "n_seeds",
        "n_diverged",
        "comparison_key",
        f"{FID}_mean",
        f"{FID}_std",
        f"{IS}_mean",
        f"{IS}_std",
    ):
        assert column in reader.fieldnames
    assert row["n_seeds"] == "2" and row["rank"] == "1" and float(row[f"{FID}_mean"]) == 11.0


def test_rebuild_is_byte_identical(tmp_path: Path) -> None:
    records = [
        run(f"r{i}", f"model{i % 3}", 10.0 + i, seed=i, n_fake=1000 + 500 * (i % 2))
        for i in range(8)
    ]
    records.append(run("real", "real-data", 1.0, kind="real-data", steps=0))
    outputs = []
    for attempt, order in enumerate([records, random.Random(1).sample(records, len(records))]):
        store = ResultsStore(tmp_path / f"s{attempt}.sqlite")
        for record in order:
            store.add(record)
        out = tmp_path / f"lb{attempt}"
        paths = build_leaderboards(store, out)
        build_leaderboards(store, out)  # rebuild in place
        outputs.append({p.relative_to(out): p.read_bytes() for p in paths})
    assert outputs[0] == outputs[1]
    assert sorted(map(str, outputs[0])) == [
        "index.html",
        "unconditional/digits.csv",
        "unconditional/digits.html",
        "unconditional/digits.md",
    ]


def test_empty_store(tmp_path: Path) -> None:
    paths = build_leaderboards(ResultsStore(tmp_path / "s.sqlite"), tmp_path / "lb")
    assert [p.name for p in paths] == ["index.html"]
    assert "No runs" in paths[0].read_text()


def test_repeated_runs_of_one_seed_are_one_seed(tmp_path: Path) -> None:
    # Three identical runs of seed 0 used to print "n = 3, 17.13 ± 0.00".
    records = [run(f"again{i}", fid=17.13, created_at=f"2024-01-0{i + 1}") for i in range(3)]
    (table,) = build_tables(records)
    (row,) = rows_of(table)
    assert (row["n_seeds"], row["n_diverged"]) == (1, 0)
    assert row[f"{FID}_mean"] == pytest.approx(17.13)
    assert pd.isna(row[f"{FID}_std"])  # one seed: no spread to report
    (note,) = table.notes
    assert "seed 0" in note and "merged" in note and "dcgan" in note

    store = ResultsStore(tmp_path / "s.sqlite")
    for record in records:
        store.add(record)
    build_leaderboards(store, tmp_path / "lb")
    md = (tmp_path / "lb" / "unconditional" / "digits.md").read_text()
    # One seed: marked as few (†); the first row has no row above to test against (-).
    assert "| 1 | dcgan | - | 2000 | 64 | 1† | 0 | - | 17.13 |" in md
    assert "distinct training seeds" in md


def test_mean_is_over_distinct_seeds_with_the_newest_run() -> None:
    records = [
        # Seed 0 twice with different numbers: the newer one (by created_at) counts,
        # whatever the order the records come in.
        run("z-old", fid=10.0, seed=0, created_at="2024-01-01T00:00:00+00:00"),
        run("a-new", fid=30.0, seed=0, created_at="2024-01-02T00:00:00+00:00"),
        run("seed1", fid=20.0, seed=1, created_at="2024-01-01T00:00:00+00:00"),
    ]
    for order in (records, records[::-1]):
        (table,) = build_tables(order)
        (row,) = rows_of(table)
        assert row["n_seeds"] == 2
        assert row[f"{FID}_mean"] == pytest.approx(25.0)
        assert row[f"{FID}_std"] == pytest.approx(7.0710678, rel=1e-6)
        (note,) = table.notes
        assert "seed 0" in note and "disagree" in note and FID in note
        assert "10, 30" in note and "a-new" in note

    # Same created_at: the larger run id is the newer one.
    tied = [run("r1", fid=10.0), run("r2", fid=12.0)]
    (table,) = build_tables(tied)
    assert rows_of(table)[0][f"{FID}_mean"] == pytest.approx(12.0)


def test_agreement_allows_float_noise_only() -> None:
    close = [run("a", fid=20.0), run("b", fid=20.0 * (1 + 1e-9))]
    (table,) = build_tables(close)
    assert "merged" in table.notes[0]
    apart = [run("a", fid=20.0), run("b", fid=20.0 * (1 + 1e-4))]
    (table,) = build_tables(apart)
    assert "disagree" in table.notes[0]


def test_diverged_seeds_are_counted_once() -> None:
    records = [
        run("s0-first", seed=0, status="diverged", metrics={}, created_at="2024-01-01"),
        run("s0-again", seed=0, status="diverged", metrics={}, created_at="2024-01-02"),
        # Seed 1 diverged, then a newer run of it completed: that one counts.
        run("s1-bad", fid=1.0, seed=1, status="diverged", metrics={}, created_at="2024-01-01"),
        run("s1-good", fid=20.0, seed=1, created_at="2024-01-02"),
        run("s2", fid=22.0, seed=2),
    ]
    (table,) = build_tables(records)
    (row,) = rows_of(table)
    assert (row["n_seeds"], row["n_diverged"]) == (2, 1)
    assert row[f"{FID}_mean"] == pytest.approx(21.0)
    assert any("seed 1" in note and "diverged, 20" in note for note in table.notes)
    assert any("seed 0 all diverged" in note for note in table.notes)


def test_csv_says_what_ranks_the_table(tmp_path: Path) -> None:
    store = ResultsStore(tmp_path / "s.sqlite")
    store.add(run("a", "gan", 10.0, seed=0))
    store.add(run("b", "wgan", 12.0, seed=0, primary=None, n_fake=500))
    build_leaderboards(store, tmp_path / "lb")
    text = (tmp_path / "lb" / "unconditional" / "digits.csv").read_text()
    rows = {row["model"]: row for row in csv.DictReader(io.StringIO(text))}
    assert (rows["gan"]["ranked_by"], rows["gan"]["ranking_direction"]) == (FID, "lower")
    # A table without a primary metric is not ranked, and its rows say so.
    assert (rows["wgan"]["ranked_by"], rows["wgan"]["ranking_direction"]) == ("", "")


def test_min_seeds_leaves_out_short_rows_and_says_so() -> None:
    records = [run(f"d{seed}", "dcgan", 10.0 + seed, seed=seed) for seed in range(2)]
    records.append(run("d2-diverged", "dcgan", seed=2, status="diverged"))
    records += [run(f"g{seed}", "gan", 30.0 + seed, seed=seed) for seed in range(2)]
    records.append(run("g1-again", "gan", 31.0, seed=1, created_at="2024-02-01"))
    records.append(run("untrained", "gan", 300.0, steps=0))
    records.append(run("real", "real-data", 0.5, kind="real-data", steps=0, batch_size=0))

    (everything,) = build_tables(records)
    assert {r["model"] for r in rows_of(everything) if r["role"] == "ranked"} == {"dcgan", "gan"}

    (published,) = build_tables(records, min_seeds=3)
    kept = [(r["role"], r["model"], r["n_seeds"], r["n_diverged"]) for r in rows_of(published)]
    # dcgan's third seed diverged: a finished seed, so the row stays (n 2,
    # diverged 1). gan has two seeds (seed 1 twice): left out, with a note.
    assert kept == [
        ("ranked", "dcgan", 2, 1),
        ("ref", "real-data", 1, 0),
        ("untrained", "gan", 1, 0),
    ]
    assert any(
        note.startswith("left out: gan at 2000 steps, batch 64 has 2 finished seed(s)")
        for note in published.notes
    )
    with pytest.raises(ValueError, match="at least 1"):
        build_tables(records, min_seeds=0)
