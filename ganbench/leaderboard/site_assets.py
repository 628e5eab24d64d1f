"""The leaderboard site's inline stylesheet and sort script.

Both are constants inlined into every page, so a page works opened from
disk, offline, with no external script, font or CDN. The script holds no
data: each cell carries its sort key in a ``data-key`` attribute (escaped
like any other attribute), so nothing a plugin names ever reaches script
text, and the script is byte-identical on every page.

How sorting works: a sortable header cell has ``data-type="num"`` or
``data-type="text"``; clicking it sorts its table's body rows by the
column's ``data-key`` values, ascending first, then toggles. Numeric keys
compare as numbers; an empty key (``n/a``, ``-``) always sorts last. The
rank column's key is the row's position in the published order, so
sorting it ascending restores that order, which is the state a page opens
in (``aria-sort="ascending"`` on the rank header). The sorted header shows
its direction with an arrow and ``aria-sort``.
"""

from __future__ import annotations

#: The stylesheet of every site page.
SITE_CSS = """\
body { font-family: sans-serif; margin: 2em; color: #222; }
table { border-collapse: collapse; margin: 0.5em 0 1em; }
th, td { border: 1px solid #ccc; padding: 0.2em 0.6em; text-align: right; vertical-align: middle; }
td.text, th.text { text-align: left; }
th[data-type] { cursor: pointer; user-select: none; background: #f4f4f4; }
th[data-type]:hover { background: #e8e8f4; }
th .dir { display: inline-block; min-width: 1em; color: #36c; }
th[aria-sort="ascending"] .dir::after { content: "\\25B2"; }
th[aria-sort="descending"] .dir::after { content: "\\25BC"; }
.layout { display: flex; gap: 1.5em; align-items: flex-start; }
.layout > div { min-width: 0; overflow-x: auto; }
@media (max-width: 60em) { .layout { flex-wrap: wrap; } }
th.fig, td.fig { text-align: left; }
.protocol { flex: 0 0 20em; font-size: 0.85em; background: #fafafa; border: 1px solid #ddd;
  padding: 0.5em 1em; }
.protocol ul { padding-left: 1.2em; margin: 0.3em 0; }
.protocol li { word-break: break-word; }
img.thumb { display: block; image-rendering: pixelated; }
.missing { color: #999; font-size: 0.85em; text-align: left; }
td.yes { background: #eaf7ea; }
td.no { background: #fbf3e4; }
.note { color: #a60; }
.legend { color: #555; font-size: 0.9em; }
"""

#: The sort script of every page with a sortable table (see the module docstring).
SORT_SCRIPT = """\
(function () {
  "use strict";
  function key(row, column, numeric) {
    var text = row.cells[column].getAttribute("data-key");
    if (text === null || text === "") { return null; }
    return numeric ? parseFloat(text) : text;
  }
  function sortBy(header) {
    var table = header.closest("table");
    var body = table.tBodies[0];
    var column = header.cellIndex;
    var numeric = header.getAttribute("data-type") === "num";
    var ascending = header.getAttribute("aria-sort") !== "ascending";
    var rows = Array.prototype.slice.call(body.rows);
    rows.forEach(function (row, index) { row._order = index; });
    rows.sort(function (a, b) {
      var x = key(a, column, numeric), y = key(b, column, numeric);
      if (x === null || y === null) {
        if (x === y) { return a._order - b._order; }
        return x === null ? 1 : -1;  /* missing values last, either direction */
      }
      var c = x < y ? -1 : (x > y ? 1 : 0);
      if (c === 0) { return a._order - b._order; }  /* stable */
      return ascending ? c : -c;
    });
    rows.forEach(function (row) { body.appendChild(row); });
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (cell) {
      if (cell.hasAttribute("data-type")) { cell.setAttribute("aria-sort", "none"); }
    });
    header.setAttribute("aria-sort", ascending ? "ascending" : "descending");
  }
  document.querySelectorAll("th[data-type]").forEach(function (header) {
    header.addEventListener("click", function () { sortBy(header); });
  });
})();
"""
