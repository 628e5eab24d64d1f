"""The leaderboard site's pages: ``index.html`` and one ``<task>/<dataset>.html`` per table page.

Pure functions from tables (and the figures :mod:`ganbench.leaderboard.site_figures`
copied) to HTML text: no clock, no file system, so the same store renders
to the same bytes. Every plugin-supplied string (model, trick, dataset,
task and metric names, notes) goes through
:func:`~ganbench.leaderboard.escape.escape_html`, in element content and
in quoted attributes alike; hrefs are also percent-encoded. The inline
sort script (:mod:`ganbench.leaderboard.site_assets`) is a constant: sort
keys travel in ``data-key`` attributes, never in script text.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from ganbench.leaderboard.escape import escape_html, safe_file_stem
from ganbench.leaderboard.protocol_text import protocol_lines
from ganbench.leaderboard.render import (
    GENERATED,
    PREAMBLE,
    display_cells,
    displayed_metrics,
    ranking_text,
    shows_p,
    table_legend,
)
from ganbench.leaderboard.site_assets import SITE_CSS, SORT_SCRIPT
from ganbench.leaderboard.site_figures import FIGURE_FILES, RowFigures
from ganbench.leaderboard.table import LeaderboardTable

_e = escape_html

#: Columns of a table page that sort as text; every other data column sorts as a number.
_TEXT_COLUMNS = frozenset({1, 2})  # model, tricks


@dataclass(frozen=True)
class IndexLink:
    """One row of an index list: what it is (cells, plain text) and where it links.

    Attributes:
        cells: the row's text cells, unescaped.
        links: label -> href (relative to ``index.html``, already percent-encoded).
    """

    cells: tuple[str, ...]
    links: dict[str, str]


def protocol_anchor(table: LeaderboardTable) -> str:
    """The ``id`` of ``table``'s section on its page (safe in a URL fragment)."""
    return f"protocol-{safe_file_stem(table.comparison_key)}"


def page(title: str, body: Sequence[str], *, sortable: bool) -> str:
    """A whole HTML document: inline CSS, ``body`` parts, and the sort script when ``sortable``."""
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_e(title)}</title>",
        f"<style>\n{SITE_CSS}</style>",
        "</head>",
        "<body>",
        *body,
    ]
    if sortable:
        parts.append(f"<script>\n{SORT_SCRIPT}</script>")
    parts += ["</body>", "</html>"]
    return "\n".join(parts) + "\n"


def render_table_page(
    task: str,
    dataset: str,
    tables: Sequence[LeaderboardTable],
    figures: Sequence[Sequence[RowFigures]],
    links: dict[str, str],
) -> str:
    """The page of one task and dataset: a sortable table per protocol, the protocol beside it.

    ``figures[i][j]`` are the figures of row ``j`` of ``tables[i]``;
    ``links`` (label -> href relative to the page) go under the heading.
    """
    link_html = " · ".join(f'<a href="{_e(href)}">{_e(label)}</a>' for label, href in links.items())
    body = [
        f"<h1>Leaderboard: {_e(dataset)} ({_e(task)})</h1>",
        f"<p>{_e(GENERATED.replace('`', ''))} Click a column header to sort by it.</p>",
        f"<p>{_e(PREAMBLE.replace('`', ''))}</p>",
        f"<p>{link_html}</p>",
    ]
    for table, table_figures in zip(tables, figures, strict=True):
        body += _table_section(table, table_figures)
    return page(f"{dataset} ({task}) · ganbench leaderboard", body, sortable=True)


def _table_section(table: LeaderboardTable, figures: Sequence[RowFigures]) -> list[str]:
    items = protocol_lines(table.protocol, table.comparison_key)
    items.append(("ranked by", ranking_text(table)))
    protocol = "\n".join(f"<li>{_e(label)}: {_e(text)}</li>" for label, text in items)
    header, body = display_cells(table)
    rows = table.rows.to_dict("records")
    parts = [
        f'<section id="{_e(protocol_anchor(table))}">',
        f"<h2>Protocol <code>{_e(table.comparison_key)}</code></h2>",
        '<div class="layout">',
        "<div>",
        '<table class="leaderboard">',
        "<thead><tr>" + "".join(_header_cell(i, text) for i, text in enumerate(header)),
    ]
    parts[-1] += (
        "".join(f'<th class="fig">{_e(name)}</th>' for name in FIGURE_FILES) + "</tr></thead>"
    )
    parts.append("<tbody>")
    for position, (cells, row, row_figures) in enumerate(zip(body, rows, figures, strict=True)):
        keys = _sort_keys(table, row, position)
        tds = "".join(
            _data_cell(i, text, key) for i, (text, key) in enumerate(zip(cells, keys, strict=True))
        )
        tds += "".join(_figure_cell(row_figures, name) for name in FIGURE_FILES)
        parts.append(f"<tr>{tds}</tr>")
    parts += ["</tbody>", "</table>"]
    parts += [f'<p class="legend">{_e(line)}</p>' for line in table_legend(table)]
    parts += [f'<p class="note">Note: {_e(note)}</p>' for note in table.notes]
    parts += [
        "</div>",
        f'<aside class="protocol"><h3>Protocol</h3>\n<ul>\n{protocol}\n</ul></aside>',
        "</div>",
        "</section>",
    ]
    return parts


def _header_cell(index: int, text: str) -> str:
    kind = "text" if index in _TEXT_COLUMNS else "num"
    css = ' class="text"' if kind == "text" else ""
    # The rank column starts sorted: the published order is rank order.
    state = "ascending" if index == 0 else "none"
    return (
        f'<th{css} data-type="{kind}" aria-sort="{state}" title="sort by {_e(text)}">'
        f'{_e(text)}<span class="dir"></span></th>'
    )


def _data_cell(index: int, text: str, key: str) -> str:
    css = ' class="text"' if index in _TEXT_COLUMNS else ""
    return f'<td{css} data-key="{_e(key)}">{_e(text)}</td>'


def _figure_cell(figures: RowFigures, name: str) -> str:
    href = figures.hrefs.get(name)
    if href is None:
        return f'<td class="missing">{_e(figures.missing.get(name, "not available"))}</td>'
    run = figures.run
    seed = f", seed {run.seed}" if run is not None else ""
    model = run.model_label() if run is not None else ""
    alt = f"{name} of {model}{seed}"
    return f'<td class="fig"><img class="thumb" src="{_e(href)}" alt="{_e(alt)}" title="{_e(alt)}"></td>'


def _number_key(value: object) -> str:
    """A float as a sort key; empty (sorts last) when missing or not finite."""
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return ""
    return repr(number) if math.isfinite(number) else ""


def _sort_keys(table: LeaderboardTable, row: dict[str, object], position: int) -> list[str]:
    """The ``data-key`` of each displayed cell of ``row`` (in :func:`display_cells` order)."""
    no_budget = row["kind"] in ("real-data", "baseline")
    keys = [
        str(position),
        str(row["model"]),
        str(row["tricks"]),
        "" if no_budget else _number_key(row["steps"]),
        "" if no_budget else _number_key(row["batch_size"]),
        _number_key(row["n_seeds"]),
        _number_key(row["n_diverged"]),
    ]
    if shows_p(table):
        # As p_text: only a ranked row with a row above has a p-value.
        above = row["role"] == "ranked" and not pd.isna(row.get("tied_with_above"))
        keys.append(_number_key(row.get("p_vs_above")) if above else "")
    keys += [_number_key(row[f"{name}_mean"]) for name in displayed_metrics(table)]
    return keys


def render_index(
    tables: Sequence[IndexLink],
    ablations: Sequence[IndexLink],
    tricks: dict[str, str],
) -> str:
    """``index.html``: every table, the published ablations and the trick × model matrix."""
    body = [
        "<h1>ganbench leaderboards</h1>",
        f"<p>{_e(GENERATED.replace('`', ''))}</p>",
        f"<p>{_e(PREAMBLE.replace('`', ''))}</p>",
        "<h2>Tables</h2>",
    ]
    if tables:
        body += _index_table(("task", "dataset", "protocol", "rows", "ranked by"), tables)
    else:
        body.append("<p>No runs in the results store yet.</p>")
    body.append("<h2>Ablations</h2>")
    if ablations:
        body += _index_table(("model", "dataset"), ablations)
    else:
        body.append("<p>None published (ganbench ablate writes ablations/MODEL/DATASET.md).</p>")
    body.append("<h2>Tricks × models</h2>")
    if tricks:
        links = " · ".join(
            f'<a href="{_e(href)}">{_e(label)}</a>' for label, href in tricks.items()
        )
        body.append(f"<p>Which trick applies to which model, and why not: {links}</p>")
    else:
        body.append("<p>Not published here (ganbench tricks --matrix --write tricks.md).</p>")
    return page("ganbench leaderboards", body, sortable=False)


def _index_table(columns: Sequence[str], rows: Sequence[IndexLink]) -> list[str]:
    head = "".join(f'<th class="text">{_e(c)}</th>' for c in (*columns, "links"))
    parts = ['<table class="index">', f"<thead><tr>{head}</tr></thead>", "<tbody>"]
    for row in rows:
        cells = "".join(f'<td class="text">{_e(text)}</td>' for text in row.cells)
        links = " · ".join(
            f'<a href="{_e(href)}">{_e(label)}</a>' for label, href in row.links.items()
        )
        parts.append(f'<tr>{cells}<td class="text">{links}</td></tr>')
    parts += ["</tbody>", "</table>"]
    return parts
