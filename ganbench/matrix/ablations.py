"""Published ablation effects, read from the CSVs ``ganbench ablate`` writes.

``ganbench ablate --out DIR`` writes ``DIR/ablations/<model>/<dataset>.csv``
(see :mod:`ganbench.ablate.report`): one row per (arm, metric), the ranked
metrics primary first. The matrix shows, for each single-trick arm, the
row of the primary metric (the first row of that arm). Arms of several
tricks (``a+b``) measure a combination, not one trick, and are left out.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path

from ganbench.errors import GanbenchError

#: The CSV columns the matrix reads (a subset of ``ganbench.ablate.report.CSV_COLUMNS``).
NEEDED_COLUMNS: tuple[str, ...] = (
    "arm",
    "metric",
    "direction",
    "n_seeds",
    "mean_difference",
    "ci_low",
    "ci_high",
    "p_value",
    "verdict",
)


@dataclass(frozen=True)
class Effect:
    """A trick's measured effect on one model and dataset (arm minus baseline).

    Attributes:
        model_stem: the ablation's model folder name (the model name when
            it was ablated with its default parameters).
        dataset: the dataset it was measured on (the CSV's stem).
        arm: the arm label as given to ``ganbench ablate`` (``ema:0.99``).
        metric, direction: the primary metric and which way is better.
        n_seeds: paired seeds.
        mean_difference, ci_low, ci_high, p_value: the paired statistics.
        verdict: ``better``, ``worse`` or ``no evidence``.
    """

    model_stem: str
    dataset: str
    arm: str
    metric: str
    direction: str
    n_seeds: int
    mean_difference: float
    ci_low: float
    ci_high: float
    p_value: float
    verdict: str

    @property
    def trick(self) -> str:
        """The trick the arm adds (its name without parameters)."""
        return self.arm.partition(":")[0]


def _number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        return math.nan


def read_csv(path: Path, model_stem: str) -> list[Effect]:
    """The single-trick arms' primary-metric rows of one ablation CSV."""
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        missing = [c for c in NEEDED_COLUMNS if c not in (reader.fieldnames or ())]
        if missing:
            raise GanbenchError(
                f"ablation file {path.name!r} of model {model_stem!r} lacks the column(s) "
                f"{', '.join(missing)}; regenerate it with `ganbench ablate`"
            )
        effects: dict[str, Effect] = {}
        for row in reader:
            arm = row["arm"]
            if "+" in arm or arm in effects:  # combinations; later metrics of an arm
                continue
            effects[arm] = Effect(
                model_stem=model_stem,
                dataset=path.stem,
                arm=arm,
                metric=row["metric"],
                direction=row["direction"],
                n_seeds=int(_number(row["n_seeds"])) if row["n_seeds"].isdigit() else 0,
                mean_difference=_number(row["mean_difference"]),
                ci_low=_number(row["ci_low"]),
                ci_high=_number(row["ci_high"]),
                p_value=_number(row["p_value"]),
                verdict=row["verdict"],
            )
    return list(effects.values())


def read_effects(ablations_dir: Path) -> dict[tuple[str, str], list[Effect]]:
    """``(model folder, trick)`` -> its effects, sorted by dataset and arm; {} without a folder.

    No folder, or an empty one, is the normal state before any ablation is
    published: the matrix then shows applies / refused only.
    """
    found: dict[tuple[str, str], list[Effect]] = {}
    if not ablations_dir.is_dir():
        return found
    for path in sorted(ablations_dir.glob("*/*.csv")):
        for effect in read_csv(path, path.parent.name):
            found.setdefault((effect.model_stem, effect.trick), []).append(effect)
    for effects in found.values():
        effects.sort(key=lambda e: (e.dataset, e.arm))
    return found
