"""PNG reports of a run: sample grids (images or 2-D points) and training curves.

All files are written atomically (:mod:`ganbench.results.atomic`).
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torchvision.utils import make_grid

from ganbench.report.figure import new_figure, save_figure_png
from ganbench.results.atomic import atomic_write_bytes, atomic_write_text

#: Tiny images (8x8 digits) are upscaled, by an integer factor with nearest
#: neighbour so pixels stay crisp, until each cell is at least this many pixels.
MIN_CELL_PX = 32

#: Pixels between grid cells.
GRID_PADDING = 2

#: More reference points than this are drawn as a faint cloud (real data);
#: fewer as large markers (mode centres).
_MAX_CENTRE_MARKERS = 100


def save_sample_grid(
    samples: torch.Tensor,
    path: Path,
    nrow: int = 8,
    reference: torch.Tensor | None = None,
) -> None:
    """Save generated samples as a PNG.

    Args:
        samples: ``N x C x H x W`` images in [-1, 1] (C is 1 or 3), or
            ``N x 2`` points.
        path: the PNG to write.
        nrow: images per grid row (images only).
        reference: for points only, ``M x 2`` real data or mode centres drawn
            under the samples.

    Images become a grid with white padding, each cell upscaled to at least
    :data:`MIN_CELL_PX` pixels; points become a 500 x 500 px scatter plot.
    """
    values = samples.detach().to("cpu", torch.float32)
    if values.shape[0] == 0:
        raise ValueError("save_sample_grid needs at least one sample")
    if values.dim() == 4:
        _save_image_grid(values, Path(path), nrow)
    elif values.dim() == 2 and values.shape[1] == 2:
        ref = None if reference is None else reference.detach().to("cpu", torch.float32)
        _save_scatter(values, ref, Path(path))
    else:
        raise ValueError(
            f"save_sample_grid expects N x C x H x W images or N x 2 points, "
            f"got shape {tuple(values.shape)}"
        )


def save_training_curves(rows: Sequence[dict[str, Any]], csv_path: Path, png_path: Path) -> None:
    """Save logged training rows as a CSV and a PNG of the curves.

    Args:
        rows: one dict per logged step, e.g. ``{"step": 100, "loss_d": 1.2,
            "loss_g": 0.8, "val_fid[digits-evaluator]": 41.0}``; keys may vary
            between rows.
        csv_path: gets every key as a column (``step`` first, then keys in
            the order first seen; missing cells empty).
        png_path: losses (keys starting with ``loss``) against step; if any
            key starts with ``val_``, those go in a second panel below, since
            their scale has nothing to do with the losses'. Other keys are in
            the CSV only. Non-finite values (a diverged loss) leave gaps.
    """
    columns = _columns(rows)
    atomic_write_text(csv_path, _rows_to_csv(rows, columns))

    losses = [name for name in columns if name.startswith("loss")]
    validation = [name for name in columns if name.startswith("val_")]
    panels = [("loss", losses)] + ([("validation", validation)] if validation else [])
    figure = new_figure(8, 4.5 if len(panels) == 1 else 7)
    axes = figure.subplots(len(panels), 1, sharex=True, squeeze=False)[:, 0]
    for ax, (label, names) in zip(axes, panels, strict=True):
        for name in names:
            steps, values = _series(rows, name)
            ax.plot(steps, values, label=name, linewidth=1)
        ax.set_ylabel(label)
        ax.grid(True, alpha=0.3)
        if names:
            ax.legend(loc="best", fontsize="small")
    axes[-1].set_xlabel("step")
    if not rows:
        axes[0].text(
            0.5,
            0.5,
            "no training rows logged",
            ha="center",
            va="center",
            transform=axes[0].transAxes,
        )
    save_figure_png(figure, png_path)


def _save_image_grid(images: torch.Tensor, path: Path, nrow: int) -> None:
    channels, height, width = images.shape[1:]
    if channels not in (1, 3):
        raise ValueError(f"sample images must have 1 or 3 channels, got {channels}")
    # A diverged generator can emit NaN; show it as black rather than garbage.
    pixels = torch.nan_to_num((images + 1) / 2, nan=0.0).clamp(0, 1)
    scale = math.ceil(MIN_CELL_PX / min(height, width))
    if scale > 1:
        pixels = F.interpolate(pixels, scale_factor=scale, mode="nearest")
    grid = make_grid(pixels, nrow=nrow, padding=GRID_PADDING, pad_value=1.0)
    array = (grid * 255).round().to(torch.uint8).permute(1, 2, 0).numpy()
    buffer = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(array)).save(buffer, format="PNG")
    atomic_write_bytes(path, buffer.getvalue())


def _save_scatter(points: torch.Tensor, reference: torch.Tensor | None, path: Path) -> None:
    figure = new_figure(5, 5)
    ax = figure.add_subplot()
    if reference is not None and reference.numel():
        ref = reference.numpy()
        if len(ref) <= _MAX_CENTRE_MARKERS:
            ax.scatter(ref[:, 0], ref[:, 1], s=60, marker="x", c="tab:red", label="modes")
        else:
            ax.scatter(ref[:, 0], ref[:, 1], s=2, c="0.6", alpha=0.3, label="real")
    data = points.numpy()
    finite = np.isfinite(data).all(axis=1)
    ax.scatter(data[finite, 0], data[finite, 1], s=3, c="tab:blue", alpha=0.5, label="generated")
    if not finite.all():
        # Say so rather than silently dropping them from the picture.
        ax.set_title(f"{int((~finite).sum())} non-finite samples not shown", fontsize="small")
    ax.set_aspect("equal", adjustable="datalim")
    ax.legend(loc="upper right", fontsize="small")
    save_figure_png(figure, path)


def _columns(rows: Sequence[dict[str, Any]]) -> list[str]:
    """``step`` first, then every other key in the order first seen."""
    seen: dict[str, None] = {"step": None}
    for row in rows:
        seen.update(dict.fromkeys(row))
    return list(seen)


def _rows_to_csv(rows: Sequence[dict[str, Any]], columns: list[str]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, restval="", lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def _series(rows: Sequence[dict[str, Any]], name: str) -> tuple[list[float], list[float]]:
    """(steps, values) of the rows that have ``name``; non-finite values become NaN gaps."""
    steps, values = [], []
    for index, row in enumerate(rows):
        if name not in row or row[name] is None:
            continue
        value = float(row[name])
        steps.append(float(row.get("step", index)))
        values.append(value if math.isfinite(value) else math.nan)
    return steps, values
