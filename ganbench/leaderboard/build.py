"""``ganbench leaderboard build``: the results store -> Markdown, CSV and a static HTML site.

Per task and dataset: ``<task>/<dataset>.md``, ``.csv`` and ``.html`` (the
tables sortable in the browser, with each row's sample grid and training
curves as thumbnails copied into ``<task>/<dataset>_files/``), then
``index.html``, which lists every table, the published ablations
(``ablations/<model>/<dataset>.md``) and the trick × model matrix
(``tricks.md``, and ``tricks.html`` when given). Output is a pure function
of the stored records and the run folders' figures (sorted, no
timestamps, thumbnails without metadata), so rebuilding from the same
store gives byte-identical files and the committed ``leaderboards/``
folder only changes when results do.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path
from urllib.parse import quote

from ganbench.leaderboard.escape import safe_file_stem
from ganbench.leaderboard.render import ranking_text, render_csv, render_markdown
from ganbench.leaderboard.site import IndexLink, protocol_anchor, render_index, render_table_page
from ganbench.leaderboard.site_figures import copy_figures, figure_runs
from ganbench.leaderboard.table import LeaderboardTable, build_tables
from ganbench.results.atomic import atomic_write_text
from ganbench.results.store import ResultsStore
from ganbench.run.record import RunRecord

#: The trick × model matrix page, at the top of the output folder.
TRICKS_MD, TRICKS_HTML = "tricks.md", "tricks.html"


def build_leaderboards(
    store: ResultsStore, out_dir: Path, min_seeds: int = 1, tricks_html: str | None = None
) -> list[Path]:
    """Write the leaderboards of every run in ``store`` under ``out_dir``.

    Returns the written paths: for each task and dataset (sorted)
    ``<task>/<dataset>.md``, ``.csv``, ``.html`` and its thumbnails, then
    ``tricks.html`` (when ``tricks_html``, the matrix page's text, is given)
    and ``index.html``. Files for datasets no longer in the store are left
    alone (never delete what we did not write). A trained row with fewer
    than ``min_seeds`` completed seeds is left out
    (:func:`~ganbench.leaderboard.table.build_tables`).
    """
    return write_leaderboards(store.runs(), out_dir, min_seeds, tricks_html)


def write_leaderboards(
    records: Iterable[RunRecord],
    out_dir: Path,
    min_seeds: int = 1,
    tricks_html: str | None = None,
) -> list[Path]:
    """:func:`build_leaderboards` for an explicit list of records."""
    out_dir = Path(out_dir)
    records = list(records)
    by_page: dict[tuple[str, str], list[LeaderboardTable]] = defaultdict(list)
    for table in build_tables(records, min_seeds):
        by_page[(table.task, table.dataset)].append(table)
    runs = figure_runs(records)

    written: list[Path] = []
    index_rows: list[IndexLink] = []
    for (task, dataset), tables in sorted(by_page.items()):
        # Task and dataset names come from plugins: never let them pick a path.
        task_dir, stem = safe_file_stem(task), safe_file_stem(dataset)
        md_path = out_dir / task_dir / f"{stem}.md"
        csv_path = out_dir / task_dir / f"{stem}.csv"
        html_path = out_dir / task_dir / f"{stem}.html"
        atomic_write_text(md_path, render_markdown(task, dataset, tables))
        atomic_write_text(csv_path, render_csv(tables))
        figures = []
        thumbnails: list[Path] = []
        for table in tables:
            table_figures, paths = copy_figures(table, runs, out_dir / task_dir / f"{stem}_files")
            figures.append(table_figures)
            thumbnails += paths
        links = {"all tables": "../index.html", "Markdown": f"{stem}.md", "CSV": f"{stem}.csv"}
        atomic_write_text(html_path, render_table_page(task, dataset, tables, figures, links))
        written += [md_path, csv_path, html_path, *thumbnails]

        page = f"{task_dir}/{stem}"
        for table in tables:
            index_rows.append(
                IndexLink(
                    cells=(task, dataset, table.comparison_key, str(len(table.rows)),
                           ranking_text(table)),
                    links={"table": f"{page}.html#{protocol_anchor(table)}",
                           "Markdown": f"{page}.md", "CSV": f"{page}.csv"},
                )
            )  # fmt: skip

    tricks: dict[str, str] = {}
    if tricks_html is not None:
        atomic_write_text(out_dir / TRICKS_HTML, tricks_html)
        written.append(out_dir / TRICKS_HTML)
    if (out_dir / TRICKS_HTML).is_file():
        tricks["HTML"] = TRICKS_HTML
    if (out_dir / TRICKS_MD).is_file():
        tricks["Markdown"] = TRICKS_MD
    index_path = out_dir / "index.html"
    atomic_write_text(index_path, render_index(index_rows, _ablation_links(out_dir), tricks))
    written.append(index_path)
    return written


def _ablation_links(out_dir: Path) -> list[IndexLink]:
    """One row per published ablation, ``ablations/<model>/<dataset>.md`` and/or ``.csv``."""
    found: dict[tuple[str, str], dict[str, str]] = defaultdict(dict)
    folder = out_dir / "ablations"
    if not folder.is_dir():
        return []
    for path in sorted(folder.glob("*/*")):
        label = {".md": "Markdown", ".csv": "CSV"}.get(path.suffix)
        if label is None or not path.is_file():
            continue
        # Folder and file names on disk are not ours: percent-encode them in the href.
        href = f"ablations/{quote(path.parent.name)}/{quote(path.name)}"
        found[(path.parent.name, path.stem)][label] = href
    return [
        IndexLink(cells=key, links=dict(sorted(links.items(), reverse=True)))
        for key, links in sorted(found.items())
    ]
