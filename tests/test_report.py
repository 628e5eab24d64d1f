"""PNG reports: sample grids (images, points) and training curves."""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path

import pytest
import torch
from PIL import Image

from ganbench.report import save_sample_grid, save_training_curves


def open_png(path: Path) -> Image.Image:
    image = Image.open(path)
    image.load()  # decodes the whole file, not just the header
    assert image.format == "PNG"
    return image


def test_tiny_images_are_upscaled_into_a_grid(tmp_path: Path) -> None:
    samples = torch.zeros(16, 1, 8, 8)
    samples[0] = 1.0  # white
    samples[1] = -1.0  # black
    path = tmp_path / "samples.png"
    save_sample_grid(samples, path, nrow=8)
    image = open_png(path).convert("RGB")
    # 8 columns x 2 rows of 32 px cells (8 px x4, nearest) with 2 px padding.
    assert image.size == (8 * 32 + 9 * 2, 2 * 32 + 3 * 2)
    assert image.getpixel((2 + 16, 2 + 16)) == (255, 255, 255)
    assert image.getpixel((2 + 32 + 2 + 16, 2 + 16)) == (0, 0, 0)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["samples.png"]  # no temp files left


def test_rgb_images_keep_their_size(tmp_path: Path) -> None:
    path = tmp_path / "rgb.png"
    save_sample_grid(torch.rand(5, 3, 32, 32) * 2 - 1, path, nrow=8)
    assert open_png(path).size == (5 * 32 + 6 * 2, 32 + 2 * 2)


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
    save_training_curves(rows, tmp_path / "curves.csv", tmp_path / "curves.png")
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
