"""A NaN or infinite loss ends the run as ``diverged``, at its step: recorded, not raised.

The models come from a test plugin folder (``tests/divergence_plugins``):
``nan-gan`` gets a NaN loss at step 3, ``inf-gan`` an infinite one at step 5.
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

from ganbench.cli.main import main
from ganbench.registry import load_registry
from ganbench.results.store import ResultsStore
from ganbench.run.request import RunRequest

PLUGINS = Path(__file__).parent / "divergence_plugins"
#: model -> the step whose loss is not finite.
BREAKS = {"nan-gan": 3, "inf-gan": 5}
STEPS = 20


@pytest.fixture(autouse=True)
def _one_thread() -> Iterator[None]:
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def run_model(capsys: pytest.CaptureFixture[str], model: str, store: Path, runs: Path) -> dict:
    """``ganbench run`` of a breaking model; its JSON record."""
    code, out, err = run_cli(
        capsys,
        "run",
        "--plugins-dir",
        str(PLUGINS),
        "--plugin",
        model,
        "--dataset",
        "ring8",
        "--steps",
        str(STEPS),
        "--batch-size",
        "64",
        "--checkpoint-every",
        "2",
        "--eval-samples",
        "500",
        "--runs-dir",
        str(runs),
        "--store",
        str(store),
        "--json",
        "--quiet",
    )
    assert code == 0, err
    assert "Traceback" not in err, err
    return json.loads(out)


def test_the_test_models_break_as_described() -> None:
    """``inf-gan``'s generator loss is +inf (not NaN) at its step; ``nan-gan``'s D loss is NaN."""
    from ganbench.api import DStepSchedule, StepContext
    from ganbench.run.preparation import prepare_run
    from ganbench.train.batches import BatchStream
    from ganbench.train.trick_chain import TrickChain

    registry = load_registry(PLUGINS)
    for model_name, break_at in BREAKS.items():
        prep = prepare_run(RunRequest(model=model_name, dataset="ring8", batch_size=64), registry)
        model = prep.model
        stream = BatchStream(prep.dataset.splits["train"], 64, seed=0)
        ctx = StepContext(
            step=0,
            total_steps=STEPS,
            device=prep.device,
            model=model,
            optimizers=dict(model.configure_optimizers()),
            hooks=TrickChain(),
            schedule=DStepSchedule(),
            d_steps=1,
            next_batch=stream.next,
        )
        for step in range(break_at + 1):
            ctx.step = step
            losses = {k: float(v) for k, v in model.train_step(stream.next(), ctx).items()}
            finite = all(math.isfinite(v) for v in losses.values())
            assert finite == (step < break_at), (model_name, step, losses)
        if model_name == "inf-gan":
            assert math.isfinite(losses["loss_d"]) and losses["loss_g"] == math.inf, losses
        else:
            assert math.isnan(losses["loss_d"]), losses


@pytest.mark.parametrize("model", sorted(BREAKS))
def test_non_finite_loss_ends_the_run_as_diverged(
    model: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store, runs = tmp_path / "results.sqlite", tmp_path / "runs"
    record = run_model(capsys, model, store, runs)

    assert record["status"] == "diverged"
    assert record["diverged_at_step"] == BREAKS[model]
    assert record["steps_done"] == BREAKS[model]
    assert record["steps"] == STEPS
    assert record["metrics"] == {}
    assert record["selected_step"] is None  # nothing evaluated, so nothing selected

    run_dir = Path(record["run_dir"])
    assert json.loads((run_dir / "record.json").read_text())["status"] == "diverged"
    stored = ResultsStore(store).get(record["run_id"])
    assert stored is not None
    assert stored.status == "diverged"
    assert stored.diverged_at_step == BREAKS[model]
    assert stored.metrics == {}
    # A diverged run adds no real-data reference row (nothing was evaluated).
    assert [r.run_id for r in ResultsStore(store).runs()] == [record["run_id"]]

    # The divergence is in the checkpoint too: resuming does not train on.
    last = torch.load(run_dir / "checkpoints" / "last.pt", map_location="cpu", weights_only=True)
    assert last["status"] == "diverged" and last["diverged_at_step"] == BREAKS[model]
    code, out, err = run_cli(
        capsys,
        "run",
        "--plugins-dir",
        str(PLUGINS),
        "--resume",
        record["run_id"],
        "--runs-dir",
        str(runs),
        "--store",
        str(store),
        "--json",
        "--quiet",
    )
    assert code == 0, err
    resumed = json.loads(out)
    assert (resumed["status"], resumed["diverged_at_step"], resumed["steps_done"]) == (
        "diverged",
        BREAKS[model],
        BREAKS[model],
    )


def test_leaderboard_counts_diverged_runs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store, runs, out_dir = tmp_path / "results.sqlite", tmp_path / "runs", tmp_path / "boards"
    for model in sorted(BREAKS):
        run_model(capsys, model, store, runs)
    code, _, err = run_cli(
        capsys, "leaderboard", "build", "--store", str(store), "--out", str(out_dir)
    )
    assert code == 0, err

    with (out_dir / "unconditional" / "ring8.csv").open(newline="") as handle:
        rows = {row["model"]: row for row in csv.DictReader(handle)}
    assert set(rows) == set(BREAKS)
    for row in rows.values():
        assert (row["n_seeds"], row["n_diverged"]) == ("0", "1"), row
        assert row["rank"] == "", row  # nothing completed: nothing to rank
    markdown = (out_dir / "unconditional" / "ring8.md").read_text()
    assert "nan-gan" in markdown and "inf-gan" in markdown
