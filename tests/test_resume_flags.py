"""``ganbench run --resume`` never drops a flag silently, extends a budget on
purpose, survives a damaged ``last.pt`` and names the run it was stopped in."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_helpers import one_error_line, run_cli

from ganbench.train.loop import Trainer

#: A short run with three checkpoints (steps 2, 4, 6); FID only, to stay cheap.
BASE = ["run", "--plugin", "gan", "--checkpoint-every", "2", "--eval-samples", "100"]
BASE += ["--metric", "fid", "--quiet", "--json"]


def _run(argv: list[str], capsys) -> dict:
    code, out, err = run_cli(argv, capsys)
    assert code == 0, err
    return json.loads(out)


@pytest.fixture
def finished(tmp_path: Path, capsys) -> tuple[Path, dict]:
    """A completed 6-step run: (run folder, record)."""
    record = _run([*BASE, "--steps", "6"], capsys)
    return Path(record["run_dir"]), record


def test_conflicting_flags_are_refused_each_named(finished, capsys) -> None:
    run_dir, _ = finished
    config = (run_dir / "config.json").read_text()
    code, out, err = run_cli(
        ["run", "--resume", str(run_dir), "--plugin", "dcgan", "--seed", "3", "--steps", "2"],
        capsys,
    )
    line = one_error_line(err)
    assert code == 2 and out == ""
    for part in ("--plugin dcgan (it ran with gan)", "--seed 3 (it ran with 0)", "--steps 2"):
        assert part in line, line
    assert (run_dir / "config.json").read_text() == config


def test_matching_flags_are_accepted(finished, capsys) -> None:
    run_dir, record = finished
    again = _run(
        ["run", "--resume", str(run_dir), "--plugin", "gan", "--seed", "0", "--quiet", "--json"],
        capsys,
    )
    assert again["metrics"] == record["metrics"] and again["steps"] == 6


def test_a_larger_budget_extends_the_run_as_if_it_had_been_asked_for(finished, capsys) -> None:
    run_dir, _ = finished
    extended = _run(["run", "--resume", str(run_dir), "--steps", "10", "--quiet", "--json"], capsys)
    assert extended["steps"] == extended["steps_done"] == 10
    assert extended["protocol"]["steps_extended_from"] == 6
    config = json.loads((run_dir / "config.json").read_text())
    assert config["request"]["steps"] == 10 and config["steps_extended_from"] == 6

    # Same checkpoints (every 2 steps), same batches and latents: the numbers
    # of a run that was given 10 steps from the start.
    straight = _run([*BASE, "--steps", "10"], capsys)
    assert extended["metrics"] == straight["metrics"]
    assert extended["selected_step"] == straight["selected_step"]
    assert straight["protocol"]["steps_extended_from"] is None


def test_a_damaged_last_checkpoint_resumes_from_the_previous_one(finished, capsys) -> None:
    run_dir, record = finished
    checkpoints = run_dir / "checkpoints"
    assert {p.name for p in checkpoints.iterdir()} == {"last.pt", "previous.pt", "best.pt"}
    (checkpoints / "last.pt").write_bytes(b"\x00 damaged \xff" * 50)
    code, out, err = run_cli(["run", "--resume", str(run_dir), "--quiet", "--json"], capsys)
    assert code == 0, err
    assert "resuming from previous.pt at step 4" in err
    assert json.loads(out)["metrics"] == record["metrics"]


def test_no_intact_state_says_what_is_left(finished, capsys) -> None:
    run_dir, _ = finished
    checkpoints = run_dir / "checkpoints"
    for name in ("last.pt", "previous.pt"):
        (checkpoints / name).write_bytes(b"not a checkpoint")
    code, _, err = run_cli(["run", "--resume", str(run_dir), "--quiet"], capsys)
    line = one_error_line(err)
    assert code == 2
    assert "last.pt" in line and "previous.pt" in line
    assert "best.pt" in line and f"ganbench score dataset:digits:test {run_dir}" in line


def test_ctrl_c_names_the_run_to_resume(tmp_path: Path, capsys, monkeypatch) -> None:
    def interrupted(self, resume=False):
        raise KeyboardInterrupt

    monkeypatch.setattr(Trainer, "run", interrupted)
    code, _, err = run_cli([*BASE, "--steps", "6"], capsys)
    assert code == 130
    (run_dir,) = (tmp_path / "runs").iterdir()
    assert err.strip() == (
        f"ganbench: interrupted; resume this run with `ganbench run --resume {run_dir}`"
    )
    assert (run_dir / "config.json").is_file()
