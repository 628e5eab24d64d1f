"""The trick × model matrix as the leaderboard site's page ``tricks.html``.

The same content as ``tricks.md`` (:func:`ganbench.matrix.render.render_markdown`):
the applies / refused table, the numbered refusal reasons, the models not
built, the published ablations and the tricks, as HTML in the site's style.
Trick, model and dataset names and refusal reasons come from plugins and
are escaped (:func:`~ganbench.leaderboard.escape.escape_html`). A pure
function of the matrix, so an unchanged registry renders the same bytes.
"""

from __future__ import annotations

from ganbench.leaderboard.escape import escape_html as _e
from ganbench.leaderboard.site import page
from ganbench.matrix.build import Matrix

# The Markdown page's helpers, shared so the two pages cannot say different things.
from ganbench.matrix.render import (
    _dataset_sentence,
    _effects,
    _refused_pairs,
    cell_text,
    effect_long,
    footnotes,
    summary_line,
)

_STATUS_CLASS = {"yes": "yes", "no": "no", "error": "no"}


def render_html(matrix: Matrix) -> str:
    """The page ``tricks.html``: the matrix and its notes, linking back to the index."""
    notes = footnotes(matrix)
    built = matrix.built_columns
    body = [
        "<h1>Tricks × models</h1>",
        '<p><a href="index.html">all tables</a></p>',
        f"<p><strong>{_e(summary_line(matrix))}.</strong></p>",
        "<p>A trick applies to a model when its own check accepts the model as the model's "
        "plugin builds it (default parameters, untrained). "
        f"{_e(_dataset_sentence(matrix))} yes: applies; no [n]: refused, for reason n below; "
        "an effect in brackets: a published ablation (arm - baseline on the primary metric).</p>",
        '<table class="matrix">',
        '<thead><tr><th class="text">trick</th>'
        + "".join(f"<th>{_e(c.name)}<br>({_e(str(c.dataset))})</th>" for c in built)
        + "</tr></thead>",
        "<tbody>",
    ]
    for trick in matrix.tricks:
        cells = []
        for column in built:
            cell = matrix.cell(trick, column.name)
            css = _STATUS_CLASS.get(cell.status, "")
            cells.append(f'<td class="{css}">{_e(cell_text(cell, notes))}</td>')
        body.append(f'<tr><td class="text">{_e(trick)}</td>{"".join(cells)}</tr>')
    body += ["</tbody>", "</table>", "<h2>Why a trick is refused</h2>"]
    if notes:
        pairs = _refused_pairs(matrix, notes)
        body.append("<ol>")
        body += [
            f"<li>{_e(reason)} ({_e(', '.join(pairs[n]))})</li>" for reason, n in notes.items()
        ]
        body.append("</ol>")
    else:
        body.append("<p>Every trick applies to every model.</p>")
    unbuilt = [c for c in matrix.columns if not c.built]
    if unbuilt:
        body += ["<h2>Models not built</h2>", "<ul>"]
        body += [f"<li>{_e(c.name)}: {_e(str(c.note))}</li>" for c in unbuilt]
        body.append("</ul>")
    body.append("<h2>Published ablations</h2>")
    effects = _effects(matrix)
    if effects:
        body += ["<ul>", *(f"<li>{_e(effect_long(e))}</li>" for e in effects), "</ul>"]
    else:
        body.append("<p>None yet.</p>")
    body += [
        "<h2>The tricks</h2>",
        '<table class="index"><thead><tr><th class="text">trick</th><th class="text">plugin</th>'
        '<th class="text">hook points</th><th class="text">description</th></tr></thead>',
        "<tbody>",
    ]
    for trick in matrix.tricks:
        spec = matrix.trick_specs[trick]
        cells = (
            trick,
            matrix.trick_owners[trick],
            ", ".join(spec.hook_points),
            spec.description or "-",
        )
        body.append("<tr>" + "".join(f'<td class="text">{_e(c)}</td>' for c in cells) + "</tr>")
    body += ["</tbody>", "</table>"]
    return page("Tricks × models · ganbench", body, sortable=False)
