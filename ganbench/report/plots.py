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

from ganbench.report.curve_scales import (
    ROBUST_PERCENTILE,
    robust_limits,
    rolling_mean,
    smoothing_window,
    validation_scale,
)
from ganbench.report.figure import new_figure, save_figure_png
from ganbench.report.sample_grid import save_image_grid
from ganbench.results.atomic import atomic_write_text

#: More reference points than this are drawn as a faint cloud (real data);
#: fewer as large markers (mode centres).
_MAX_CENTRE_MARKERS = 100


def save_sample_grid(
    samples: torch.Tensor,
    path: Path,
    nrow: int = 8,
    reference: torch.Tensor | None = None,
    *,
    title: str | None = None,
    labels: torch.Tensor | None = None,
) -> None:
    """Save generated samples as a PNG.

    Args:
        samples: ``N x C x H x W`` images in [-1, 1] (C is 1 or 3), or
            ``N x 2`` points.
        path: the PNG to write.
        nrow: images per grid row (images only); with ``labels``, images
            per class.
        reference: for points only, ``M x 2`` real data or mode centres drawn
            under the samples.
        title: what the samples are (model, dataset, seed, step), on top.
        labels: images only: ``(N,)`` class each sample was generated for;
            the grid then has one row per class, labelled with it.

    Images become a grid with white padding, small ones upscaled with nearest
    neighbour to at least :data:`~ganbench.report.sample_grid.MIN_GRID_WIDTH_PX`
    pixels (:mod:`ganbench.report.sample_grid`); points become a 500 x 500 px
    scatter plot.
    """
    values = samples.detach().to("cpu", torch.float32)
    if values.shape[0] == 0:
        raise ValueError("save_sample_grid needs at least one sample")
    if values.dim() == 4:
        save_image_grid(values, Path(path), nrow, title=title, labels=labels)
    elif values.dim() == 2 and values.shape[1] == 2:
        ref = None if reference is None else reference.detach().to("cpu", torch.float32)
        _save_scatter(values, ref, Path(path), title)
    else:
        raise ValueError(
            f"save_sample_grid expects N x C x H x W images or N x 2 points, "
            f"got shape {tuple(values.shape)}"
        )


def save_curves_csv(rows: Sequence[dict[str, Any]], csv_path: Path) -> None:
    """The CSV half of :func:`save_training_curves`, written atomically (used mid-run)."""
    atomic_write_text(csv_path, _rows_to_csv(rows, _columns(rows)))


def save_training_curves(
    rows: Sequence[dict[str, Any]],
    csv_path: Path,
    png_path: Path,
    *,
    title: str | None = None,
    selected_step: int | None = None,
) -> None:
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
            Readability (:mod:`ganbench.report.curve_scales`): validation
            values on a log axis when all are positive; long loss series
            smoothed over their faint raw curve; axes that ignore a few spikes.
        title: what was trained (model, dataset, seed), on top.
        selected_step: the checkpoint evaluated, drawn as a dashed line.
    """
    columns = _columns(rows)
    atomic_write_text(csv_path, _rows_to_csv(rows, columns))

    losses = [name for name in columns if name.startswith("loss")]
    validation = [name for name in columns if name.startswith("val_")]
    figure = new_figure(8, 4.5 if not validation else 7)
    axes = figure.subplots(2 if validation else 1, 1, sharex=True, squeeze=False)[:, 0]
    _plot_losses(axes[0], rows, losses)
    if validation:
        _plot_validation(axes[1], rows, validation)
    for ax in axes:
        if selected_step is not None and rows:
            ax.axvline(
                selected_step,
                color="0.3",
                linestyle="--",
                linewidth=1,
                label=f"selected step {selected_step}",
            )
        ax.grid(True, alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(loc="best", fontsize="small")
    axes[-1].set_xlabel("step")
    if title:
        figure.suptitle(title)
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


def _plot_losses(ax: Any, rows: Sequence[dict[str, Any]], names: list[str]) -> None:
    everything: list[float] = []
    for index, name in enumerate(names):
        steps, values = _series(rows, name)
        everything += values
        colour = f"C{index}"
        window = smoothing_window(len(values))
        if window > 1:
            ax.plot(steps, values, color=colour, linewidth=0.8, alpha=0.3)
            smooth = rolling_mean(values, window)
            ax.plot(steps, smooth, color=colour, linewidth=1.5, label=f"{name} ({window}-pt mean)")
        else:
            ax.plot(steps, values, color=colour, linewidth=1, label=name)
    limits = robust_limits(everything)
    label = "loss"
    if limits is not None:
        ax.set_ylim(*limits)
        label += f" (spikes cut: {ROBUST_PERCENTILE:g}-{100 - ROBUST_PERCENTILE:g}th pct)"
    ax.set_ylabel(label)


def _plot_validation(ax: Any, rows: Sequence[dict[str, Any]], names: list[str]) -> None:
    everything: list[float] = []
    # Colours after the two losses', so no validation line looks like a loss.
    for index, name in enumerate(names, start=2):
        steps, values = _series(rows, name)
        everything += values
        ax.plot(steps, values, color=f"C{index}", linewidth=1, marker="o", markersize=3, label=name)
    scale = validation_scale(everything)
    ax.set_yscale(scale)
    if scale == "log":
        _label_log_axis(ax, everything)
    ax.set_ylabel("validation" + (" (log scale)" if scale == "log" else ""))


def _label_log_axis(ax: Any, values: list[float]) -> None:
    """Plain-number tick labels on a log y axis, dense enough to read values off.

    Matplotlib labels only powers of ten (``10^3``), which leaves a curve
    between 830 and 1400 with one label. Spanning a decade or more, the axis
    also labels 2x and 5x each power; spanning less, it gets evenly spaced
    round values instead.
    """
    from matplotlib.ticker import FuncFormatter, LogLocator, MaxNLocator, NullFormatter

    finite = [v for v in values if math.isfinite(v)]
    plain = FuncFormatter(lambda value, _: f"{value:g}")
    if max(finite) / min(finite) >= 10:
        ax.yaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    else:
        ax.yaxis.set_major_locator(MaxNLocator(nbins=6))
    ax.yaxis.set_major_formatter(plain)
    ax.yaxis.set_minor_formatter(NullFormatter())


def _save_scatter(
    points: torch.Tensor, reference: torch.Tensor | None, path: Path, title: str | None
) -> None:
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
    lines = [title] if title else []
    if not finite.all():
        # Say so rather than silently dropping them from the picture.
        lines.append(f"{int((~finite).sum())} non-finite samples not shown")
    if lines:
        ax.set_title("\n".join(lines), fontsize="medium")
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
