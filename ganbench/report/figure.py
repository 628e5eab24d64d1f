"""Matplotlib figures rendered with Agg, without pyplot.

Using :class:`~matplotlib.figure.Figure` with an explicit Agg canvas, instead
of ``pyplot`` or ``matplotlib.use("Agg")``, touches no global state: no
backend switch for the host program (a notebook keeps its inline backend),
no figure registry that leaks memory across thousands of runs, no display needed.
"""

from __future__ import annotations

import io
from pathlib import Path

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from ganbench.results.atomic import atomic_write_bytes

#: Pixels per inch of every saved figure; sizes below are in inches.
DPI = 100


def new_figure(width_in: float, height_in: float) -> Figure:
    """A figure of ``width_in * DPI`` x ``height_in * DPI`` pixels on an Agg canvas."""
    figure = Figure(figsize=(width_in, height_in), dpi=DPI, layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def save_figure_png(figure: Figure, path: Path) -> None:
    """Render ``figure`` to PNG in memory, then write it atomically."""
    buffer = io.BytesIO()
    # No bbox_inches="tight": the pixel size stays exactly what was asked for.
    figure.savefig(buffer, format="png", dpi=DPI)
    atomic_write_bytes(path, buffer.getvalue())
