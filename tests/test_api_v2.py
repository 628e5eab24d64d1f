"""What plugin API 2 promises a user: every claim checked, every bad input one line.

A trick is never recorded while doing nothing (the kit and the run refuse a
model whose step skips its hook points); a metric that cannot apply is
refused before training; model parameters parse like trick parameters; a
plugin written for API 1 gets the one-line mismatch message.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_helpers import one_error_line, run_cli

from ganbench.registry import load_registry
from ganbench.testing import check_model, failures

PLUGINS = Path(__file__).parent / "api_v2_plugins"


def test_the_kit_fails_a_model_whose_step_skips_the_hooks() -> None:
    registry = load_registry(PLUGINS)
    results = check_model(registry.model("hook-skipper"), registry)
    failed = {r.check.split(" [")[0]: r.detail for r in failures(results)}
    assert set(failed) == {"train step reaches every hook point in order"}, failed
    assert "targets is never reached" in failed["train step reaches every hook point in order"]


def test_a_run_refuses_a_trick_the_models_step_never_reaches(tmp_path: Path, capsys) -> None:
    argv = ["--plugins-dir", str(PLUGINS), "run", "--plugin", "hook-skipper", "--trick",
            "gradient-penalty", "--steps", "2", "--metric", "fid", "--eval-samples", "50",
            "--runs-dir", str(tmp_path / "runs"), "--store", str(tmp_path / "s.sqlite")]  # fmt: skip
    code, _, err = run_cli(argv, capsys)
    line = one_error_line(err)
    assert code == 2
    assert "never reaches hook point 'loss_terms'" in line and "gradient-penalty" in line, line
    assert not (tmp_path / "runs").exists()  # refused before anything was written


def test_a_metric_that_cannot_apply_is_refused_before_training(tmp_path: Path, capsys) -> None:
    runs = tmp_path / "runs"
    argv = ["run", "--plugin", "wgan", "--metric", "attack-robustness", "--runs-dir", str(runs),
            "--store", str(tmp_path / "s.sqlite")]  # fmt: skip
    code, _, err = run_cli(argv, capsys)
    line = one_error_line(err)
    assert code == 2 and "attack-robustness" in line and "decision threshold" in line, line
    assert not runs.exists() or not any(runs.iterdir())  # nothing trained, nothing written


@pytest.mark.parametrize(
    ("plugin", "expected"),
    [
        ("pacgan:size=3", "model 'pacgan' has no parameter 'size'; valid choices: packing, body"),
        (
            "pacgan:body=resnet",
            "parameter 'body' cannot be 'resnet'; valid choices: auto, gan2d, dcgan",
        ),
        ("pacgan:two", "parameter 'packing' must be int, got 'two'"),
        ("dcgan:3", "model 'dcgan': cannot read '3'"),
    ],
)
def test_bad_model_parameters_are_one_line_errors(plugin: str, expected: str, capsys) -> None:
    code, _, err = run_cli(["run", "--plugin", plugin, "--dataset", "ring8"], capsys)
    line = one_error_line(err)
    assert code == 2 and expected in line, line


def test_a_plugin_written_for_api_one_gets_the_mismatch_message() -> None:
    registry = load_registry(PLUGINS, include_entry_points=False)
    [report] = [r for r in registry.reports if r.name == "api_one"]
    assert report.error == (
        "written for ganbench plugin API version 1, this ganbench provides version 2"
    )
