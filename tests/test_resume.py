"""Resume after a real kill: ``ganbench run --resume`` ends with the numbers of an
uninterrupted run, bit for bit.

The interrupted run is a real ``ganbench run`` process, killed with SIGKILL
(no clean-up, no ``finally``) between two checkpoints, so the resumed run has
to redo the steps after the last checkpoint exactly as the first process
took them: same batches, same latents, same optimizer moments, same
validation-selected checkpoint.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from cli_helpers import one_error_line

from ganbench.cli.main import main
from ganbench.registry import load_registry
from ganbench.results.store import ResultsStore
from ganbench.run.preparation import prepare_run
from ganbench.run.request import CONFIG_FILE, RunRequest

#: Step budget and checkpoint spacing of the killed run. The checkpoint
#: spacing is deliberately not a multiple of the loss-logging window (10
#: steps), so a resume starts in the middle of a window.
STEPS = 300
EVERY = 35
#: Kill once ``last.pt`` holds at least this step (most likely 105, in the
#: middle of a window): leaves ~200 steps (seconds) of margin before the
#: process could finish by itself.
KILL_AFTER = 100
#: Fewer evaluation samples than the dataset's 1000 keep validations cheap.
EVAL_SAMPLES = 250
#: Give up waiting for the checkpoint after this many seconds.
POLL_TIMEOUT_S = 120.0


def cli_env() -> dict[str, str]:
    """The test's environment for ``ganbench`` subprocesses.

    Inherits ``GANBENCH_CACHE_DIR`` from the session fixture (the digits
    evaluator is trained once per session). One intra-op thread for every
    process: the three runs compared here must use the same thread count,
    and one thread keeps a loaded 2-core machine from oversubscribing.
    """
    env = dict(os.environ)
    env["OMP_NUM_THREADS"] = "1"
    env["MKL_NUM_THREADS"] = "1"
    return env


@pytest.fixture(scope="module")
def digits_evaluator() -> None:
    """Train (or find) the session's cached digits evaluator once, up front.

    Otherwise the killed and the reference run, started together, would
    both train it. One thread, like the subprocesses: two threads on a busy
    2-core machine are several times slower, not faster.
    """
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        prepare_run(RunRequest(model="dcgan", dataset="digits"), load_registry())
    finally:
        torch.set_num_threads(threads)


def run_args(runs_dir: Path, store: Path) -> list[str]:
    return [
        sys.executable,
        "-m",
        "ganbench.cli.main",
        "run",
        "--plugin",
        "dcgan",
        "--dataset",
        "digits",
        "--steps",
        str(STEPS),
        "--checkpoint-every",
        str(EVERY),
        "--eval-samples",
        str(EVAL_SAMPLES),
        # What is resumed is training; the attacks would double each evaluation.
        "--skip-metric",
        "attack-robustness",
        "--quiet",
        "--runs-dir",
        str(runs_dir),
        "--store",
        str(store),
    ]


def checkpoint_step(path: Path) -> int | None:
    """The step saved in ``path``, or None if it is not there (yet)."""
    if not path.is_file():
        return None
    # Checkpoints are replaced atomically, so a read never sees half a file.
    return int(torch.load(path, map_location="cpu", weights_only=True)["step"])


def start_and_kill(runs_dir: Path, store: Path) -> tuple[Path, int]:
    """Start a run, SIGKILL it once ``last.pt`` is at step >= KILL_AFTER; (run dir, step)."""
    proc = subprocess.Popen(
        run_args(runs_dir, store),
        env=cli_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + POLL_TIMEOUT_S
        while True:
            if proc.poll() is not None:
                pytest.fail(
                    f"the run ended (exit {proc.returncode}) before it could be killed at "
                    f"step >= {KILL_AFTER}; stderr: {proc.stderr.read().decode()[-2000:]}"
                )
            if time.monotonic() > deadline:
                pytest.fail(f"no checkpoint at step >= {KILL_AFTER} after {POLL_TIMEOUT_S} s")
            run_dirs = [p for p in runs_dir.iterdir() if p.is_dir()] if runs_dir.exists() else []
            if run_dirs:
                step = checkpoint_step(run_dirs[0] / "checkpoints" / "last.pt")
                if step is not None and step >= KILL_AFTER:
                    proc.send_signal(signal.SIGKILL)
                    proc.wait(timeout=30)
                    break
            time.sleep(0.02)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=30)
        proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL, (
        f"the run ended by itself (exit {proc.returncode}) instead of being killed"
    )
    (run_dir,) = run_dirs
    # What the resumed run will start from (the kill may land after another save).
    killed_at = checkpoint_step(run_dir / "checkpoints" / "last.pt")
    assert killed_at is not None and KILL_AFTER <= killed_at < STEPS, killed_at
    assert not (run_dir / "record.json").exists(), "a killed run must not have a record"
    return run_dir, killed_at


def start_json(argv: list[str]) -> subprocess.Popen[str]:
    """Start a ``ganbench`` subprocess that prints its record with ``--json``."""
    return subprocess.Popen(
        argv, env=cli_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def json_of(proc: subprocess.Popen[str]) -> dict:
    """Wait for ``proc`` and read its record."""
    try:
        out, err = proc.communicate(timeout=300)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err[-3000:]
    return json.loads(out)


@pytest.mark.usefixtures("digits_evaluator")
def test_killed_run_resumes_to_the_uninterrupted_numbers(tmp_path: Path) -> None:
    # The uninterrupted run goes alongside (one thread each, two cores): it
    # shares nothing with the killed run but the read-only evaluator cache.
    reference_proc = start_json(
        run_args(tmp_path / "reference" / "runs", tmp_path / "reference" / "results.sqlite")
        + ["--json"]
    )
    try:
        store = tmp_path / "killed" / "results.sqlite"
        run_dir, killed_at = start_and_kill(tmp_path / "killed" / "runs", store)
        assert not store.exists() or ResultsStore(store).runs(kind="model") == []
        resumed = json_of(
            start_json(
                [
                    sys.executable,
                    "-m",
                    "ganbench.cli.main",
                    "run",
                    "--resume",
                    str(run_dir),
                    "--runs-dir",
                    str(tmp_path / "killed" / "runs"),
                    "--store",
                    str(store),
                    "--json",
                    "--quiet",
                ]
            )
        )
    finally:
        reference = json_of(reference_proc)

    assert resumed["status"] == reference["status"] == "completed"
    assert resumed["steps_done"] == reference["steps_done"] == STEPS
    assert resumed["metrics"], "a completed digits run reports metrics"
    # Exactly equal floats, not approximately: the resumed run is the same computation.
    assert resumed["metrics"] == reference["metrics"]
    assert resumed["selected_step"] == reference["selected_step"]
    assert resumed["run_id"] == run_dir.name

    # The curves (losses averaged per 10 steps, validation values) match too,
    # although the kill landed in the middle of a logging window.
    assert (run_dir / "curves.csv").read_text() == (
        Path(reference["run_dir"]) / "curves.csv"
    ).read_text(), f"curves differ after resuming from step {killed_at}"

    stored = ResultsStore(store).get(run_dir.name)
    assert stored is not None and stored.status == "completed"
    assert stored.metrics == reference["metrics"]


@pytest.mark.usefixtures("digits_evaluator")
def test_resume_from_a_corrupt_checkpoint_is_one_error_line(tmp_path: Path) -> None:
    runs_dir, store = tmp_path / "runs", tmp_path / "results.sqlite"
    run_dir = runs_dir / "dcgan-digits-s0-corrupt"
    (run_dir / "checkpoints").mkdir(parents=True)
    request = RunRequest(model="dcgan", dataset="digits", steps=STEPS, checkpoint_every=EVERY)
    (run_dir / CONFIG_FILE).write_text(
        json.dumps({"run_id": run_dir.name, "request": request.to_json()})
    )
    garbage = b"\x00\xffnot a checkpoint\x13\x37" * 40
    last = run_dir / "checkpoints" / "last.pt"
    last.write_bytes(garbage)

    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "ganbench.cli.main",
            "run",
            "--resume",
            run_dir.name,
            "--runs-dir",
            str(runs_dir),
            "--store",
            str(store),
            "--json",
            "--quiet",
        ],
        env=cli_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 2, done.stderr
    line = one_error_line(done.stderr)
    assert str(last) in line, line
    assert done.stdout == ""
    # Nothing written: no store, no record, the bad checkpoint left for inspection.
    assert not store.exists() or ResultsStore(store).runs() == []
    assert sorted(p.name for p in run_dir.iterdir()) == ["checkpoints", CONFIG_FILE]
    assert last.read_bytes() == garbage
    assert [p.name for p in runs_dir.iterdir()] == [run_dir.name]


def test_resume_of_an_unknown_run_is_one_error_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    runs_dir, store = tmp_path / "runs", tmp_path / "results.sqlite"
    code = main(
        [
            "run",
            "--resume",
            "no-such-run",
            "--runs-dir",
            str(runs_dir),
            "--store",
            str(store),
            "--quiet",
        ]
    )
    out, err = capsys.readouterr()
    assert code == 2, err
    line = one_error_line(err)
    assert "no-such-run" in line, line
    assert out == ""
    assert not store.exists()
    assert not runs_dir.exists() or not any(runs_dir.iterdir())
