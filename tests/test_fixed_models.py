"""Fixed models (a task's baselines: ``bicubic``, ``identity``) and the
generator-only ``srresnet``: runs without training, their leaderboard rows,
and what does not apply to a model without a discriminator."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from cli_helpers import one_error_line, run_cli
from skimage.color import rgb2ycbcr
from skimage.metrics import peak_signal_noise_ratio

from ganbench.api import DataInfo, DatasetOptions
from ganbench.eval.metrics_runner import why_not_applicable
from ganbench.leaderboard import build_tables
from ganbench.leaderboard.render import render_markdown
from ganbench.registry import load_registry
from ganbench.run.record import RunRecord
from ganbench_plugins import bicubic, identity, srresnet


@pytest.fixture(scope="module")
def sr_data():
    return load_registry().dataset("sr-photos").load(DatasetOptions())


def _places(tmp_path: Path) -> list[str]:
    return ["--runs-dir", str(tmp_path / "runs"), "--store", str(tmp_path / "s.sqlite")]


def _y_plane(image: torch.Tensor, crop: int) -> np.ndarray:
    """scikit-image's BT.601 luma of a [-1, 1] CHW image, the border cropped."""
    hwc = ((image.numpy().transpose(1, 2, 0) + 1) / 2).astype(np.float64)
    return rgb2ycbcr(hwc)[crop:-crop, crop:-crop, 0]


def test_bicubic_is_torch_bicubic_upsampling(sr_data) -> None:
    model = bicubic.Bicubic(sr_data.info)
    test = sr_data.splits["test"]
    out = model.generate(None, test)
    expected = F.interpolate(test.source, scale_factor=4, mode="bicubic", align_corners=False)
    assert torch.equal(out, expected.clamp(-1, 1))
    assert model.configure_optimizers() == {} and model.discriminator is None
    assert "scale factor" in bicubic.check_fits(DataInfo("d", "image", (3, 32, 32)))


def test_a_bicubic_run_is_a_baseline_whose_psnr_is_scikit_images(
    tmp_path: Path, capsys, sr_data
) -> None:
    code, _, err = run_cli(
        ["run", "--plugin", "bicubic", "--dataset", "sr-photos", *_places(tmp_path)], capsys
    )
    assert code == 0, err
    (record_file,) = (tmp_path / "runs").glob("*/record.json")
    record = json.loads(record_file.read_text())
    assert record["kind"] == "baseline" and record["steps"] == 0
    test = sr_data.splits["test"]
    sr = F.interpolate(test.source, scale_factor=4, mode="bicubic", align_corners=False)
    reference = np.mean(
        [
            peak_signal_noise_ratio(
                _y_plane(test.x[i], 4), _y_plane(sr[i].clamp(-1, 1), 4), data_range=255
            )
            for i in range(len(test))
        ]
    )
    assert record["metrics"]["psnr"] == pytest.approx(reference, abs=1e-6)
    # SRGAN's Set5 bicubic row is 28.43 dB; photo tiles at x4 land in the same range.
    assert 24 < record["metrics"]["psnr"] < 33
    assert "attack-robustness" in record["protocol"]["skipped_metrics"]


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        (["--steps", "5"], "--steps must be 0 or left out, got 5"),
        (["--trick", "ema"], "--trick ema"),
    ],
)
def test_a_fixed_model_refuses_steps_and_tricks(
    tmp_path: Path, capsys, extra: list[str], expected: str
) -> None:
    argv = ["run", "--plugin", "bicubic", "--dataset", "sr-photos", *extra, *_places(tmp_path)]
    code, _, err = run_cli(argv, capsys)
    line = one_error_line(err)
    assert code == 2 and "'bicubic' is a fixed baseline" in line and expected in line
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())


def test_identity_returns_its_input_and_has_no_discriminator_metrics() -> None:
    info = DataInfo("t", "image", (3, 8, 8), fields=("x", "source"), source_shape=(3, 8, 8))
    model = identity.Identity(info)
    a = torch.rand(4, 3, 8, 8)
    from ganbench.api import Batch

    assert torch.equal(model.generate(None, Batch(x=a, source=a)), a)
    assert model.has_inverse() and torch.equal(model.generate_inverse(a), a)
    assert "one shape" in identity.check_fits(
        DataInfo("t", "image", (3, 8, 8), source_shape=(1, 8, 8))
    )
    spec = load_registry().metric("attack-robustness")
    from ganbench.api import EvalInputs

    inputs = EvalInputs(info, Batch(x=a), a, Batch(x=a, source=a), None, model=model)
    assert "fixed baseline" in why_not_applicable(spec, inputs)


def _record(run_id: str, model: str, psnr: float, *, seed: int = 0, **fields) -> RunRecord:
    base = {
        "run_id": run_id,
        "kind": "model",
        "status": "completed",
        "model": model,
        "dataset": "sr-photos",
        "task": "super-resolution",
        "seed": seed,
        "steps": 2000,
        "batch_size": 16,
        "metrics": {"psnr": psnr},
        "directions": {"psnr": "higher"},
        "primary_metric": "psnr",
        "protocol": {"dataset": "sr-photos"},
        "comparison_key": "k",
        "created_at": "2026-12-02",
    }
    return RunRecord(**{**base, **fields})


def test_a_baseline_row_is_shown_from_one_run_and_not_ranked() -> None:
    records = [
        _record("b", "bicubic", 28.4, kind="baseline", steps=0),
        *(_record(f"r{s}", "srresnet", 30.0 + s, seed=s) for s in range(3)),
        *(_record(f"g{s}", "srgan", 27.0 + s, seed=s) for s in range(3)),
    ]
    (table,) = build_tables(records, min_seeds=3)
    rows = table.rows.to_dict("records")
    assert [(r["role"], r["model"]) for r in rows] == [
        ("ranked", "srresnet"),
        ("ranked", "srgan"),
        ("baseline", "bicubic"),
    ]
    assert pd_isna(rows[2]["rank"]) and not table.notes  # one seed is enough for a baseline
    page = render_markdown("super-resolution", "sr-photos", [table])
    assert "| baseline | bicubic | - | - | - | 1 |" in page


def pd_isna(value) -> bool:
    import pandas as pd

    return bool(pd.isna(value))


def test_srresnet_trains_on_the_mse_alone(sr_data) -> None:
    torch.manual_seed(0)
    model = srresnet.SRResNetModel(sr_data.info, {"blocks": 1})
    assert model.discriminator is None and model.d_optimizers == ()
    batch = sr_data.splits["train"].index(torch.arange(4))
    before = F.mse_loss(model.generate(None, batch), batch.x).item()
    optimizer = model.configure_optimizers()["g"]
    for _ in range(8):
        optimizer.zero_grad()
        F.mse_loss(model.generate(None, batch), batch.x).backward()
        optimizer.step()
    assert F.mse_loss(model.generate(None, batch), batch.x).item() < 0.8 * before


def test_srresnet_runs_with_ema_and_refuses_a_discriminator_trick(tmp_path: Path, capsys) -> None:
    base = ["run", "--plugin", "srresnet:blocks=1", "--dataset", "sr-photos", "--steps", "2"]
    code, _, err = run_cli([*base, "--trick", "label-smoothing", *_places(tmp_path)], capsys)
    line = one_error_line(err)
    assert code == 2 and "'label-smoothing' does not apply to model 'srresnet'" in line
    assert "no discriminator" in line
    code, _, err = run_cli([*base, "--trick", "ema", *_places(tmp_path)], capsys)
    assert code == 0, err
    (record_file,) = (tmp_path / "runs").glob("*/record.json")
    record = json.loads(record_file.read_text())
    assert record["kind"] == "model" and record["steps_done"] == 2
    assert record["protocol"]["model_facts"] == {}
    assert record["metrics"]["psnr"] > 0


def test_a_misfit_names_the_datasets_with_the_fields_the_task_needs(tmp_path: Path, capsys) -> None:
    argv = ["run", "--plugin", "bicubic", "--dataset", "digits", *_places(tmp_path)]
    code, _, err = run_cli(argv, capsys)
    line = one_error_line(err)
    assert code == 2 and "'bicubic' does not fit dataset 'digits'" in line
    fitting = line.rsplit(": ", 1)[1].split(", ")
    # Declared fields decide: the super-resolution datasets, and the folder whose fields
    # only loading tells; not the digits, the mixtures or the translation data.
    assert {"sr-photos", "sr-folder", "cyclegan-folder"} <= set(fitting)
    assert not {"digits", "ring8", "digits-captions"} & set(fitting)
