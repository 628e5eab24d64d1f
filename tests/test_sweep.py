"""``ganbench sweep``: the grid, bad files, running, skipping, retries, a killed sweep, parity.

Runs are gan2d on ring8 for 2 steps with 200 evaluation samples and one
thread; each sweep that runs cells spawns its worker processes.
"""

from __future__ import annotations

import itertools
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest
from cli_helpers import one_error_line, run_cli

from ganbench.registry import load_registry
from ganbench.sweep.cells import cell_key, sweep_cells
from ganbench.sweep.spec_file import read_sweep_file

PLUGINS = Path(__file__).parent / "sweep_plugins"

COMMON = """
eval_samples = 200
threads = 1
device = "cpu"
"""


def _write(tmp_path: Path, text: str, name: str = "sweep.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def _cells_table(store: Path) -> dict[str, tuple]:
    conn = sqlite3.connect(store)
    try:
        rows = conn.execute("SELECT cell_key, status, run_id, attempts, error FROM sweep_cells")
        return {row[0]: row[1:] for row in rows}
    finally:
        conn.close()


def _sweep(tmp_path: Path, capsys, sweep: Path, *extra: str) -> tuple[int, str, str]:
    argv = ["sweep", str(sweep), "--store", str(tmp_path / "s.sqlite"),
            "--runs-dir", str(tmp_path / "runs"), *extra]  # fmt: skip
    return run_cli(argv, capsys)


def _folders(tmp_path: Path) -> set[str]:
    runs = tmp_path / "runs"
    return {p.name for p in runs.iterdir() if p.is_dir()} if runs.is_dir() else set()


def test_grid_is_the_product_less_excludes_with_untrained_runs(tmp_path) -> None:
    registry = load_registry()
    sweep = read_sweep_file(
        _write(
            tmp_path,
            COMMON
            + """
models = ["gan2d", "pacgan:3", "wgan-gp"]
datasets = ["ring8", "grid25"]
tricks = [[], ["ema:0.99"]]
seeds = [0, 1]
untrained = true
[budget]
steps = 20
batch_size = 100
[budget.grid25]
steps = 30
[[exclude]]
model = "wgan-gp"
dataset = "grid25"
[[exclude]]
model = "pacgan"
trick = "ema"
[[row]]
model = "gan2d"
dataset = "ring8"
steps = 40
batch_size = 50
seeds = [5]
""",
        ),
        registry,
    )
    cells = sweep_cells(sweep, registry)
    # The same grid, spelled out independently of the parser.
    expected = []
    for model, dataset, tricks in itertools.product(
        ["gan2d", "pacgan:3", "wgan-gp"], ["ring8", "grid25"], [(), ("ema:0.99",)]
    ):
        if (model == "wgan-gp" and dataset == "grid25") or (model == "pacgan:3" and tricks):
            continue
        steps = 30 if dataset == "grid25" else 20
        expected += [(model, dataset, tricks, seed, steps, 100) for seed in (0, 1)]
        expected.append((model, dataset, tricks, 0, 0, 100))
    expected += [("gan2d", "ring8", (), 5, 40, 50), ("gan2d", "ring8", (), 0, 0, 50)]
    got = [
        (c.request.model, c.request.dataset, c.request.tricks, c.request.seed, c.request.steps,
         c.request.batch_size)
        for c in cells
    ]  # fmt: skip
    assert got == expected and sweep.excluded == 4
    assert len({c.key for c in cells}) == len(cells)
    assert all(c.untrained == (c.request.steps == 0) for c in cells)
    assert all(c.request.threads == 1 and c.request.eval_samples == 200 for c in cells)
    # The key is over the resolved run: a default written out is the same cell,
    # and any field that changes the run changes it.
    one = cells[0].request
    assert cell_key(replace(one, model="gan2d"), registry) == cells[0].key
    assert cell_key(replace(one, steps=None, batch_size=None), registry) != cells[0].key
    assert cell_key(replace(one, data_dir="/elsewhere"), registry) == cells[0].key
    for change in ({"seed": 9}, {"eval_samples": 300}, {"threads": 2}, {"tricks": ("ema",)}):
        assert cell_key(replace(one, **change), registry) != cells[0].key


@pytest.mark.parametrize(
    ("text", "fragments"),
    [
        ('models = ["gan2d"]\ndatasets = ["ring8"]\nsteps = 2', ["unknown key 'steps'", "budget"]),
        ('models = ["no-such-gan"]\ndatasets = ["ring8"]', ["models[0]", "'no-such-gan'", "gan2d"]),
        ('models = ["gan2d"]\ndatasets = ["ring9"]', ["datasets[0]", "'ring9'", "ring8"]),
        (
            'models = ["gan2d"]\ndatasets = ["ring8"]\ntricks = [["nope"]]',
            ["tricks[0][0]", "'nope'", "ema"],
        ),
        ('models = ["pacgan:x"]\ndatasets = ["ring8"]', ["models[0]", "pacgan"]),
        ('models = ["gan2d"]\ndatasets = ["ring8"]\nseeds = [-1]', ["seeds[0]", ">= 0"]),
        (
            'models = ["gan2d"]\ndatasets = ["ring8"]\nuntrained = "yes"',
            ["untrained", "true or false"],
        ),
        (
            '[[row]]\nmodel = "gan2d"\ndataset = "ring8"\nbatch = 3',
            ["row[0]", "'batch'", "batch_size"],
        ),
        ('[[row]]\nmodel = "gan2d"', ["row[0]", "dataset is missing"]),
        ('models = ["gan2d"]\ndatasets = ["ring8"]\n[budget.ring9]\nsteps = 2', ["'ring9'"]),
        ('models = ["gan2d"]\ndatasets = ["ring8"]\ndevice = "tpu"', ["'tpu'", "cpu"]),
        ('models = ["gan2d"', ["not valid TOML"]),
        ("description = 'nothing'", ["no runs"]),
    ],
)
def test_a_bad_sweep_file_is_one_line_and_exit_2(tmp_path, capsys, text, fragments) -> None:
    code, _, err = _sweep(tmp_path, capsys, _write(tmp_path, text))
    line = one_error_line(err)
    assert code == 2 and "sweep.toml" in line, line
    for fragment in fragments:
        assert fragment in line, line
    assert not (tmp_path / "runs").exists() and not (tmp_path / "s.sqlite").exists()


def test_a_model_that_does_not_fit_its_dataset_is_refused_before_any_run(tmp_path, capsys) -> None:
    path = _write(tmp_path, COMMON + '[[row]]\nmodel = "cgan"\ndataset = "ring8"\nsteps = 2\n')
    code, _, err = _sweep(tmp_path, capsys, path)
    assert code == 2 and "cgan" in one_error_line(err)
    assert _folders(tmp_path) == set()


def _store_run(store: Path, run_id: str) -> dict:
    conn = sqlite3.connect(store)
    try:
        row = conn.execute("SELECT record_json FROM runs WHERE run_id = ?", (run_id,)).fetchone()
        return json.loads(row[0])
    finally:
        conn.close()


def test_sweep_runs_skips_resumes_and_matches_ganbench_run(tmp_path, capsys) -> None:
    path = _write(
        tmp_path,
        COMMON
        + """
models = ["gan2d"]
datasets = ["ring8"]
seeds = [0, 1, 2]
untrained = true
[budget]
steps = 2
batch_size = 100
""",
    )
    store = tmp_path / "s.sqlite"
    code, out, err = _sweep(tmp_path, capsys, path, "--workers", "2")
    assert code == 0, err
    cells = _cells_table(store)
    assert len(cells) == 4 and {c[0] for c in cells.values()} == {"completed"}
    run_ids = [c[1] for c in cells.values()]
    assert len(set(run_ids)) == 4 and _folders(tmp_path) == set(run_ids)
    for key, (_, run_id, attempts, _) in cells.items():
        assert _store_run(store, run_id)["cell_key"] == key and attempts == 1
    assert "4 cells: 4 completed" in out

    # Again: every cell is skipped, nothing runs.
    code, out, err = _sweep(tmp_path, capsys, path, "--workers", "2")
    assert code == 0, err
    assert _cells_table(store) == cells and _folders(tmp_path) == set(run_ids)
    assert "4 of them stored before" in out and "stored before" in out
    code, out, _ = _sweep(tmp_path, capsys, path, "--dry-run")
    assert code == 0 and out.count("done (completed") == 4

    # The same cell through `ganbench run` gives the same numbers.
    seed1 = next(_store_run(store, c[1]) for c in cells.values() if "-s1-" in c[1])
    code, out, err = run_cli(
        ["run", "--plugin", "gan2d", "--dataset", "ring8", "--seed", "1", "--steps", "2",
         "--batch-size", "100", "--eval-samples", "200", "--threads", "1", "--device", "cpu",
         "--runs-dir", str(tmp_path / "single"), "--store", str(tmp_path / "single.sqlite"),
         "--json"],
        capsys,
    )  # fmt: skip
    assert code == 0, err
    single = json.loads(out)
    assert single["metrics"] == seed1["metrics"] and single["metrics"]
    assert single["cell_key"] is None

    # A cell killed after training, before its record: its folder is resumed, not rerun.
    key, (_, run_id, _, _) = next(iter(cells.items()))
    (tmp_path / "runs" / run_id / "record.json").unlink()
    conn = sqlite3.connect(store)
    with conn:
        conn.execute("DELETE FROM sweep_cells WHERE cell_key = ?", (key,))
        conn.execute("DELETE FROM runs WHERE run_id = ?", (run_id,))
    conn.close()
    before = _store_run(store, next(iter(set(run_ids) - {run_id})))  # untouched
    code, out, err = _sweep(tmp_path, capsys, path, "--dry-run")
    assert f"to resume from {tmp_path / 'runs' / run_id}" in out
    code, out, err = _sweep(tmp_path, capsys, path)
    assert code == 0, err
    after = _cells_table(store)
    assert after[key][:2] == ("completed", run_id) and _folders(tmp_path) == set(run_ids)
    assert "resumed" in out
    assert _store_run(store, before["run_id"]) == before


def test_a_failing_cell_is_retried_then_recorded_failed(tmp_path, capsys, monkeypatch) -> None:
    failures = tmp_path / "failures.log"
    monkeypatch.setenv("SWEEP_TEST_FAILURES", str(failures))
    path = _write(
        tmp_path, COMMON + '[[row]]\nmodel = "failing-gan"\ndataset = "ring8"\nsteps = 2\n'
    )
    plugins = ["--plugins-dir", str(PLUGINS)]
    code, out, err = _sweep(tmp_path, capsys, path, "--retries", "2", *plugins)
    assert code == 1
    assert failures.read_text().count("failed\n") == 3  # the attempt and 2 retries
    ((status, run_id, attempts, error),) = _cells_table(tmp_path / "s.sqlite").values()
    assert (status, run_id, attempts) == ("failed", None, 3) and "boom" in error
    assert "failed" in err and "boom" in err
    # The next sweep tries the failed cell again.
    code, _, _ = _sweep(tmp_path, capsys, path, "--retries", "0", *plugins)
    assert code == 1 and failures.read_text().count("failed\n") == 4


def test_a_killed_sweep_finishes_without_rerunning_stored_cells(tmp_path, capsys) -> None:
    path = _write(
        tmp_path,
        COMMON
        + """
models = ["gan2d"]
datasets = ["ring8"]
seeds = [0, 1, 2]
[budget]
steps = 2
batch_size = 100
""",
    )
    store = tmp_path / "s.sqlite"
    argv = [sys.executable, "-m", "ganbench.cli.main", "sweep", str(path), "--store", str(store),
            "--runs-dir", str(tmp_path / "runs"), "--quiet"]  # fmt: skip
    process = subprocess.Popen(
        argv, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        deadline = time.monotonic() + 120
        stored: dict[str, tuple] = {}
        while not stored and time.monotonic() < deadline and process.poll() is None:
            time.sleep(0.2)
            if store.exists():
                try:
                    stored = {k: v for k, v in _cells_table(store).items() if v[0] == "completed"}
                except sqlite3.OperationalError:
                    stored = {}  # the table is being created
        assert stored, process.stderr.read().decode() if process.poll() is not None else "timeout"
    finally:
        os.killpg(process.pid, signal.SIGKILL)  # the driver and its workers
        process.wait()
    first = dict(stored)
    code, out, err = _sweep(tmp_path, capsys, path)
    assert code == 0, err
    cells = _cells_table(store)
    assert len(cells) == 3 and {c[0] for c in cells.values()} == {"completed"}
    for key, row in first.items():
        assert cells[key][1] == row[1]  # the stored cell kept its run
    run_ids = {c[1] for c in cells.values()}
    assert run_ids <= _folders(tmp_path)
    assert f"{len(first)} of them stored before" in out
