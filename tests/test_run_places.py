"""Every place a command writes is checked before any work, and a finished run
whose store was unreachable is not lost: ``ganbench store add`` puts it in later."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from cli_helpers import one_error_line, run_cli

import ganbench.run.runner as runner_module
from ganbench.results.store import ResultsStore

#: A short, cheap run: a few steps of the MLP GAN on digits, FID only.
SHORT_RUN = [
    "run",
    "--plugin",
    "gan",
    "--steps",
    "4",
    "--checkpoint-every",
    "2",
    "--eval-samples",
    "100",
    "--metric",
    "fid",
    "--quiet",
]


def _can_create_in(folder: Path) -> bool:
    try:
        (folder / "probe").touch()
    except OSError:
        return False
    (folder / "probe").unlink()
    return True


@contextlib.contextmanager
def read_only(folder: Path) -> Iterator[Path]:
    """``folder`` made unwritable for this process, even as root (immutable flag)."""
    folder.mkdir(parents=True, exist_ok=True)
    if os.geteuid() == 0:
        if shutil.which("chattr") is None:
            pytest.skip("running as root without chattr: cannot make a folder read-only")
        made = subprocess.run(["chattr", "+i", str(folder)], capture_output=True)
        undo = ["chattr", "-i", str(folder)]
    else:
        folder.chmod(0o555)
        made, undo = subprocess.CompletedProcess([], 0), ["chmod", "755", str(folder)]
    try:
        if made.returncode != 0 or _can_create_in(folder):
            pytest.skip("this file system cannot make a folder read-only")
        yield folder
    finally:
        subprocess.run(undo, capture_output=True)


@pytest.fixture
def no_work(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail the test if a run gets as far as preparing (loading data, building models)."""

    def refuse(*args, **kwargs):
        raise AssertionError("the run started work before its places were checked")

    monkeypatch.setattr(runner_module, "prepare_run", refuse)


def _entries(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


@pytest.mark.usefixtures("no_work")
def test_runs_dir_that_is_a_file_is_refused_up_front(tmp_path: Path, capsys) -> None:
    runs = tmp_path / "runs.txt"
    runs.write_text("not a folder")
    code, out, err = run_cli([*SHORT_RUN, "--runs-dir", str(runs)], capsys)
    assert code == 2
    line = one_error_line(err)
    assert str(runs) in line and "--runs-dir" in line and "not a folder" in line
    assert runs.read_text() == "not a folder" and out == ""


@pytest.mark.usefixtures("no_work")
def test_store_that_is_a_folder_or_not_a_database_is_refused_up_front(
    tmp_path: Path, capsys
) -> None:
    folder = tmp_path / "store"
    folder.mkdir()
    code, _, err = run_cli([*SHORT_RUN, "--store", str(folder)], capsys)
    assert code == 2 and "is a folder, not a file" in one_error_line(err)

    garbage = tmp_path / "results.sqlite"
    garbage.write_bytes(b"this is not SQLite" * 10)
    code, _, err = run_cli([*SHORT_RUN, "--store", str(garbage)], capsys)
    line = one_error_line(err)
    assert code == 2 and str(garbage) in line and "not an SQLite database" in line
    assert garbage.read_bytes() == b"this is not SQLite" * 10
    assert _entries(tmp_path / "runs") == []


@pytest.mark.usefixtures("no_work")
def test_read_only_places_are_refused_up_front(
    tmp_path: Path, capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    with read_only(tmp_path / "locked") as locked:
        code, _, err = run_cli([*SHORT_RUN, "--runs-dir", str(locked / "runs")], capsys)
        assert code == 2 and "not writable" in one_error_line(err)

        code, _, err = run_cli([*SHORT_RUN, "--store", str(locked / "r.sqlite")], capsys)
        line = one_error_line(err)
        assert code == 2 and "results store" in line and "not writable" in line

        monkeypatch.setenv("GANBENCH_CACHE_DIR", str(locked / "cache"))
        code, _, err = run_cli(SHORT_RUN, capsys)
        assert code == 2 and "GANBENCH_CACHE_DIR" in one_error_line(err)
        assert _entries(locked) == []


def test_leaderboard_build_checks_its_output_folder_first(tmp_path: Path, capsys) -> None:
    store = tmp_path / "results.sqlite"
    ResultsStore(store)
    with read_only(tmp_path / "site") as site:
        code, _, err = run_cli(
            ["leaderboard", "build", "--store", str(store), "--out", str(site / "boards")], capsys
        )
        assert code == 2 and "--out" in one_error_line(err)
        assert _entries(site) == []
    not_sqlite = tmp_path / "other.sqlite"
    not_sqlite.write_text("plain text")
    code, _, err = run_cli(["leaderboard", "build", "--store", str(not_sqlite)], capsys)
    assert code == 2 and "not an SQLite database" in one_error_line(err)


def test_a_run_whose_store_fails_at_the_end_is_kept_and_added_later(
    tmp_path: Path, capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    runs = tmp_path / "runs"
    with read_only(tmp_path / "locked") as locked:
        # The store's folder turns read-only during the run: the up-front
        # check passed, the write at the end fails.
        monkeypatch.setattr(runner_module, "check_run_places", lambda places: None)
        code, _, err = run_cli(
            [*SHORT_RUN, "--runs-dir", str(runs), "--store", str(locked / "r.sqlite")], capsys
        )
    line = one_error_line(err)
    assert code == 2 and "ganbench store add" in line
    (run_dir,) = runs.iterdir()
    assert str(run_dir) in line
    record = json.loads((run_dir / "record.json").read_text())
    assert record["status"] == "completed"

    store = tmp_path / "later.sqlite"
    code, out, _ = run_cli(["store", "add", str(run_dir), "--store", str(store)], capsys)
    assert code == 0 and f"{run_dir.name}: added" in out
    assert "no real-data row" in out  # honest: the reference row was never computed
    assert ResultsStore(store).get(run_dir.name).metrics == record["metrics"]

    # Idempotent: the same run again changes nothing; by run id works too.
    code, out, _ = run_cli(
        ["store", "add", run_dir.name, "--runs-dir", str(runs), "--store", str(store)], capsys
    )
    assert code == 0 and "unchanged" in out
    assert len(ResultsStore(store).runs()) == 1


def test_store_add_refuses_unfinished_corrupt_and_edited_runs(tmp_path: Path, capsys) -> None:
    runs, store = tmp_path / "runs", tmp_path / "results.sqlite"
    code, _, _ = run_cli([*SHORT_RUN, "--runs-dir", str(runs), "--store", str(store)], capsys)
    assert code == 0
    (done,) = runs.iterdir()
    record = json.loads((done / "record.json").read_text())
    target = tmp_path / "other.sqlite"

    unfinished = runs / "unfinished"
    unfinished.mkdir()
    shutil.copy(done / "config.json", unfinished / "config.json")
    code, _, err = run_cli(["store", "add", str(unfinished), "--store", str(target)], capsys)
    assert code == 2 and "--resume" in one_error_line(err)

    (done / "record.json").write_text("{ not json")
    code, _, err = run_cli(["store", "add", str(done), "--store", str(target)], capsys)
    assert code == 2 and "corrupt" in one_error_line(err)

    record["metrics"] = {name: 0.0 for name in record["metrics"]}
    record["protocol"]["n_fake"] = 1  # a number moved to another protocol
    (done / "record.json").write_text(json.dumps(record))
    code, _, err = run_cli(["store", "add", str(done), "--store", str(target)], capsys)
    assert code == 2 and "edited" in one_error_line(err)
    assert not target.exists() or ResultsStore(target).runs() == []


def test_threads_flag_is_applied_recorded_and_undone(tmp_path: Path, capsys) -> None:
    import torch

    before = torch.get_num_threads()
    code, out, _ = run_cli([*SHORT_RUN, "--threads", "1", "--json"], capsys)
    assert code == 0
    protocol = json.loads(out)["protocol"]
    assert protocol["threads"]["torch"] == 1
    assert all(pool.endswith(":1") for pool in protocol["threads"]["numpy_blas"])
    assert protocol["torch_build"]["blas"]  # the BLAS torch was built with, by name
    assert torch.get_num_threads() == before
