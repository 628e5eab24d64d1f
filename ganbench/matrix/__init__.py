"""Every trick against every model: ``ganbench tricks --matrix`` and ``leaderboards/tricks.md``.

The matrix is computed from the registrations alone (each trick's ``check``
on each model as its plugin builds it, each model's fit to a dataset, and
the ablation CSVs ``ganbench ablate`` published), so it cannot go stale:
the page is regenerated, never edited.
"""

from ganbench.matrix.build import Cell, Matrix, ModelColumn, build_matrix

__all__ = ["Cell", "Matrix", "ModelColumn", "build_matrix"]
