"""Which run's figures a leaderboard row shows, and copying their thumbnails next to the page.

A row aggregates several seeds; its figures are those of one of them: the
lowest completed seed whose run folder is still there (a diverged seed's
last samples say little about the entry, so completed seeds come first,
then diverged ones), and of that seed the run the table counts (the
newest, :mod:`ganbench.leaderboard.seeds`). When no seed's folder is left,
the cells say so. Thumbnails go to
``<out>/<task>/<dataset>_files/<run id>-samples.png`` (and ``-curves.png``),
named by the run so a rebuild rewrites the same files with the same bytes.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from ganbench.leaderboard.escape import safe_file_stem
from ganbench.leaderboard.seeds import Entry, group_by_seed
from ganbench.leaderboard.table import LeaderboardTable
from ganbench.leaderboard.thumbnails import MAX_SIDE, write_thumbnail
from ganbench.run.record import RunRecord, comparison_key

#: The run folder's figure files, by figure name (keys of ``MAX_SIDE``).
FIGURE_FILES: dict[str, str] = {"samples": "samples.png", "curves": "curves.png"}

#: (task, dataset, comparison key, entry): what identifies a row across the tables.
RowKey = tuple[str, str, str, Entry]


@dataclass(frozen=True)
class RowFigures:
    """The figures of one row, as the page shows them.

    Attributes:
        run: the run they come from, or None when the row has none.
        hrefs: figure name -> thumbnail path relative to the page; a figure
            without a thumbnail is absent.
        missing: figure name -> why it is not shown (plain text).
    """

    run: RunRecord | None
    hrefs: dict[str, str]
    missing: dict[str, str]


def figure_runs(records: Iterable[RunRecord]) -> dict[RowKey, list[RunRecord]]:
    """Each row's counted runs, in the order their figures are preferred (module docstring)."""
    tables: dict[tuple[str, str, str], list[RunRecord]] = {}
    for run in records:
        if run.status in ("completed", "diverged"):
            key = (run.task, run.dataset, run.comparison_key or comparison_key(run.protocol))
            tables.setdefault(key, []).append(run)
    candidates: dict[RowKey, list[RunRecord]] = {}
    # Seeds are grouped table by table, as the tables count them: an entry
    # (gan2d at 2,000 x 100) has the same name on two datasets.
    for key, shown in sorted(tables.items()):
        # group_by_seed sorts by entry then seed; completed seeds go before diverged ones.
        for group in sorted(group_by_seed(shown), key=lambda g: g.counted.status != "completed"):
            candidates.setdefault((*key, group.entry), []).append(group.counted)
    return candidates


def _pick(candidates: list[RunRecord]) -> RunRecord:
    """The first candidate whose run folder still exists, else the first."""
    for run in candidates:
        if run.run_dir and Path(run.run_dir).is_dir():
            return run
    return candidates[0]


def copy_figures(
    table: LeaderboardTable,
    runs: dict[RowKey, list[RunRecord]],
    files_dir: Path,
) -> tuple[list[RowFigures], list[Path]]:
    """Thumbnails of every row of ``table`` into ``files_dir``; the rows' figures and written paths.

    ``files_dir`` is the page's ``<dataset>_files`` folder, a sibling of the
    page, so hrefs are ``<dataset>_files/<name>``.
    """
    figures: list[RowFigures] = []
    written: list[Path] = []
    for row in table.rows.to_dict("records"):
        entry: Entry = (
            str(row["kind"]),
            str(row["model"]),
            str(row["tricks"]),
            int(row["steps"]),
            int(row["batch_size"]),
        )
        candidates = runs.get((table.task, table.dataset, table.comparison_key, entry))
        if not candidates:
            figures.append(RowFigures(None, {}, dict.fromkeys(FIGURE_FILES, "no run")))
            continue
        run = _pick(candidates)
        hrefs: dict[str, str] = {}
        missing: dict[str, str] = {}
        folder = Path(run.run_dir) if run.run_dir else None
        for figure, file_name in FIGURE_FILES.items():
            if folder is None:
                missing[figure] = "no run folder recorded"
                continue
            if not folder.is_dir():
                missing[figure] = "run folder gone"
                continue
            target = files_dir / f"{safe_file_stem(run.run_id)}-{figure}.png"
            if write_thumbnail(folder / file_name, target, figure):
                hrefs[figure] = f"{quote(files_dir.name)}/{quote(target.name)}"
                written.append(target)
            else:
                missing[figure] = f"no {file_name} in the run folder"
        figures.append(RowFigures(run, hrefs, missing))
    return figures, written


__all__ = ["FIGURE_FILES", "MAX_SIDE", "RowFigures", "copy_figures", "figure_runs"]
