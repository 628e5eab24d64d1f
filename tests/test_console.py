"""Output that is not a terminal (CI logs, pipes) arrives whole: no cut tables, no redrawn bars."""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_helpers import run_cli

from ganbench.console import NON_TERMINAL_WIDTH, make_console
from ganbench.progress import EvaluationProgress, TrainingProgress

ELLIPSIS = "…"
BAR = "━"


def test_non_terminal_consoles_are_wide(monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    monkeypatch.delenv("COLUMNS", raising=False)
    for stderr in (False, True):
        console = make_console(stderr=stderr)
        assert not console.is_terminal  # pytest captures both streams
        assert console.width == NON_TERMINAL_WIDTH
    monkeypatch.setenv("COLUMNS", "123")
    assert make_console().width == 123  # whoever set COLUMNS asked for that width


def test_plugins_table_is_not_cut(monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    monkeypatch.delenv("COLUMNS", raising=False)
    code, out, _ = run_cli(["plugins"], capsys)
    assert code == 0
    assert ELLIPSIS not in out
    # ganbench-core's long list of registrations stays on its row, unwrapped.
    (core,) = [line for line in out.splitlines() if "ganbench-core" in line]
    assert "metrics: attack-robustness, caption-match, class-coverage" in core


def test_training_progress_off_a_terminal_is_a_few_plain_lines(capsys) -> None:
    with TrainingProgress(1000, "dcgan on digits", quiet=False) as progress:
        for step in range(1, 1001):
            progress.update(step, {"loss_d": 1.25, "loss_g": 0.75})
    err = capsys.readouterr().err
    lines = err.splitlines()
    assert lines[0] == "dcgan on digits: 1000 steps"
    assert len(lines) == 11  # the start, then one line per tenth
    assert lines[1].startswith("dcgan on digits: 100/1000 steps, loss_d=1.250 loss_g=0.750, ")
    assert lines[-1].startswith("dcgan on digits: 1000/1000 steps")
    assert BAR not in err and ELLIPSIS not in err


def test_a_run_stopped_early_says_where(capsys) -> None:
    with TrainingProgress(100, "gan on ring8", quiet=False) as progress:
        for step in range(1, 38):
            progress.update(step, {})
    assert capsys.readouterr().err.splitlines()[-1] == "gan on ring8: stopped at 37/100 steps"


def test_quiet_progress_prints_nothing(capsys) -> None:
    with TrainingProgress(10, "t", quiet=True) as training:
        training.update(10, {"loss": 1.0})
        training.note("validation")
    with EvaluationProgress("evaluating", quiet=True) as evaluation:
        evaluation.phase("metric fid")
        evaluation.update(1, 2)
    assert capsys.readouterr() == ("", "")


def test_a_run_in_a_ci_log_keeps_long_paths_and_shows_its_phases(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    monkeypatch.delenv("COLUMNS", raising=False)
    runs = tmp_path.joinpath(*(["a-folder-name-long-enough-to-pass-eighty-columns"] * 3))
    argv = ["run", "--plugin", "gan", "--dataset", "ring8", "--steps", "10"]
    argv += ["--checkpoint-every", "5", "--eval-samples", "200", "--runs-dir", str(runs)]
    code, out, err = run_cli(argv, capsys)
    assert code == 0, err
    assert ELLIPSIS not in out and ELLIPSIS not in err
    (where,) = [line for line in out.splitlines() if "files in" in line]
    assert str(runs) in where  # one line, whole path
    assert "(primary)" in out
    # Training and then every evaluation phase, as plain lines on stderr.
    assert BAR not in err
    assert "gan on ring8: 10/10 steps" in err
    phases = [line for line in err.splitlines() if line.startswith("evaluating gan on ring8: ")]
    assert any("sampling 200 fakes" in line for line in phases)
    assert any("metric fid" in line for line in phases)
    assert phases[-1].startswith("evaluating gan on ring8: done in ")

    code, out, err = run_cli([*argv, "--quiet"], capsys)
    assert code == 0 and (out, err) == ("", "")  # --quiet silences training and evaluation
