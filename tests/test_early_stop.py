"""early-stop end to end: it stops where its patience runs out, and a resume agrees.

gan2d on ring8 validates after every step here, so a handful of steps
holds several validations; patience 2 stops at the second validation in a
row that does not improve on the best so far.
"""

from __future__ import annotations

import csv
import json

import pytest

from ganbench.cli.main import main

COMMON = [
    "--plugin", "gan2d", "--dataset", "ring8", "--checkpoint-every", "1",
    "--trick", "early-stop:patience=2", "--eval-samples", "500", "--batch-size", "50",
]  # fmt: skip
BUDGET = 30


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> dict:
    assert main(["run", *args, "--json", "--quiet"]) == 0, capsys.readouterr().err
    return json.loads(capsys.readouterr().out)


def _first_stale_validations(curves: list[dict], key: str, higher: bool, patience: int) -> int:
    """The step of the validation that ends ``patience`` in a row not better than the best."""
    best, stale = None, 0
    sign = 1.0 if higher else -1.0
    for row in curves:
        if key not in row:
            continue
        if best is not None and sign * (row[key] - best) <= 0.0:
            stale += 1
            if stale == patience:
                return int(row["step"])
        else:
            best, stale = row[key], 0
    raise AssertionError("the validations never stalled for the patience")


def test_early_stop_stops_on_patience_and_resumes_to_the_same_run(
    tmp_path, capsys: pytest.CaptureFixture[str]
) -> None:
    places = ["--runs-dir", str(tmp_path / "runs"), "--store", str(tmp_path / "s.sqlite")]
    whole = _run(capsys, *COMMON, *places, "--steps", str(BUDGET))
    run_dir = tmp_path / "runs" / whole["run_id"]
    with (run_dir / "curves.csv").open() as f:
        curves = [{k: float(v) for k, v in row.items() if v} for row in csv.DictReader(f)]
    record = json.loads((run_dir / "record.json").read_text())
    metric = record["protocol"]["selection"]["metric"]
    higher = record["directions"][metric] == "higher"
    assert whole["steps_done"] < BUDGET
    assert whole["steps_done"] == _first_stale_validations(curves, f"val_{metric}", higher, 2)
    assert record["protocol"]["stopped_early"] is True

    # Interrupted before the stop and resumed: the same stop, the same numbers.
    short = _run(capsys, *COMMON, *places, "--steps", "2")
    resumed = _run(capsys, "--resume", short["run_dir"], "--steps", str(BUDGET), *places[2:])
    assert resumed["steps_done"] == whole["steps_done"]
    assert resumed["metrics"] == pytest.approx(whole["metrics"], rel=1e-9)

    # A stopped run is finished: resuming it with the budget trains nothing more.
    again = _run(capsys, "--resume", whole["run_dir"], "--steps", str(BUDGET), *places[2:])
    assert again["steps_done"] == whole["steps_done"]
