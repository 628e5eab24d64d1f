"""``ganbench leaderboard build``: the results store -> ``<task>/<dataset>.md``, ``.csv``, ``index.html``.

Output is a pure function of the stored records (sorted, no timestamps), so
rebuilding from the same store gives byte-identical files and the committed
``leaderboards/`` folder only changes when results do.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path

from ganbench.leaderboard.escape import safe_file_stem
from ganbench.leaderboard.render import (
    render_csv,
    render_html_page,
    render_html_section,
    render_markdown,
)
from ganbench.leaderboard.table import LeaderboardTable, build_tables
from ganbench.results.atomic import atomic_write_text
from ganbench.results.store import ResultsStore
from ganbench.run.record import RunRecord


def build_leaderboards(store: ResultsStore, out_dir: Path, min_seeds: int = 1) -> list[Path]:
    """Write the leaderboards of every run in ``store`` under ``out_dir``.

    Returns the written paths: ``<task>/<dataset>.md`` and ``.csv`` for each
    task and dataset (sorted), then ``index.html``. Files for datasets no
    longer in the store are left alone (never delete what we did not write).
    A trained row with fewer than ``min_seeds`` completed seeds is left out
    (:func:`~ganbench.leaderboard.table.build_tables`).
    """
    return write_leaderboards(store.runs(), out_dir, min_seeds)


def write_leaderboards(
    records: Iterable[RunRecord], out_dir: Path, min_seeds: int = 1
) -> list[Path]:
    """:func:`build_leaderboards` for an explicit list of records."""
    out_dir = Path(out_dir)
    by_page: dict[tuple[str, str], list[LeaderboardTable]] = defaultdict(list)
    for table in build_tables(records, min_seeds):
        by_page[(table.task, table.dataset)].append(table)

    written: list[Path] = []
    contents: list[tuple[str, str]] = []
    sections: list[str] = []
    for (task, dataset), tables in sorted(by_page.items()):
        # Task and dataset names come from plugins: never let them pick a path.
        task_dir, stem = safe_file_stem(task), safe_file_stem(dataset)
        md_path = out_dir / task_dir / f"{stem}.md"
        csv_path = out_dir / task_dir / f"{stem}.csv"
        atomic_write_text(md_path, render_markdown(task, dataset, tables))
        atomic_write_text(csv_path, render_csv(tables))
        written += [md_path, csv_path]

        anchor = f"{task_dir}--{stem}"
        links = {"Markdown": f"{task_dir}/{stem}.md", "CSV": f"{task_dir}/{stem}.csv"}
        contents.append((anchor, f"{dataset} ({task})"))
        sections.append(render_html_section(anchor, task, dataset, links, tables))

    index_path = out_dir / "index.html"
    atomic_write_text(index_path, render_html_page(contents, sections))
    written.append(index_path)
    return written
