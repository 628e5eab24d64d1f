"""PNG reports: sample grids (images, points) and training curves."""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from ganbench.report import save_sample_grid, save_training_curves
from ganbench.report.curve_scales import (
    robust_limits,
    rolling_mean,
    smoothing_window,
    validation_scale,
)
from ganbench.report.sample_grid import MIN_GRID_WIDTH_PX, rows_by_class, upscale_factor


def open_png(path: Path) -> Image.Image:
    image = Image.open(path)
    image.load()  # decodes the whole file, not just the header
    assert image.format == "PNG"
    return image


def test_tiny_images_are_upscaled_into_a_grid(tmp_path: Path) -> None:
    samples = torch.zeros(16, 1, 8, 8)
    samples[0] = 1.0  # white
    samples[1] = -1.0  # black
    samples[2] = -1.0
    samples[2, :, :, :4] = 1.0  # left half white: nearest neighbour keeps the edge sharp
    path = tmp_path / "samples.png"
    save_sample_grid(samples, path, nrow=8)
    image = open_png(path).convert("RGB")
    # 8 columns x 2 rows of 80 px cells (8 px x10, nearest: 8 x 80 >= 640) with 2 px padding.
    assert image.size == (8 * 80 + 9 * 2, 2 * 80 + 3 * 2)
    assert image.width >= MIN_GRID_WIDTH_PX
    assert image.getpixel((2 + 40, 2 + 40)) == (255, 255, 255)
    assert image.getpixel((2 + 82 + 40, 2 + 40)) == (0, 0, 0)
    third = 2 + 2 * 82
    assert image.getpixel((third + 39, 2 + 40)) == (255, 255, 255)
    assert image.getpixel((third + 40, 2 + 40)) == (0, 0, 0)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["samples.png"]  # no temp files left


def test_large_images_are_not_upscaled(tmp_path: Path) -> None:
    path = tmp_path / "rgb.png"
    save_sample_grid(torch.rand(8, 3, 96, 96) * 2 - 1, path, nrow=8)
    assert open_png(path).size == (8 * 96 + 9 * 2, 96 + 2 * 2)
    assert upscale_factor(96, 8) == 1 and upscale_factor(32, 8) == 3 and upscale_factor(8, 8) == 10


def _dark_rows(image: Image.Image, x: int) -> list[int]:
    return [y for y in range(image.height) if image.getpixel((x, y))[0] < 128]


def test_a_title_goes_in_a_band_above_the_grid(tmp_path: Path) -> None:
    samples = torch.ones(8, 1, 8, 8)  # all white: every dark pixel is text
    plain, titled = tmp_path / "plain.png", tmp_path / "titled.png"
    save_sample_grid(samples, plain)
    save_sample_grid(samples, titled, title="dcgan on digits, seed 0, step 180 of 200")
    plain_image, image = open_png(plain).convert("RGB"), open_png(titled).convert("RGB")
    assert image.width == plain_image.width
    band = image.height - plain_image.height
    assert band >= 16
    pixels = np.asarray(image.convert("L"))
    assert (pixels[:band] < 128).sum() > 100  # the text is drawn...
    assert (pixels[band:] >= 128).all()  # ...and only in the band


def test_rows_by_class_orders_samples_by_class() -> None:
    labels = torch.tensor([3, 1, 3, 0, 1, 3, 3, 0])
    rows = rows_by_class(labels, per_class=2)
    assert [row.label for row in rows] == ["class 0", "class 1", "class 3"]
    assert [row.indices for row in rows] == [(3, 7), (1, 4), (0, 2)]
    assert [row.indices for row in rows_by_class(labels, 2, max_classes=2)] == [(3, 7), (1, 4)]
    with pytest.raises(ValueError, match="shape"):
        rows_by_class(labels.view(2, 4), 2)


def test_class_conditional_grid_has_one_labelled_row_per_class(tmp_path: Path) -> None:
    # Each sample's grey level encodes its class, and the samples come shuffled:
    # in the grid, every cell of row k must show class k's grey.
    gen = torch.Generator().manual_seed(0)
    labels = torch.arange(4).repeat_interleave(6)[torch.randperm(24, generator=gen)]
    grey = labels.float() / 3 * 2 - 1  # class 0 black ... class 3 white
    samples = grey.view(-1, 1, 1, 1).expand(-1, 1, 8, 8).clone()
    path = tmp_path / "cond.png"
    save_sample_grid(samples, path, nrow=5, labels=labels)
    image = open_png(path).convert("RGB")
    cell = 8 * upscale_factor(8, 5)
    assert image.height == 4 * (cell + 2) + 2  # 4 class rows of (at most) 5 samples
    label_w = image.width - (5 * (cell + 2) + 2)
    assert label_w > 20  # a column for "class k" on the left
    for k in range(4):
        y = 2 + k * (cell + 2) + cell // 2
        expected = round(k / 3 * 255)
        for c in range(5):
            x = label_w + 2 + c * (cell + 2) + cell // 2
            assert image.getpixel((x, y))[0] == expected, (k, c)
        assert _dark_rows(image.crop((0, y - cell // 2, label_w, y + cell // 2)), label_w // 2)
    with pytest.raises(ValueError, match="one entry per image"):
        save_sample_grid(samples, path, labels=labels[:3])


def test_points_become_a_scatter_plot(tmp_path: Path) -> None:
    path = tmp_path / "points.png"
    points = torch.randn(200, 2)
    points[0, 0] = math.nan
    centres = torch.tensor([[x, y] for x in (-2.0, 0.0, 2.0) for y in (-2.0, 0.0, 2.0)])
    save_sample_grid(points, path, reference=centres)
    assert open_png(path).size == (500, 500)


def test_bad_shapes_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="shape"):
        save_sample_grid(torch.zeros(4, 3), tmp_path / "x.png")
    with pytest.raises(ValueError, match="channels"):
        save_sample_grid(torch.zeros(4, 2, 8, 8), tmp_path / "x.png")


def test_training_curves_with_validation_panel(tmp_path: Path) -> None:
    rows = [
        {"step": s, "loss_d": 1.0 / (s + 1), "loss_g": 0.5, "lr": 2e-4} for s in range(0, 50, 10)
    ]
    rows[2]["val_fid[digits-evaluator]"] = 40.0
    rows[4]["val_fid[digits-evaluator]"] = 30.0
    rows[3]["loss_g"] = math.inf
    save_training_curves(
        rows, tmp_path / "curves.csv", tmp_path / "curves.png", title="t", selected_step=40
    )
    reader = csv.DictReader(io.StringIO((tmp_path / "curves.csv").read_text()))
    assert reader.fieldnames == ["step", "loss_d", "loss_g", "lr", "val_fid[digits-evaluator]"]
    table = list(reader)
    assert len(table) == 5 and table[0]["val_fid[digits-evaluator]"] == ""
    assert table[4]["val_fid[digits-evaluator]"] == "30.0"
    assert open_png(tmp_path / "curves.png").size == (800, 700)


def test_training_curves_losses_only(tmp_path: Path) -> None:
    rows = [{"step": s, "loss_d": 1.0, "loss_g": 2.0} for s in range(3)]
    save_training_curves(rows, tmp_path / "c.csv", tmp_path / "c.png")
    assert (tmp_path / "c.csv").read_text().splitlines()[0] == "step,loss_d,loss_g"
    assert open_png(tmp_path / "c.png").size == (800, 450)


def test_training_curves_without_rows(tmp_path: Path) -> None:
    save_training_curves([], tmp_path / "c.csv", tmp_path / "c.png")
    assert (tmp_path / "c.csv").read_text() == "step\n"
    assert open_png(tmp_path / "c.png").size == (800, 450)


def test_positive_validation_values_get_a_log_axis() -> None:
    assert validation_scale([1400.0, 800.0, 40.0, math.nan]) == "log"  # FID after its drop
    assert validation_scale([0.5, -0.1]) == "linear"  # e.g. a score that can go negative
    assert validation_scale([0.0, 3.0]) == "linear"
    assert validation_scale([]) == "linear"


def test_long_loss_series_get_a_rolling_mean_that_keeps_gaps() -> None:
    assert smoothing_window(40) == 1  # short series are drawn as they are
    window = smoothing_window(200)
    assert window % 2 == 1 and 3 <= window <= 21
    values = [1.0 + (-1) ** i for i in range(60)]  # 2, 0, 2, 0, ...: mean 1
    values[30] = math.nan
    smooth = rolling_mean(values, 9)
    assert math.isnan(smooth[30])
    # The ends are not pulled towards zero by padding, and the noise averages out.
    assert all(abs(v - 1.0) <= 0.25 for i, v in enumerate(smooth) if i != 30)
    assert list(rolling_mean([3.0, 1.0], 1)) == [3.0, 1.0]


def test_axis_limits_ignore_a_few_spikes() -> None:
    gen = torch.Generator().manual_seed(0)
    losses = (1.0 + 0.1 * torch.randn(200, generator=gen)).tolist()
    assert robust_limits(losses) is None  # nothing to cut
    losses[0] = 50.0  # the first steps, far off the rest
    low, high = robust_limits(losses)
    assert 0.3 < low < 1.0 < high < 2.0
    assert robust_limits([1.0, 50.0]) is None  # too few points to call anything a spike


def test_training_curves_with_spikes_and_a_log_panel(tmp_path: Path) -> None:
    rows = [{"step": s, "loss_d": 1.0, "loss_g": 0.7 + (s % 20) / 100} for s in range(0, 2000, 10)]
    rows[0]["loss_g"] = 80.0
    for s, fid in ((200, 1400.0), (400, 300.0), (1000, 60.0), (2000, 40.0)):
        rows.append({"step": s, "val_fid[digits-evaluator]": fid})
    path = tmp_path / "curves.png"
    save_training_curves(
        rows, tmp_path / "c.csv", path, title="dcgan on digits", selected_step=2000
    )
    assert open_png(path).size == (800, 700)
