"""The run folder's ``samples.png`` shows the task: LR | SR | HR for
super-resolution, A | G(A) | F(G(A)) for translation, caption | samples for
text-to-image (:mod:`ganbench.report.task_grids`).

Cells are cut out of the PNG and compared with the images computed here
independently (torch's bicubic of the LR tiles, the split's own tiles),
rendered as the grid renders them: [-1, 1] to uint8, nearest-neighbour
enlargement by the grid's integer factor.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from cli_helpers import run_cli
from PIL import Image

from ganbench.api import CAPTIONS_KEY, Batch, CaptionTable, DataInfo, DatasetOptions, GanDataset
from ganbench.model import GANModel
from ganbench.registry import load_registry
from ganbench.report.sample_grid import GRID_PADDING, upscale_factor
from ganbench.report.task_grids import (
    CAPTION_LINE_CHARS,
    TASK_GRID_ROWS,
    caption_labels,
    distinct_caption_rows,
    spread_rows,
    text_to_image_grid,
    translation_grid,
    wrap_caption,
)
from ganbench_plugins.identity import Identity

TEXT_TO_IMAGE_PLUGIN = Path(__file__).parent / "task_plugins" / "text_to_image.py"


def _run_samples(tmp_path: Path, capsys, *args: str) -> np.ndarray:
    """``ganbench run ARGS`` in-process; the run folder's samples.png as H x W x 3 uint8."""
    places = ["--runs-dir", str(tmp_path / "runs"), "--store", str(tmp_path / "s.sqlite")]
    code, _, err = run_cli(["run", *args, *places, "--quiet"], capsys)
    assert code == 0, err
    (png,) = (tmp_path / "runs").glob("*/samples.png")
    with Image.open(png) as image:
        return np.asarray(image.convert("RGB"))


def _rendered(images: torch.Tensor, scale: int) -> np.ndarray:
    """``images`` (N x C x H x W in [-1, 1]) as the grid draws them: N x H' x W' x 3 uint8."""
    pixels = ((images.float() + 1) / 2).clamp(0, 1)
    if pixels.shape[1] == 1:
        pixels = pixels.expand(-1, 3, -1, -1)
    # Nearest neighbour by an integer factor is each pixel repeated: exact, no float index.
    pixels = pixels.repeat_interleave(scale, dim=-2).repeat_interleave(scale, dim=-1)
    return (pixels * 255).round().to(torch.uint8).permute(0, 2, 3, 1).numpy()


def _cells(grid: np.ndarray, rows: int, cols: int, cell: int) -> np.ndarray:
    """rows x cols x cell x cell x 3: the cells of a grid whose cells end at its right edge.

    The title band's height depends on the font, so cells are located from
    the bottom-right corner: padding, then cells of ``cell`` pixels.
    """
    height, width = grid.shape[:2]
    step = cell + GRID_PADDING
    top0 = height - rows * step
    left0 = width - cols * step
    return np.stack(
        [
            np.stack(
                [
                    grid[top0 + r * step : top0 + r * step + cell, left0 + c * step :][:, :cell]
                    for c in range(cols)
                ]
            )
            for r in range(rows)
        ]
    )


def test_rows_are_spread_over_the_split_and_captions_distinct() -> None:
    assert spread_rows(80, 8).tolist() == [0, 11, 23, 34, 45, 56, 68, 79]
    assert spread_rows(3, 8).tolist() == [0, 1, 2]
    # Captions 0..9 cycle three times: their first rows are 0..9, 8 of them spread out.
    text = torch.eye(10).repeat(3, 1)
    assert distinct_caption_rows(text, 8) == [0, 1, 3, 4, 5, 6, 8, 9]
    assert sorted(distinct_caption_rows(text, 20)) == list(range(10))


def test_super_resolution_grid_is_lr_then_sr_then_hr(tmp_path: Path, capsys) -> None:
    grid = _run_samples(tmp_path, capsys, "--plugin", "bicubic", "--dataset", "sr-photos")
    test = load_registry().dataset("sr-photos").load(DatasetOptions()).splits["test"]
    rows = test.index(spread_rows(len(test), TASK_GRID_ROWS))
    size = test.x.shape[-1]
    factor = size // test.source.shape[-1]
    scale = upscale_factor(size, 3)
    cell = size * scale

    # 3 columns x 8 rows of HR-sized cells under a title band; no label column.
    header = grid.shape[0] - GRID_PADDING - TASK_GRID_ROWS * (cell + GRID_PADDING)
    assert 20 <= header <= 80
    assert grid.shape[1] >= GRID_PADDING + 3 * (cell + GRID_PADDING)
    cells = _cells(grid, TASK_GRID_ROWS, 3, cell)
    lr = _rendered(rows.source, factor * scale)  # nearest neighbour to the HR size
    sr = F.interpolate(rows.source, scale_factor=factor, mode="bicubic", align_corners=False)
    hr = _rendered(rows.x, scale)
    np.testing.assert_array_equal(cells[:, 0], lr)
    np.testing.assert_array_equal(cells[:, 1], _rendered(sr.clamp(-1, 1), scale))
    np.testing.assert_array_equal(cells[:, 2], hr)
    assert not np.array_equal(cells[:, 1], cells[:, 2])  # the columns are not all one image


def test_translation_grid_closes_the_cycle_of_an_invertible_model(tmp_path: Path, capsys) -> None:
    grid = _run_samples(
        tmp_path,
        capsys,
        *("--plugin", "identity", "--dataset", "digits-m", "--feature-extractor", "none"),
    )
    test = load_registry().dataset("digits-m").load(DatasetOptions()).splits["test"]
    rows = test.index(spread_rows(len(test), TASK_GRID_ROWS))
    size = test.x.shape[-1]
    scale = upscale_factor(size, 3)
    cells = _cells(grid, TASK_GRID_ROWS, 3, size * scale)
    header = grid.shape[0] - GRID_PADDING - TASK_GRID_ROWS * (size * scale + GRID_PADDING)
    assert 20 <= header <= 80
    a = _rendered(rows.source, scale)
    # identity: A, G(A) = A and F(G(A)) = A, from rows spread over classes.
    for column in range(3):
        np.testing.assert_array_equal(cells[:, column], a)
    assert len(set(rows.y.tolist())) > 1


class _OneWay(Identity):
    """The identity without an inverse translator."""

    generate_inverse = GANModel.generate_inverse


class _Shift(Identity):
    """G(a) = -a, F(b) = b / 2: columns that differ."""

    def generate(self, z, cond: Batch) -> torch.Tensor:
        return -cond.source

    def generate_inverse(self, x: torch.Tensor) -> torch.Tensor:
        return x / 2


def _translation_data(n: int = 12, size: int = 8) -> GanDataset:
    gen = torch.Generator().manual_seed(0)
    source = torch.rand(n, 3, size, size, generator=gen) * 2 - 1
    info = DataInfo(
        "tiny-ab", "image", (3, size, size), ("x", "source"), source_shape=(3, size, size)
    )
    split = Batch(x=torch.rand(n, 3, size, size, generator=gen) * 2 - 1, source=source)
    return GanDataset(info, {"train": split, "val": split, "test": split})


@pytest.mark.parametrize(("model_class", "columns"), [(_OneWay, 2), (_Shift, 3)])
def test_translation_grid_has_the_cycle_column_only_with_an_inverse(
    tmp_path: Path, model_class: type[Identity], columns: int
) -> None:
    data = _translation_data()
    model = model_class(data.info)
    assert model.has_inverse() == (columns == 3)
    path = tmp_path / "samples.png"
    translation_grid(model, data, torch.device("cpu"), path, "t", 0)
    with Image.open(path) as image:
        grid = np.asarray(image.convert("RGB"))
    scale = upscale_factor(8, columns)
    cell = 8 * scale
    # No extra column left of the cells: the grid is exactly `columns` cells wide
    # (the short title is narrower than the cells).
    assert grid.shape[1] == GRID_PADDING + columns * (cell + GRID_PADDING)
    rows = data.splits["test"].index(spread_rows(12, TASK_GRID_ROWS))
    cells = _cells(grid, TASK_GRID_ROWS, columns, cell)
    expected = [rows.source, -rows.source, -rows.source / 2]
    if model_class is _OneWay:
        expected = [rows.source, rows.source]
    for column, images in enumerate(expected):
        np.testing.assert_array_equal(cells[:, column], _rendered(images, scale))


def _tiny_gan_int_cls():
    spec = importlib.util.spec_from_file_location("task_grid_t2i_plugin", TEXT_TO_IMAGE_PLUGIN)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.TinyGanIntCls


def _caption_data(n_captions: int = 10, copies: int = 3) -> GanDataset:
    gen = torch.Generator().manual_seed(1)
    embeddings = torch.randn(n_captions, 4, generator=gen)
    texts = tuple(f"caption number {k} of the fake table" for k in range(n_captions))
    table = CaptionTable(
        embeddings=embeddings,
        labels=torch.arange(n_captions),
        attributes=torch.zeros(n_captions, 0, dtype=torch.int64),
        attribute_names=(),
        predict_attributes=lambda images: torch.zeros(len(images), 0, dtype=torch.int64),
        attribute_predictor="none (test)",
        texts=texts,
    )
    info = DataInfo(
        "fake-captions", "image", (1, 8, 8), ("x", "text"), text_dim=4, extras={CAPTIONS_KEY: table}
    )
    n = n_captions * copies
    split = Batch(
        x=torch.rand(n, 1, 8, 8, generator=gen) * 2 - 1, text=embeddings.repeat(copies, 1)
    )
    return GanDataset(info, {"train": split, "val": split, "test": split})


def test_text_to_image_grid_rows_are_captions_with_their_samples(tmp_path: Path) -> None:
    data = _caption_data()
    torch.manual_seed(0)
    model = _tiny_gan_int_cls()(data.info)
    path = tmp_path / "samples.png"
    per_caption, seed = 4, 3
    text_to_image_grid(model, data, torch.device("cpu"), path, "tiny on fake", seed, 8, per_caption)
    assert model.training  # left as it was found

    test = data.splits["test"]
    picked = distinct_caption_rows(test.text, 8)
    assert picked == [0, 1, 3, 4, 5, 6, 8, 9]
    # The labels are the table's texts of those rows' embeddings, wrapped.
    table = data.info.extras[CAPTIONS_KEY]
    labels = caption_labels(data, test.text[picked])
    assert labels == [wrap_caption(table.texts[i]) for i in picked]
    assert all(len(line) <= CAPTION_LINE_CHARS for label in labels for line in label.split("\n"))

    # Independently: one z per column, the same down the rows, G in eval mode.
    gen = torch.Generator().manual_seed(seed)
    z = model.sample_latent(per_caption, "cpu", generator=gen).repeat(len(picked), 1)
    model.eval()
    with torch.no_grad():
        text = test.text[picked].repeat_interleave(per_caption, dim=0)
        fake = model.generate(z, Batch(x=torch.zeros(len(z), 1, 8, 8), text=text))
    model.train()

    with Image.open(path) as image:
        grid = np.asarray(image.convert("RGB"))
    scale = upscale_factor(8, per_caption)
    cell = 8 * scale
    cells = _cells(grid, 8, per_caption, cell)
    expected = _rendered(fake, scale).reshape(8, per_caption, cell, cell, 3)
    np.testing.assert_array_equal(cells, expected)
    # A label column left of the cells, with text (dark pixels) in every row.
    label_width = grid.shape[1] - per_caption * (cell + GRID_PADDING) - GRID_PADDING
    assert label_width > 50
    top0 = grid.shape[0] - 8 * (cell + GRID_PADDING)
    for r in range(8):
        band = grid[top0 + r * (cell + GRID_PADDING) :][:cell, :label_width]
        assert band.min() < 128, f"row {r} has no caption label"
