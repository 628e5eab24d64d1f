"""Sample figures that show the task: what went in, what came out, what was wanted.

A grid of generated images alone says little for a model that maps an
input to an output: a super-resolved tile means nothing without the
low-resolution tile it came from and the high-resolution tile it should
equal. So for these task kinds the run folder's ``samples.png`` has one
row per input, its columns named in the figure's title:

* **super-resolution**: LR input (enlarged with nearest neighbour to the HR
  size, so its pixels show as they are) | SR output | HR target;
* **unpaired-translation**: A | G(A) | F(G(A)) when the model has an inverse
  (:meth:`~ganbench.model.GANModel.has_inverse`), else A | G(A);
* **text-to-image**: each row one caption, its text as the row's label,
  followed by :data:`SAMPLES_PER_CAPTION` images generated from it, one z
  per column shared by all rows (so a column differs only in its caption).

Rows are :data:`TASK_GRID_ROWS` rows of the test split, evenly spaced over
it (for text-to-image, over its distinct captions): the same inputs for
every model and seed, so the figures of two runs compare cell by cell.
Latents come from a private generator seeded with the run's seed. The few
images are generated here, on the model's device in eval mode (the runner
calls this with the weights evaluation used); rendering is
:mod:`ganbench.report.sample_grid`'s (Pillow, nearest-neighbour enlargement).

Unconditional and class-conditional grids stay as they are (the runner's
plain grid, one labelled row per class for the latter).
"""

from __future__ import annotations

import io
import textwrap
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor

from ganbench.data.types import Batch, GanDataset
from ganbench.errors import GanbenchError, PluginContractError
from ganbench.eval.sampling import generate_samples
from ganbench.metrics.caption_match import CAPTIONS_KEY, CaptionTable, caption_rows
from ganbench.model import GANModel
from ganbench.report.sample_grid import GridRow, render_image_grid
from ganbench.results.atomic import atomic_write_bytes
from ganbench.tasks import TaskKind

#: Test-split rows (inputs, or distinct captions) a task figure shows.
TASK_GRID_ROWS = 8
#: Images generated per caption in a text-to-image figure.
SAMPLES_PER_CAPTION = 6
#: Caption labels are wrapped at this many characters a line, and cut (with
#: "...") after this many lines, so the label column leaves room for the images.
CAPTION_LINE_CHARS = 32
CAPTION_LINES = 3

#: Writes a task figure: (model, dataset, device, path, title, seed).
TaskGrid = Callable[[GANModel, GanDataset, torch.device, Path, str, int], None]


@contextmanager
def _eval_mode(model: GANModel) -> Iterator[None]:
    """Eval mode and no autograd for the block (BatchNorm's running statistics)."""
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            yield
    finally:
        model.train(was_training)


def _tiles(images: Tensor, size: tuple[int, int]) -> Tensor:
    """``images`` as 3-channel tiles of ``size`` (H, W): grey repeated, other sizes
    resized with nearest neighbour (no invented detail)."""
    tiles = images.detach().float().cpu()
    if tiles.shape[1] == 1:
        tiles = tiles.expand(-1, 3, -1, -1)
    if tiles.shape[1] != 3:
        raise ValueError(f"task figures need 1- or 3-channel images, got {tiles.shape[1]}")
    if tuple(tiles.shape[-2:]) != size:
        tiles = F.interpolate(tiles, size=size, mode="nearest")
    return tiles


def _interleave(columns: list[Tensor]) -> tuple[Tensor, list[GridRow]]:
    """Column tensors (each R x 3 x H x W) as one image tensor and R rows of grid indices."""
    n_rows, n_cols = len(columns[0]), len(columns)
    images = torch.stack(columns, dim=1).flatten(0, 1)  # row-major: row r, column c at r*n_cols+c
    rows = [GridRow(tuple(range(r * n_cols, (r + 1) * n_cols))) for r in range(n_rows)]
    return images, rows


def _save(images: Tensor, rows: list[GridRow], path: Path, title: str, columns: str) -> None:
    buffer = io.BytesIO()
    figure_title = f"{title}\ncolumns: {columns}" if title else f"columns: {columns}"
    render_image_grid(images, rows, figure_title).save(buffer, format="PNG")
    atomic_write_bytes(path, buffer.getvalue())


def spread_rows(n_total: int, n: int) -> Tensor:
    """``min(n, n_total)`` indices spread evenly over ``0..n_total-1``, first and last included.

    Evenly spaced rather than the first ones: a split stored by class (digits)
    or by position in a photo (sr-photos) would otherwise show one class or
    one corner.
    """
    if n_total <= 0 or n <= 0:
        return torch.zeros(0, dtype=torch.int64)
    k = min(n, n_total)
    if k == 1:
        return torch.zeros(1, dtype=torch.int64)
    return torch.tensor([round(i * (n_total - 1) / (k - 1)) for i in range(k)], dtype=torch.int64)


def _test_rows(dataset: GanDataset, n: int) -> Batch:
    test = dataset.splits["test"]
    if test.source is None:
        raise GanbenchError(f"dataset {dataset.info.name!r} has no source images to show")
    return test.index(spread_rows(len(test), n))


def super_resolution_grid(
    model: GANModel,
    dataset: GanDataset,
    device: torch.device,
    path: Path,
    title: str,
    seed: int,
    n_rows: int = TASK_GRID_ROWS,
) -> None:
    """Rows of LR input (nearest-neighbour to HR size) | SR output | HR target."""
    rows = _test_rows(dataset, n_rows)
    sr = generate_samples(model, rows, seed, device, dataset.info.shape)
    size = tuple(dataset.info.shape[-2:])
    assert rows.source is not None
    lr = rows.source
    factor = size[0] / lr.shape[-2]
    images, grid_rows = _interleave([_tiles(lr, size), _tiles(sr, size), _tiles(rows.x, size)])
    legend = f"LR input (nearest-neighbour x{factor:g}) | SR output | HR target"
    _save(images, grid_rows, path, title, legend)


def translation_grid(
    model: GANModel,
    dataset: GanDataset,
    device: torch.device,
    path: Path,
    title: str,
    seed: int,
    n_rows: int = TASK_GRID_ROWS,
) -> None:
    """Rows of A | G(A) | F(G(A)) with an inverse translator, else A | G(A)."""
    rows = _test_rows(dataset, n_rows)
    assert rows.source is not None
    translated = generate_samples(model, rows, seed, device, dataset.info.shape)
    columns = [rows.source, translated]
    legend = "A (source) | G(A)"
    if model.has_inverse():
        with _eval_mode(model):
            cycled = model.generate_inverse(translated.to(device)).float().cpu()
        expected = (len(rows), *rows.source.shape[1:])
        if tuple(cycled.shape) != expected:
            raise PluginContractError(
                f"generate_inverse of {type(model).__name__} returned shape "
                f"{tuple(cycled.shape)}, expected {expected}"
            )
        columns.append(cycled)
        legend += " | F(G(A))"
    size = (
        max(c.shape[-2] for c in columns),
        max(c.shape[-1] for c in columns),
    )
    images, grid_rows = _interleave([_tiles(c, size) for c in columns])
    _save(images, grid_rows, path, title, legend)


def distinct_caption_rows(text: Tensor, n: int) -> list[int]:
    """Rows of ``text`` (N x T) with ``n`` different captions, spread over the split.

    Each distinct embedding counts at its first row; of those, in split
    order, ``n`` evenly spaced ones (:func:`spread_rows`) are taken.
    """
    if len(text) == 0:
        return []
    _, inverse = torch.unique(text.detach().cpu(), dim=0, return_inverse=True)
    first = torch.full((int(inverse.max()) + 1,), len(text), dtype=torch.int64)
    first = first.scatter_reduce(0, inverse, torch.arange(len(text)), reduce="amin")
    firsts = first.sort().values
    return firsts[spread_rows(len(firsts), n)].tolist()


def caption_labels(dataset: GanDataset, text: Tensor) -> list[str]:
    """The caption string of each embedding (N x T), from the dataset's caption table.

    Without a table with texts (or for an embedding not in it), a row is
    labelled ``caption <k>``.
    """
    fallback = [f"caption {k}" for k in range(len(text))]
    table = dataset.info.extras.get(CAPTIONS_KEY)
    if not isinstance(table, CaptionTable) or not table.texts:
        return fallback
    try:
        found = caption_rows(table, text).tolist()
    except GanbenchError:
        return fallback
    return [wrap_caption(table.texts[row]) for row in found]


def wrap_caption(caption: str) -> str:
    """``caption`` in lines of at most :data:`CAPTION_LINE_CHARS`, at most
    :data:`CAPTION_LINES` of them (cut with "..."), so the label column stays narrow."""
    lines = textwrap.wrap(caption, CAPTION_LINE_CHARS) or [""]
    if len(lines) > CAPTION_LINES:
        lines = lines[:CAPTION_LINES]
        lines[-1] = lines[-1][: CAPTION_LINE_CHARS - 3].rstrip() + "..."
    return "\n".join(lines)


def text_to_image_grid(
    model: GANModel,
    dataset: GanDataset,
    device: torch.device,
    path: Path,
    title: str,
    seed: int,
    n_rows: int = TASK_GRID_ROWS,
    per_caption: int = SAMPLES_PER_CAPTION,
) -> None:
    """Rows of one caption (its text as the label) and ``per_caption`` samples of it.

    Column j uses the same z in every row, so what changes down a column is the caption.
    """
    test = dataset.splits["test"]
    if test.text is None:
        raise GanbenchError(f"dataset {dataset.info.name!r} has no text embeddings to show")
    picked = distinct_caption_rows(test.text, n_rows)
    conditions = test.index(torch.tensor(picked).repeat_interleave(per_caption)).to(device)
    gen = torch.Generator(device=device).manual_seed(seed)
    z = model.sample_latent(per_caption, device, generator=gen)
    if z is not None:
        z = z.repeat(len(picked), *([1] * (z.dim() - 1)))
    with _eval_mode(model):
        fake = model.generate(z, conditions).float().cpu()
    expected = (len(conditions), *dataset.info.shape)
    if tuple(fake.shape) != expected:
        raise PluginContractError(
            f"generator of {type(model).__name__} returned shape {tuple(fake.shape)}, "
            f"expected {expected}"
        )
    labels = caption_labels(dataset, test.text[picked])
    rows = [
        GridRow(tuple(range(r * per_caption, (r + 1) * per_caption)), label)
        for r, label in enumerate(labels)
    ]
    legend = f"caption | {per_caption} samples (one z per column, the same in every row)"
    _save(_tiles(fake, tuple(dataset.info.shape[-2:])), rows, path, title, legend)


#: The task kinds whose figure shows inputs with the outputs.
TASK_GRIDS: dict[TaskKind, TaskGrid] = {
    TaskKind.SUPER_RESOLUTION: super_resolution_grid,
    TaskKind.UNPAIRED_TRANSLATION: translation_grid,
    TaskKind.TEXT_TO_IMAGE: text_to_image_grid,
}


def task_grid(task: TaskKind | str, dataset: GanDataset) -> TaskGrid | None:
    """The figure writer for a model of ``task`` on ``dataset``, or None (plain grid).

    None for unconditional and class-conditional models and for non-image data.
    """
    if dataset.info.kind != "image":
        return None
    return TASK_GRIDS.get(TaskKind(task))
