"""The first-party tricks end to end: run, resume, and score of the run folder.

Each trick trains DCGAN on the digits for a few steps. A run of 6 steps
must equal a run of 3 steps resumed to 6 (the trick's state and any layer
it wraps survive the checkpoint), ``ganbench score RUN`` of the resumed
run's folder must give the run's own numbers (the score path rebuilds the
model with the run's tricks and evaluates the weights the run evaluated),
and the trick must change the numbers against the run without it.
"""

from __future__ import annotations

import contextlib
import io
import json

import pytest

from ganbench.cli.main import main

TRICKS = {
    "gradient-penalty": "gradient-penalty",
    "ema": "ema:0.5",  # a short memory, so that 6 steps average visibly
    "spectral-norm": "spectral-norm",
    "spherical-latent": "spherical-latent",
    "d-pretrain": "d-pretrain:5",
    "label-smoothing": "label-smoothing",
    "label-flip": "label-flip:0.3",  # more flips than the default, in 6 steps
    # The horizon is fixed: by default it is the budget, which a resume to 6 steps changes.
    "instance-noise": "instance-noise:sigma=0.1,anneal_steps=6",
    "uniform-latent": "uniform-latent",
    "dcgan-init": "dcgan-init:0.05",  # dcgan draws N(0, 0.02) itself
    "d-dropout": "d-dropout",
    "ttur": "ttur",
    "d-steps": "d-steps:2",
    "r1": "r1",
    "historical-averaging": "historical-averaging",
    "smooth-gradients": "smooth-gradients",  # DCGAN's G has ReLUs
    # A fixed horizon, as for instance-noise.
    "output-noise": "output-noise:sigma=0.5,anneal_steps=6",
    "feature-matching": "feature-matching",
    "mixed-batches": "mixed-batches",  # DCGAN's D has BatchNorm
    "virtual-batch-norm": "virtual-batch-norm",  # DCGAN's G has BatchNorm
    "simultaneous-updates": "simultaneous-updates",
    "minibatch-discrimination": "minibatch-discrimination",
    "minibatch-stddev": "minibatch-stddev",
}
# early-stop is tested on its own (tests/test_early_stop.py): it changes a
# run only once validations stall, which 6 steps of DCGAN need not show.
COMMON = ["--plugin", "dcgan", "--dataset", "digits", "--eval-samples", "200"]
METRICS = "fid,is"


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> dict:
    assert main(["run", *args, "--json", "--quiet"]) == 0, capsys.readouterr().err
    return json.loads(capsys.readouterr().out)


@pytest.fixture(scope="module")
def plain(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The run without a trick (module scope, so capsys is not available: stdout is captured)."""
    runs = tmp_path_factory.mktemp("plain")
    argv = [
        "run", *COMMON, "--steps", "6", "--checkpoint-every", "3", "--metric", METRICS,
        "--runs-dir", str(runs), "--store", str(runs / "s.sqlite"), "--json", "--quiet",
    ]  # fmt: skip
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        assert main(argv) == 0
    return json.loads(buffer.getvalue())


@pytest.mark.parametrize("name", sorted(TRICKS))
def test_trick_runs_resumes_and_scores_as_it_trained(
    name: str, plain: dict, tmp_path, capsys: pytest.CaptureFixture[str]
) -> None:
    places = ["--runs-dir", str(tmp_path / "runs"), "--store", str(tmp_path / "s.sqlite")]
    trick = ["--trick", TRICKS[name], "--metric", METRICS, "--checkpoint-every", "3"]
    whole = _run(capsys, *COMMON, *trick, *places, "--steps", "6")
    assert whole["tricks"][0]["name"] == name
    short = _run(capsys, *COMMON, *trick, *places, "--steps", "3")
    resumed = _run(capsys, "--resume", short["run_dir"], "--steps", "6", *places[2:])
    assert resumed["run_id"] == short["run_id"] and resumed["steps_done"] == 6
    # Interrupted and resumed, the run is the run that was never interrupted.
    assert resumed["metrics"] == pytest.approx(whole["metrics"], rel=1e-9)
    assert resumed["selected_step"] == whole["selected_step"]

    assert main(["score", "dataset:digits:test", resumed["run_dir"], "--samples", "200",
                 "--metric", METRICS, "--json", "--quiet"]) == 0  # fmt: skip
    scored = json.loads(capsys.readouterr().out)
    for metric, value in scored["metrics"].items():
        assert value == pytest.approx(resumed["metrics"][metric], rel=1e-9), metric

    fid = "fid[digits-evaluator]"
    assert whole["metrics"][fid] != pytest.approx(plain["metrics"][fid], rel=1e-6), (
        f"{name} left the numbers of the run without it unchanged"
    )
