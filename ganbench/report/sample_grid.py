"""Image sample grids as PNG: big enough to see, titled, and one row per class when conditional.

A grid of 8 x 8 digits at their own size is a 70 px smudge, so small images
are upscaled by an integer factor with nearest neighbour (pixels stay
crisp squares, nothing is invented) until the grid is at least
:data:`MIN_GRID_WIDTH_PX` wide. A title says what the samples are. For a
class-conditional model, whether the conditioning works is the first thing
to check by eye, so its samples are laid out one row per requested class,
each row labelled with its class.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, ImageDraw, ImageFont

from ganbench.results.atomic import atomic_write_bytes

#: Small images are upscaled (integer factor, nearest neighbour) until the grid
#: of cells is at least this many pixels wide.
MIN_GRID_WIDTH_PX = 640

#: Pixels between grid cells and around the grid.
GRID_PADDING = 2

#: A class-conditional grid shows at most this many classes (the lowest class
#: ids present); more rows would make every sample too small to judge.
MAX_CLASS_ROWS = 20

#: Height of the text of titles and class labels, in pixels.
FONT_PX = 16

#: Space around titles and labels, in pixels.
TEXT_MARGIN = 6

_WHITE = (255, 255, 255)
_BLACK = (0, 0, 0)


@dataclass(frozen=True)
class GridRow:
    """One row of a grid: which samples it shows, and its label (None: unlabelled)."""

    indices: tuple[int, ...]
    label: str | None = None


def rows_by_class(
    labels: torch.Tensor, per_class: int, max_classes: int = MAX_CLASS_ROWS
) -> list[GridRow]:
    """One row per class present in ``labels`` (ascending), of up to ``per_class`` samples each.

    Samples keep their order within a class; rows of classes with fewer
    samples are shorter. Only the ``max_classes`` lowest class ids get a row.

    Args:
        labels: (N,) integer class of each sample.
        per_class: samples per row.
        max_classes: most rows.
    """
    if labels.dim() != 1:
        raise ValueError(f"labels must have shape (N,), got {tuple(labels.shape)}")
    values = labels.detach().to("cpu", torch.int64)
    rows = []
    for cls in torch.unique(values).tolist()[:max_classes]:
        indices = torch.nonzero(values == cls).flatten()[:per_class]
        rows.append(GridRow(tuple(indices.tolist()), f"class {cls}"))
    return rows


def rows_in_order(n: int, per_row: int) -> list[GridRow]:
    """Samples ``0..n-1`` in rows of ``per_row``, unlabelled."""
    return [GridRow(tuple(range(start, min(start + per_row, n)))) for start in range(0, n, per_row)]


def upscale_factor(cell_width: int, columns: int, min_width: int = MIN_GRID_WIDTH_PX) -> int:
    """The integer factor that makes ``columns`` cells of ``cell_width`` px at least ``min_width`` wide."""
    return max(1, math.ceil(min_width / max(1, cell_width * columns)))


def _font(size: int = FONT_PX) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    # Pillow's built-in font, the same on every machine; a scalable one where
    # Pillow has FreeType, else its fixed bitmap font.
    try:
        return ImageFont.load_default(size=size)
    except (TypeError, OSError):  # pragma: no cover - Pillow without FreeType or < 10.1
        return ImageFont.load_default()


def _text_size(draw: ImageDraw.ImageDraw, text: str, font) -> tuple[int, int]:
    left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
    return right - left, bottom - top


def render_image_grid(
    images: torch.Tensor, rows: Sequence[GridRow], title: str | None = None
) -> Image.Image:
    """The grid of ``rows`` of ``images`` (N x C x H x W in [-1, 1], C 1 or 3) as an RGB image.

    Cells are upscaled by :func:`upscale_factor`; row labels, if any, go in a
    column on the left; ``title`` in a band on top.
    """
    channels, height, width = images.shape[1:]
    if channels not in (1, 3):
        raise ValueError(f"sample images must have 1 or 3 channels, got {channels}")
    columns = max((len(row.indices) for row in rows), default=1)
    scale = upscale_factor(width, columns)
    cell_w, cell_h = width * scale, height * scale
    # A diverged generator can emit NaN; show it as black rather than garbage.
    pixels = torch.nan_to_num((images.detach().float().cpu() + 1) / 2, nan=0.0).clamp(0, 1)
    if channels == 1:
        pixels = pixels.expand(-1, 3, -1, -1)

    font = _font()
    measure = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    labels = [row.label for row in rows if row.label]
    label_w = max((_text_size(measure, t, font)[0] for t in labels), default=0)
    label_w = label_w + 2 * TEXT_MARGIN if labels else 0
    title_w, title_h = _text_size(measure, title, font) if title else (0, 0)
    header_h = title_h + 2 * TEXT_MARGIN if title else 0

    grid_w = label_w + GRID_PADDING + columns * (cell_w + GRID_PADDING)
    canvas_w = max(grid_w, title_w + 2 * TEXT_MARGIN)
    canvas_h = header_h + GRID_PADDING + len(rows) * (cell_h + GRID_PADDING)
    canvas = np.full((canvas_h, canvas_w, 3), 255, dtype=np.uint8)
    for r, row in enumerate(rows):
        if not row.indices:
            continue
        cells = pixels[list(row.indices)]
        if scale > 1:
            cells = F.interpolate(cells, scale_factor=scale, mode="nearest")
        cells = (cells * 255).round().to(torch.uint8).permute(0, 2, 3, 1).numpy()
        top = header_h + GRID_PADDING + r * (cell_h + GRID_PADDING)
        for c, cell in enumerate(cells):
            left = label_w + GRID_PADDING + c * (cell_w + GRID_PADDING)
            canvas[top : top + cell_h, left : left + cell_w] = cell

    image = Image.fromarray(canvas)
    draw = ImageDraw.Draw(image)
    if title:
        draw.text((TEXT_MARGIN, TEXT_MARGIN), title, fill=_BLACK, font=font)
    for r, row in enumerate(rows):
        if row.label:
            top = header_h + GRID_PADDING + r * (cell_h + GRID_PADDING)
            text_h = _text_size(draw, row.label, font)[1]
            draw.text(
                (TEXT_MARGIN, top + (cell_h - text_h) // 2), row.label, fill=_BLACK, font=font
            )
    return image


def save_image_grid(
    images: torch.Tensor,
    path: Path,
    nrow: int = 8,
    *,
    title: str | None = None,
    labels: torch.Tensor | None = None,
) -> None:
    """Write ``images`` as a PNG grid (see :func:`render_image_grid`), atomically.

    Without ``labels``: rows of ``nrow`` images in order. With ``labels`` (the
    class each image was generated for): one labelled row of up to ``nrow``
    images per class (:func:`rows_by_class`).
    """
    if labels is not None:
        if labels.shape != (images.shape[0],):
            raise ValueError(
                f"labels must have one entry per image ({images.shape[0]}), "
                f"got shape {tuple(labels.shape)}"
            )
        rows = rows_by_class(labels, nrow)
        n_classes = len(torch.unique(labels))
        if n_classes > len(rows):
            shown = f"first {len(rows)} of {n_classes} classes shown"
            title = f"{title} ({shown})" if title else shown
    else:
        rows = rows_in_order(images.shape[0], nrow)
    buffer = io.BytesIO()
    render_image_grid(images, rows, title).save(buffer, format="PNG")
    atomic_write_bytes(path, buffer.getvalue())
