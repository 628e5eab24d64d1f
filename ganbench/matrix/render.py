"""The matrix as a rich table (terminal) and as the Markdown page ``leaderboards/tricks.md``.

Both are pure functions of the :class:`~ganbench.matrix.build.Matrix`:
sorted rows and columns, footnotes numbered in reading order, no
timestamps and no paths, so regenerating an unchanged registry gives the
same bytes (the page's test compares them).
"""

from __future__ import annotations

import math

from rich.markup import escape
from rich.table import Table

from ganbench.leaderboard.escape import escape_markdown
from ganbench.matrix.ablations import Effect
from ganbench.matrix.build import REPRESENTATIVE_DATASETS, Cell, Matrix

#: The command that writes the committed page, quoted on the page itself:
#: first-party plugins only (the ``ganbench`` distribution's entry points), so
#: a plugin installed on the machine that regenerates it cannot leak onto it.
PAGE_COMMAND = (
    "GANBENCH_LOAD_PLUGINS=ganbench ganbench tricks --matrix --write leaderboards/tricks.md"
)


def footnotes(matrix: Matrix) -> dict[str, int]:
    """Each distinct refusal (or check error) reason -> its number, in reading order."""
    numbers: dict[str, int] = {}
    for trick in matrix.tricks:
        for column in matrix.built_columns:
            cell = matrix.cell(trick, column.name)
            if cell.status in ("no", "error") and cell.reason not in numbers:
                numbers[str(cell.reason)] = len(numbers) + 1
    return numbers


def _number(value: float) -> str:
    return f"{value:+.3g}" if math.isfinite(value) else "n/a"


def effect_short(effect: Effect) -> str:
    """An effect in a few words, for a cell: ``fid -1.2, better``."""
    return f"{effect.metric} {_number(effect.mean_difference)}, {effect.verdict}"


def effect_long(effect: Effect) -> str:
    """An effect in full, for the list below the table."""
    better = "lower" if effect.direction == "lower" else "higher"
    return (
        f"{effect.arm} on {effect.model_stem} ({effect.dataset}, {effect.n_seeds} seeds): "
        f"{effect.metric} ({better} is better) {_number(effect.mean_difference)}, "
        f"95% CI [{_number(effect.ci_low)}, {_number(effect.ci_high)}], "
        f"p {effect.p_value:.3g}: {effect.verdict}"
    )


def cell_text(cell: Cell, notes: dict[str, int]) -> str:
    """``yes``, ``yes (fid -1.2, better)``, ``no [3]``, ``error [4]`` or ``-`` (model not built)."""
    if cell.status == "unbuilt":
        return "-"
    if cell.status == "yes":
        if not cell.effects:
            return "yes"
        more = f"; +{len(cell.effects) - 1} more" if len(cell.effects) > 1 else ""
        return f"yes ({effect_short(cell.effects[0])}{more})"
    return f"{cell.status} [{notes[str(cell.reason)]}]"


def summary_line(matrix: Matrix) -> str:
    """``N tricks apply to M models: K of N×M = P pairs``."""
    n, m = len(matrix.tricks), len(matrix.built_columns)
    return f"{n} tricks apply to {m} models: {matrix.applying_pairs} of {n}×{m} = {n * m} pairs"


def _dataset_sentence(matrix: Matrix) -> str:
    if matrix.dataset is not None:
        return f"Every model is built on {matrix.dataset!r}."
    first, second = REPRESENTATIVE_DATASETS
    return (
        f"Each model is built on one dataset it fits, named under its name: {first} for "
        f"image models (it has labels, so class-conditional models fit), {second} for 2-D "
        "models, else the first other registered dataset that fits."
    )


def _refused_pairs(matrix: Matrix, notes: dict[str, int]) -> dict[int, list[str]]:
    """Footnote number -> the ``trick on model`` pairs it explains."""
    pairs: dict[int, list[str]] = {n: [] for n in notes.values()}
    for trick in matrix.tricks:
        for column in matrix.built_columns:
            cell = matrix.cell(trick, column.name)
            if cell.status in ("no", "error"):
                pairs[notes[str(cell.reason)]].append(f"{trick} on {column.name}")
    return pairs


def _effects(matrix: Matrix) -> list[Effect]:
    return [
        effect
        for trick in matrix.tricks
        for column in matrix.built_columns
        for effect in matrix.cell(trick, column.name).effects
    ]


def render_table(matrix: Matrix) -> Table:
    """The rich table ``ganbench tricks --matrix`` prints: rows tricks, columns models."""
    notes = footnotes(matrix)
    table = Table(title=f"tricks × models: {summary_line(matrix)}")
    table.add_column("trick", overflow="fold")
    for column in matrix.built_columns:
        table.add_column(
            f"{escape(column.name)}\n({escape(str(column.dataset))})", justify="center"
        )
    for trick in matrix.tricks:
        cells = []
        for column in matrix.built_columns:
            cell = matrix.cell(trick, column.name)
            text = escape(cell_text(cell, notes))
            colour = {"yes": "green", "no": "yellow", "error": "red"}.get(cell.status)
            cells.append(f"[{colour}]{text}[/{colour}]" if colour else text)
        table.add_row(escape(trick), *cells)
    return table


def text_notes(matrix: Matrix) -> list[str]:
    """The lines printed under the terminal table: reasons, unbuilt models, effects."""
    notes = footnotes(matrix)
    lines = [f"[{n}] {reason}" for reason, n in notes.items()]
    for column in matrix.columns:
        if not column.built:
            lines.append(f"not built: {column.name}: {column.note}")
    lines += [f"ablation: {effect_long(e)}" for e in _effects(matrix)]
    return lines


def render_markdown(matrix: Matrix) -> str:
    """The page ``leaderboards/tricks.md``."""
    notes = footnotes(matrix)
    md = escape_markdown
    lines = [
        "# Tricks × models",
        "",
        "Generated by `ganbench tricks --matrix`; do not edit. The committed page lists the "
        "first-party plugins only; regenerate it from the repository's root with "
        f"`{PAGE_COMMAND}`.",
        "",
        f"**{summary_line(matrix)}.**",
        "",
        "Built from the registrations themselves, so it cannot go stale: a trick applies to "
        "a model when its own `check` accepts the model as the model's plugin builds it, "
        "as `ganbench run` asks before training (which also refuses a trick whose step hook "
        "points a model's own `train_step` never reaches: that takes a training step, and "
        "nothing here trains). Models are built with their default "
        "parameters only, untrained; a model built with other parameters may accept other "
        f"tricks. {_dataset_sentence(matrix)} yes: applies; no [n]: refused, for reason n "
        "below; an effect in brackets: a published ablation (arm - baseline on the primary "
        "metric, details below).",
        "",
    ]
    built = matrix.built_columns
    header = ["trick", *(f"{md(c.name)} ({md(str(c.dataset))})" for c in built)]
    lines.append("| " + " | ".join(header) + " |")
    lines.append("|:---|" + ":---:|" * len(built))
    for trick in matrix.tricks:
        cells = [md(cell_text(matrix.cell(trick, c.name), notes)) for c in built]
        lines.append("| " + " | ".join([md(trick), *cells]) + " |")
    lines += ["", "## Why a trick is refused", ""]
    if notes:
        pairs = _refused_pairs(matrix, notes)
        lines += [f"{n}. {md(reason)} ({md(', '.join(pairs[n]))})" for reason, n in notes.items()]
    else:
        lines.append("Every trick applies to every model.")
    unbuilt = [c for c in matrix.columns if not c.built]
    if unbuilt:
        lines += ["", "## Models not built", ""]
        lines += [f"- {md(c.name)}: {md(str(c.note))}" for c in unbuilt]
    lines += ["", "## Published ablations", ""]
    effects = _effects(matrix)
    if effects:
        lines += [f"- {md(effect_long(e))}" for e in effects]
    else:
        lines.append(
            "None yet. `ganbench ablate --plugin MODEL --trick all` writes "
            "`leaderboards/ablations/MODEL/DATASET.csv`; regenerating this page then shows "
            "each trick's measured effect in its cell."
        )
    lines += ["", "## The tricks", "", "| trick | plugin | hook points | description |"]
    lines.append("|:---|:---|:---|:---|")
    for trick in matrix.tricks:
        spec = matrix.trick_specs[trick]
        lines.append(
            f"| {md(trick)} | {md(matrix.trick_owners[trick])} "
            f"| {md(', '.join(spec.hook_points))} | {md(spec.description or '-')} |"
        )
    return "\n".join(lines) + "\n"
