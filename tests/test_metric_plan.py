"""Metric checks before training: sample minimums, needs, --skip-metric, skipped defaults."""

from __future__ import annotations

import functools
import json
import os
from pathlib import Path

import numpy as np
import pytest
import torch
from cli_helpers import one_error_line, run_cli
from PIL import Image

from ganbench.data.types import Batch, DataInfo, GanDataset
from ganbench.errors import IncompatibleError, PluginContractError
from ganbench.eval.metric_plan import SKIPPED_BY_FLAG, plan_metrics, probe_inputs
from ganbench.eval.protocol import EvalSettings, evaluate_real_data
from ganbench.eval.sample_counts import EvalCounts, sample_shortfall
from ganbench.features import evaluator as evaluator_module
from ganbench.metrics.builtin import BUILTIN_METRICS
from ganbench.specs import MetricSpec, SampleMinimum
from ganbench.train import loop

METRICS = {spec.name: spec for spec in BUILTIN_METRICS}


def _image_folder(root: Path, per_class: int) -> Path:
    """Two class sub-folders of ``per_class`` random 12x12 PNGs each."""
    rng = np.random.default_rng(0)
    for name in ("cats", "dogs"):
        folder = root / name
        folder.mkdir(parents=True)
        for i in range(per_class):
            pixels = rng.integers(0, 256, (12, 12, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(folder / f"{i:02d}.png")
    return root


@pytest.fixture
def training_steps(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Records every GAN training run started (its planned steps)."""
    started: list[int] = []
    original = loop.Trainer.run

    def run(self, *args, **kwargs):
        started.append(self.settings.steps)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(loop.Trainer, "run", run)
    return started


def _nothing_written() -> None:
    runs = Path(os.environ["GANBENCH_RUNS_DIR"])
    assert not runs.exists() or not any(runs.iterdir()), list(runs.iterdir())
    assert not Path(os.environ["GANBENCH_STORE"]).exists()


def _counts(n_real: int, n_fake: int) -> EvalCounts:
    return EvalCounts(
        evaluation="the test split",
        n_real=n_real,
        n_fake=n_fake,
        real_source="the test split",
        fake_source=f"--eval-samples {n_fake}",
        real_fix="a test split of {n} or more samples",
        fake_fix="--eval-samples {n} or more",
    )


# --------------------------------------------------------------------------- declared minimums


@pytest.mark.parametrize(
    ("name", "n_real", "n_fake", "short"),
    [
        ("prdc", 5, 100, "at least 6 real samples"),  # k = 5 density balls need 6 reals
        ("prdc", 6, 3, "at least 4 generated samples"),  # k = 3 precision balls need 4 fakes
        ("is", 1000, 9, "at least 10 generated samples"),  # splits = 10
        ("fid", 1, 100, "at least 2 real samples"),
        ("kid", 100, 1, "at least 2 generated samples"),  # the subset size is clipped
    ],
)
def test_declared_minimums_name_the_shortfall(name, n_real, n_fake, short) -> None:
    reason = sample_shortfall(METRICS[name], _counts(n_real, n_fake))
    assert reason is not None and short in reason


@pytest.mark.parametrize(
    ("name", "n_real", "n_fake"), [("prdc", 6, 4), ("is", 1, 10), ("kid", 2, 2)]
)
def test_declared_minimums_are_exact(name: str, n_real: int, n_fake: int) -> None:
    assert sample_shortfall(METRICS[name], _counts(n_real, n_fake)) is None


def test_prdc_minimum_follows_its_params() -> None:
    spec = METRICS["prdc"]
    assert spec.min_samples is not None
    need = spec.min_samples({"k_precision_recall": 7, "k_density_coverage": 2})
    assert (need.real, need.fake) == (8, 8)


# --------------------------------------------------------------------------- ganbench run


def test_requested_prdc_on_a_tiny_image_folder_stops_before_training(
    tmp_path: Path, capsys, training_steps: list[int]
) -> None:
    folder = _image_folder(tmp_path / "pets", per_class=10)  # test split: 2 images
    argv = ["run", "--plugin", "dcgan", "--dataset", "image-folder", "--data-path", str(folder)]
    code, _, err = run_cli(
        [*argv, "--image-size", "8", "--batch-size", "4", "--metric", "prdc"], capsys
    )
    line = one_error_line(err)
    assert code == 2
    for needle in ("'prdc'", "at least 6 real samples", "'image-folder' has 2", "6 or more"):
        assert needle in line, line
    assert training_steps == []
    _nothing_written()


def test_default_metrics_skip_prdc_with_a_note(
    tmp_path: Path, capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A short evaluator recipe keeps the test fast; the recipe is part of its cache key.
    short = functools.partial(evaluator_module.EvaluatorRecipe, min_steps=20, epochs=1)
    monkeypatch.setattr(evaluator_module, "EvaluatorRecipe", short)
    folder = _image_folder(tmp_path / "pets", per_class=12)  # val: 2, test: 3 images
    argv = ["run", "--plugin", "dcgan", "--dataset", "image-folder", "--data-path", str(folder)]
    argv += ["--image-size", "8", "--batch-size", "4", "--steps", "1", "--eval-samples", "20"]
    code, out, err = run_cli([*argv, "--skip-metric", "attack-robustness", "--json"], capsys)
    assert code == 0, err
    record = json.loads(out)
    skipped = record["protocol"]["skipped_metrics"]
    misfits = {"conditional-accuracy", "mode-coverage", "stacked-modes", "code-alignment"}
    misfits |= {"psnr", "ssim", "label-preservation"}  # no paired targets, no translation
    misfits |= {"caption-match"}  # no captions
    misfits |= {"cycle-error"}  # no translation model with an inverse
    assert set(skipped) == {"prdc", "attack-robustness"} | misfits
    # Defaults that do not apply are listed with why, not left out in silence.
    assert all(skipped[name].startswith("does not apply: ") for name in misfits), skipped
    assert "at least 6 real samples" in skipped["prdc"] and "has 3" in skipped["prdc"]
    assert skipped["attack-robustness"] == SKIPPED_BY_FLAG
    names = set(record["metrics"])
    assert "fid[image-folder-evaluator]" in names
    assert not any(n.startswith(("precision", "coverage", "clean_acc")) for n in names), names
    config = json.loads((Path(record["run_dir"]) / "config.json").read_text())
    assert config["request"]["skip_metrics"] == ["attack-robustness"]


def test_eval_samples_below_a_requested_minimum(capsys, training_steps: list[int]) -> None:
    code, _, err = run_cli(
        ["run", "--plugin", "dcgan", "--metric", "prdc", "--eval-samples", "3"], capsys
    )
    line = one_error_line(err)
    assert code == 2
    assert "--eval-samples 3 gives 3" in line and "--eval-samples 4 or more" in line, line
    assert training_steps == []
    _nothing_written()


def test_primary_metric_that_cannot_select_on_val(capsys, training_steps: list[int]) -> None:
    code, _, err = run_cli(["run", "--plugin", "dcgan", "--eval-samples", "1"], capsys)
    line = one_error_line(err)
    assert code == 2
    assert "primary metric 'fid'" in line and "val split" in line, line
    assert "--eval-samples 2 or more" in line, line
    assert training_steps == []
    _nothing_written()


def test_requested_metric_that_does_not_apply_stops_before_training(
    capsys, training_steps: list[int]
) -> None:
    code, _, err = run_cli(["run", "--plugin", "dcgan", "--metric", "conditional-accuracy"], capsys)
    line = one_error_line(err)
    assert code == 2 and "'conditional-accuracy'" in line and "class-conditional" in line
    assert training_steps == []
    _nothing_written()


@pytest.mark.parametrize(
    ("flags", "needles"),
    [
        (["--skip-metric", "nope"], ["'nope'", "--skip-metric", "valid choices", "prdc"]),
        (["--metric", "fid", "--skip-metric", "fid"], ["'fid'", "--metric", "--skip-metric"]),
    ],
)
def test_bad_skip_metric(flags: list[str], needles: list[str], capsys) -> None:
    code, _, err = run_cli(["run", "--plugin", "dcgan", *flags], capsys)
    line = one_error_line(err)
    assert code == 2
    assert all(needle in line for needle in needles), line
    _nothing_written()


# --------------------------------------------------------------------------- planning itself


def _needs_model(inputs, params):
    return {"seen": 1.0}


def _plain(inputs, params):
    return {"n": float(len(inputs.fake))}


TOY_METRICS = {
    "model-metric": MetricSpec("model-metric", _needs_model, {"seen": "info"}, ("discriminator",)),
    "plain": MetricSpec("plain", _plain, {"n": "info"}),
}


def _toy_dataset() -> GanDataset:
    x = torch.rand(12, 1, 4, 4) * 2 - 1
    info = DataInfo(name="toy", kind="image", shape=(1, 4, 4))
    return GanDataset(info=info, splits={s: Batch(x=x) for s in ("train", "val", "test")})


def test_real_data_row_leaves_out_requested_metrics_of_a_model() -> None:
    # A run asking for a model's metric must not die at its real-data row, which has no model.
    settings = EvalSettings(n_fake=5, seed=0, metrics=("model-metric", "plain"))
    evaluation = evaluate_real_data(_toy_dataset(), None, TOY_METRICS, settings)
    assert evaluation.results.values == {"n": 5.0}


def test_skip_leaves_a_metric_out_of_the_evaluation() -> None:
    settings = EvalSettings(n_fake=5, seed=0, skip=("plain",))
    evaluation = evaluate_real_data(_toy_dataset(), None, TOY_METRICS, settings)
    assert evaluation.results.values == {}


def _needs_many(params) -> SampleMinimum:
    return SampleMinimum(real=100, why="a toy minimum")


NEEDS_MANY = MetricSpec("needs-many", _plain, {"n": "info"}, min_samples=_needs_many)


def test_a_short_default_metric_is_skipped_and_the_rest_kept() -> None:
    inputs = probe_inputs(_toy_dataset(), "test", None, None, torch.device("cpu"))
    specs = {**TOY_METRICS, "needs-many": NEEDS_MANY}
    skipped = plan_metrics(specs, None, ("model-metric",), inputs, _counts(12, 100))
    assert set(skipped) == {"model-metric", "needs-many"}  # "plain" is computed
    assert skipped["model-metric"] == SKIPPED_BY_FLAG
    assert "at least 100 real samples" in skipped["needs-many"]


def test_every_default_metric_short_is_refused() -> None:
    inputs = probe_inputs(_toy_dataset(), "test", None, None, torch.device("cpu"))
    with pytest.raises(IncompatibleError, match="no metric can be computed.*needs-many"):
        plan_metrics({"needs-many": NEEDS_MANY}, None, (), inputs, _counts(12, 100))
    with pytest.raises(IncompatibleError, match="metric 'needs-many' cannot be computed"):
        plan_metrics({"needs-many": NEEDS_MANY}, ("needs-many",), (), inputs, _counts(12, 100))


def test_a_broken_min_samples_is_a_plugin_contract_error() -> None:
    returns_int = MetricSpec("broken", _plain, {"n": "info"}, min_samples=lambda params: 3)
    with pytest.raises(PluginContractError, match="'broken': min_samples returned int"):
        sample_shortfall(returns_int, _counts(1, 1))
    raises = MetricSpec("broken", _plain, {"n": "info"}, min_samples=lambda params: 1 / 0)
    with pytest.raises(PluginContractError, match="ZeroDivisionError"):
        sample_shortfall(raises, _counts(1, 1))
