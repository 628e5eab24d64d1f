"""The results store: round trip, one-transaction writes, replace, filters; atomic writes."""

from __future__ import annotations

import json
import math
import sqlite3
from pathlib import Path

import pytest

import ganbench.results.atomic as atomic_module
import ganbench.results.store as store_module
from ganbench.errors import GanbenchError
from ganbench.results import (
    ResultsStore,
    atomic_write_bytes,
    atomic_write_json,
    atomic_write_text,
    default_store_path,
)
from ganbench.run.record import RunRecord, comparison_key


def make_protocol(n_fake: int = 1000) -> dict:
    return {
        "eval_protocol_version": 1,
        "dataset": "digits",
        "dataset_fingerprint": "ab12",
        "reference_split": "test",
        "selection_split": "val",
        "n_real": 360,
        "n_fake": n_fake,
        "feature_extractor": {
            "name": "evaluator",
            "space": "digits-evaluator",
            "weights_sha256": "f" * 64,
            "test_accuracy": 0.97,
        },
        "preprocessing": {"image_size": 8, "value_range": [-1, 1]},
        "metric_params": {"fid": {}, "kid": {"subsets": 100, "subset_size": 1000}},
        "seed": 0,
        "steps": 2000,
    }


def make_record(run_id: str = "run-a", **overrides) -> RunRecord:
    protocol = overrides.pop("protocol", make_protocol())
    fields = {
        "run_id": run_id,
        "kind": "model",
        "status": "completed",
        "model": "dcgan",
        "dataset": "digits",
        "task": "unconditional",
        "tricks": [{"name": "label-smoothing", "params": {"value": 0.9}}],
        "seed": 0,
        "steps": 2000,
        "steps_done": 2000,
        "batch_size": 64,
        "metrics": {"fid[digits-evaluator]": 12.5, "modes_covered": 10.0},
        "directions": {"fid[digits-evaluator]": "lower", "modes_covered": "higher"},
        "primary_metric": "fid[digits-evaluator]",
        "protocol": protocol,
        "comparison_key": comparison_key(protocol),
        "wall_time_s": 41.2,
        "created_at": f"2024-01-01T00:00:00Z-{run_id}",
    }
    fields.update(overrides)
    return RunRecord(**fields)


def table_rows(path: Path, table: str) -> list[tuple]:
    with sqlite3.connect(path) as conn:
        return conn.execute(f"SELECT * FROM {table}").fetchall()


@pytest.fixture
def store(tmp_path: Path) -> ResultsStore:
    return ResultsStore(tmp_path / "nested" / "dir" / "results.sqlite")


def test_creates_folders_and_schema(store: ResultsStore) -> None:
    assert store.path.is_file()
    with sqlite3.connect(store.path) as conn:
        names = {
            row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")
        }
    assert {"runs", "metrics", "protocols"} <= names


def test_round_trip(store: ResultsStore) -> None:
    record = make_record()
    store.add(record)
    assert store.get("run-a") == record
    assert store.get("missing") is None
    metrics = {row[1]: row for row in table_rows(store.path, "metrics")}
    assert metrics["fid[digits-evaluator]"][2:] == (12.5, "lower", record.comparison_key)
    (protocol_row,) = table_rows(store.path, "protocols")
    stored_protocol = json.loads(protocol_row[1])
    assert "seed" not in stored_protocol and stored_protocol["n_fake"] == 1000
    # A committed transaction leaves no rollback journal behind.
    assert not Path(f"{store.path}-journal").exists()


def test_nan_metric_survives_in_record(store: ResultsStore) -> None:
    store.add(make_record(metrics={"fid[digits-evaluator]": math.nan}))
    assert math.isnan(store.get("run-a").metrics["fid[digits-evaluator]"])


def test_empty_comparison_key_is_computed_and_stale_one_refused(store: ResultsStore) -> None:
    store.add(make_record(comparison_key=""))
    assert table_rows(store.path, "runs")[0][10] == comparison_key(make_protocol())
    with pytest.raises(ValueError, match="comparison_key"):
        store.add(make_record("run-b", comparison_key="0" * 16))
    assert store.get("run-b") is None


def test_replace_is_whole(store: ResultsStore) -> None:
    store.add(make_record())
    replacement = make_record(status="diverged", metrics={"mode_kl": 0.3})
    store.add(replacement)
    assert store.get("run-a") == replacement
    assert len(table_rows(store.path, "runs")) == 1
    assert [row[1] for row in table_rows(store.path, "metrics")] == ["mode_kl"]


def test_failure_midway_writes_nothing(store: ResultsStore, monkeypatch) -> None:
    def failing_rows(record, key):
        yield (record.run_id, "first", 1.0, "lower", key)
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(store_module, "_metric_rows", failing_rows)
    with pytest.raises(RuntimeError, match="disk on fire"):
        store.add(make_record())
    assert store.get("run-a") is None
    for table in ("runs", "metrics", "protocols"):
        assert table_rows(store.path, table) == []


def test_bad_value_leaves_previous_version(store: ResultsStore) -> None:
    original = make_record()
    store.add(original)
    broken = make_record(metrics={"a": 1.0, "b": "not a number"}, status="diverged")
    with pytest.raises(ValueError, match="not a number"):
        store.add(broken)
    assert store.get("run-a") == original
    assert sorted(row[1] for row in table_rows(store.path, "metrics")) == sorted(original.metrics)


def test_filters_and_order(store: ResultsStore) -> None:
    store.add(make_record("b", created_at="2024-01-02"))
    store.add(make_record("a", created_at="2024-01-03", status="diverged"))
    store.add(make_record("c", created_at="2024-01-01", dataset="grid25"))
    store.add(make_record("r", created_at="2024-01-04", kind="real-data", model="real-data"))
    assert [r.run_id for r in store.runs()] == ["c", "b", "a", "r"]
    assert [r.run_id for r in store.runs(dataset="digits")] == ["b", "a", "r"]
    assert [r.run_id for r in store.runs(status="diverged")] == ["a"]
    assert [r.run_id for r in store.runs(kind="real-data")] == ["r"]
    assert [r.run_id for r in store.runs(dataset="digits", kind="model", status="completed")] == [
        "b"
    ]
    assert store.runs(dataset="nope") == []


def test_protocol_lookup_by_comparison_key(store: ResultsStore) -> None:
    key = comparison_key(make_protocol())
    assert store.protocol(key) is None
    store.add(make_record("model-run"))
    assert store.protocol(key)["n_real"] == 360


def test_refuses_newer_schema(tmp_path: Path) -> None:
    path = tmp_path / "results.sqlite"
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA user_version = 99")
    with pytest.raises(GanbenchError, match="newer"):
        ResultsStore(path)


def test_default_store_path(monkeypatch) -> None:
    monkeypatch.delenv("GANBENCH_STORE", raising=False)
    assert default_store_path() == Path("runs/results.sqlite")
    monkeypatch.setenv("GANBENCH_STORE", "/x/y.sqlite")
    assert default_store_path() == Path("/x/y.sqlite")
    monkeypatch.setenv("GANBENCH_STORE", "")
    assert default_store_path() == Path("runs/results.sqlite")


def test_atomic_writes(tmp_path: Path) -> None:
    atomic_write_bytes(tmp_path / "a" / "b.bin", b"\x00\x01")
    atomic_write_text(tmp_path / "t.txt", "line\n")
    atomic_write_json(tmp_path / "j.json", {"x": [1, 2], "nan": math.nan})
    assert (tmp_path / "a" / "b.bin").read_bytes() == b"\x00\x01"
    assert (tmp_path / "t.txt").read_bytes() == b"line\n"
    assert json.loads((tmp_path / "j.json").read_text())["x"] == [1, 2]
    atomic_write_text(tmp_path / "t.txt", "new\n")
    assert (tmp_path / "t.txt").read_text() == "new\n"


def test_atomic_write_failure_keeps_old_file(tmp_path: Path, monkeypatch) -> None:
    target = tmp_path / "keep.txt"
    atomic_write_text(target, "old")

    def broken_replace(src, dst):
        raise OSError("simulated crash before rename")

    monkeypatch.setattr(atomic_module.os, "replace", broken_replace)
    with pytest.raises(OSError, match="simulated"):
        atomic_write_text(target, "new")
    assert target.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.txt"]
