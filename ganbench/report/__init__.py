"""PNG reports of a run: sample grids and training curves."""

from __future__ import annotations

from ganbench.report.plots import save_sample_grid, save_training_curves

__all__ = ["save_sample_grid", "save_training_curves"]
