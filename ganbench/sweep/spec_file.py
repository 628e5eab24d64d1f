"""Reading and checking a sweep file (TOML): which rows of runs a sweep trains.

Two forms, which one file may combine:

- **A grid**: ``models`` x ``datasets`` x ``tricks`` (a list of trick sets,
  ``[]`` for none), less the ``[[exclude]]`` rules, each on every seed of
  ``seeds``, with the ``[budget]`` (``steps``, ``batch_size``, and per
  dataset ``[budget.<dataset>]``).
- **Rows**: ``[[row]]`` tables (``model``, ``dataset``, and optionally
  ``steps``, ``batch_size``, ``tricks``, ``seeds``), as a leaderboard lists
  its rows (``leaderboards/rebuild.sh``'s ``rows``).

``untrained = true`` adds each row's untrained run (0 steps, seed 0, its batch
size), as ``rebuild.sh`` does; a row of 0 steps (a fixed baseline) is one run,
on seed 0. Top-level run options (``device``, ``threads``, ``eval_samples``,
``feature_extractor``, ``metrics``, ``skip_metrics``, ``d_steps``,
``checkpoint_every``, ``image_size``, ``data_dir``, ``data_path``,
``download``, ``inception_weights``) apply to every run, as the ``ganbench
run`` flag of the same name.

Everything is checked before any run: an unknown key, an unknown model,
dataset, trick, metric or feature space (looked up in the registry, with
parameters parsed as ``ganbench run`` parses them) or a value of the wrong
type is one :class:`~ganbench.errors.GanbenchError` line naming the file,
the place in it, the bad value and the valid choices (exit code 2).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

try:  # Python 3.11+; tomli is the same parser, backported, for 3.10
    import tomllib
except ModuleNotFoundError:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib  # type: ignore[no-redef]

from ganbench.errors import GanbenchError
from ganbench.model_build import parse_model, parse_trick

#: ``--device`` choices (as :data:`ganbench.run.preparation.DEVICE_CHOICES`, which imports torch).
DEVICE_CHOICES = ("auto", "cpu", "cuda")

#: Run options a sweep file may set for every run, with their TOML types.
RUN_OPTIONS: dict[str, type | tuple[type, ...]] = {
    "device": str,
    "threads": int,
    "eval_samples": int,
    "feature_extractor": str,
    "metrics": list,
    "skip_metrics": list,
    "d_steps": int,
    "checkpoint_every": int,
    "image_size": int,
    "data_dir": str,
    "data_path": str,
    "download": bool,
    "inception_weights": str,
}
#: Options that must be at least 1 (the ``ganbench run`` flags' rule).
_POSITIVE = ("threads", "eval_samples", "d_steps", "checkpoint_every", "image_size")
_GRID_KEYS = ("models", "datasets", "tricks", "seeds", "budget", "exclude")
TOP_KEYS: tuple[str, ...] = (
    "description",
    *_GRID_KEYS,
    "row",
    "untrained",
    *RUN_OPTIONS,
)
ROW_KEYS: tuple[str, ...] = ("model", "dataset", "steps", "batch_size", "tricks", "seeds")
BUDGET_KEYS: tuple[str, ...] = ("steps", "batch_size")
EXCLUDE_KEYS: tuple[str, ...] = ("model", "dataset", "tricks", "trick")


@dataclass(frozen=True)
class SweepRow:
    """One row of a sweep: a model, dataset, trick set and budget, on some seeds.

    Attributes:
        model: the model as written (``"pacgan:3"``), parameters included.
        dataset: the dataset name.
        tricks: the trick specs in the order applied (``("ema:0.99",)``).
        steps, batch_size: the budget; None for the dataset's default.
        seeds: the training seeds.
        where: the place in the file it comes from, for messages (``row 3``, ``grid``).
    """

    model: str
    dataset: str
    tricks: tuple[str, ...]
    steps: int | None
    batch_size: int | None
    seeds: tuple[int, ...]
    where: str


@dataclass(frozen=True)
class SweepFile:
    """A checked sweep file.

    Attributes:
        path: the file.
        rows: the rows to run (grid product less excludes, then ``[[row]]``).
        untrained: whether each trained row also gets its 0-step, seed-0 run.
        options: ``RunRequest`` fields every run shares (``device``, ``threads``...).
        excluded: how many grid combinations the ``[[exclude]]`` rules removed.
        description: the file's free-text ``description``, if any.
    """

    path: Path
    rows: tuple[SweepRow, ...]
    untrained: bool = False
    options: Mapping[str, Any] = field(default_factory=dict)
    excluded: int = 0
    description: str = ""


class SweepFileError(GanbenchError):
    """A sweep file that cannot be read or breaks a rule (one line, exit code 2)."""


def read_sweep_file(path: Path, registry: Any) -> SweepFile:
    """Parse and check the sweep file at ``path`` against ``registry``.

    Raises:
        SweepFileError: the file is missing, not TOML, or has a bad key or value.
    """
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SweepFileError(f"no sweep file {str(path)!r}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SweepFileError(f"cannot read sweep file {str(path)!r}: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise SweepFileError(f"sweep file {str(path)!r} is not valid TOML: {exc}") from None
    return _Checker(Path(path), registry).sweep(data)


class _Checker:
    """Checks one file's values, prefixing every error with the file and the place."""

    def __init__(self, path: Path, registry: Any) -> None:
        self.path = path
        self.registry = registry

    def fail(self, where: str, message: str) -> SweepFileError:
        return SweepFileError(f"sweep file {str(self.path)!r}: {where}: {message}")

    def keys(self, table: Mapping[str, Any], allowed: Sequence[str], where: str) -> None:
        for key in table:
            if key not in allowed:
                raise self.fail(
                    where, f"unknown key {key!r}; valid keys: {', '.join(sorted(allowed))}"
                )

    def typed(self, value: Any, kind: type | tuple[type, ...], where: str) -> Any:
        kinds = kind if isinstance(kind, tuple) else (kind,)
        # TOML booleans are not integers here, though Python's bool is an int.
        if isinstance(value, bool) and bool not in kinds:
            ok = False
        else:
            ok = isinstance(value, kinds)
        if not ok:
            names = " or ".join(_TOML_NAMES.get(k, k.__name__) for k in kinds)
            raise self.fail(where, f"expected {names}, got {value!r}")
        return value

    def whole(self, value: Any, where: str, minimum: int) -> int:
        self.typed(value, int, where)
        if value < minimum:
            raise self.fail(where, f"must be an integer >= {minimum}, got {value}")
        return int(value)

    def names(self, value: Any, where: str) -> list[str]:
        self.typed(value, list, where)
        return [self.typed(item, str, f"{where}[{i}]") for i, item in enumerate(value)]

    def looked_up(self, where: str, check: Any, *args: Any) -> Any:
        """``check(*args)`` with a registry error turned into this file's error line."""
        try:
            return check(*args)
        except GanbenchError as exc:
            raise self.fail(where, str(exc)) from None

    def model(self, text: Any, where: str) -> str:
        self.typed(text, str, where)
        self.looked_up(where, parse_model, text, self.registry)
        return text

    def dataset(self, name: Any, where: str) -> str:
        self.typed(name, str, where)
        self.looked_up(where, self.registry.dataset, name)
        return name

    def trick_set(self, value: Any, where: str) -> tuple[str, ...]:
        texts = self.names(value, where)
        for i, text in enumerate(texts):
            self.looked_up(f"{where}[{i}]", parse_trick, text, self.registry)
        return tuple(texts)

    def seeds(self, value: Any, where: str) -> tuple[int, ...]:
        self.typed(value, list, where)
        seeds = tuple(self.whole(s, f"{where}[{i}]", 0) for i, s in enumerate(value))
        if not seeds:
            raise self.fail(where, "needs at least one seed")
        return tuple(dict.fromkeys(seeds))

    def budget(self, value: Any) -> dict[str | None, dict[str, int]]:
        """``[budget]``: None -> the default budget, dataset -> its own."""
        self.typed(value, dict, "budget")
        result: dict[str | None, dict[str, int]] = {None: {}}
        for key, item in value.items():
            if key in BUDGET_KEYS:
                result[None][key] = self.whole(item, f"budget.{key}", _BUDGET_MIN[key])
                continue
            if not isinstance(item, dict):
                raise self.fail(
                    "budget",
                    f"unknown key {key!r}; valid keys: {', '.join(BUDGET_KEYS)}, "
                    "or a dataset's name for its own [budget.<dataset>] table",
                )
            self.dataset(key, f"[budget.{key}]")
            self.keys(item, BUDGET_KEYS, f"[budget.{key}]")
            result[key] = {
                k: self.whole(v, f"budget.{key}.{k}", _BUDGET_MIN[k]) for k, v in item.items()
            }
        return result

    def options(self, data: Mapping[str, Any]) -> dict[str, Any]:
        options: dict[str, Any] = {}
        for name, kind in RUN_OPTIONS.items():
            if name not in data:
                continue
            value = self.typed(data[name], kind, name)
            if name in _POSITIVE:
                value = self.whole(value, name, 1)
            elif name == "device" and value not in DEVICE_CHOICES:
                raise self.fail(
                    name, f"unknown device {value!r}; valid choices: {', '.join(DEVICE_CHOICES)}"
                )
            elif name == "feature_extractor" and value != "none":
                self.looked_up(name, self.registry.feature_extractor, value)
            elif name in ("metrics", "skip_metrics"):
                value = tuple(self.names(value, name))
                for i, metric in enumerate(value):
                    self.looked_up(f"{name}[{i}]", self.registry.metric, metric)
            options[name] = value
        return options

    def sweep(self, data: dict[str, Any]) -> SweepFile:
        self.keys(data, TOP_KEYS, "top level")
        options = self.options(data)
        untrained = bool(self.typed(data.get("untrained", False), bool, "untrained"))
        description = self.typed(data.get("description", ""), str, "description")
        seeds = self.seeds(data["seeds"], "seeds") if "seeds" in data else (0,)
        budget = self.budget(data.get("budget", {}))
        rows, excluded = self.grid(data, seeds, budget)
        rows += self.listed_rows(data.get("row", []), seeds, budget)
        if not rows:
            raise self.fail(
                "top level",
                "no runs: give models and datasets (a grid), or [[row]] tables"
                + (" (the exclude rules removed every combination)" if excluded else ""),
            )
        return SweepFile(self.path, tuple(rows), untrained, options, excluded, description)

    def grid(
        self,
        data: Mapping[str, Any],
        seeds: tuple[int, ...],
        budget: Mapping[str | None, Mapping[str, int]],
    ) -> tuple[list[SweepRow], int]:
        if "models" not in data and "datasets" not in data:
            for key in ("tricks", "exclude"):
                if key in data:
                    raise self.fail(key, "applies to a grid: give models and datasets too")
            return [], 0
        for key in ("models", "datasets"):
            if key not in data:
                raise self.fail(
                    "top level", f"a grid needs both models and datasets; {key} is missing"
                )
        models = [
            self.model(m, f"models[{i}]")
            for i, m in enumerate(self.names(data["models"], "models"))
        ]
        datasets = [
            self.dataset(d, f"datasets[{i}]")
            for i, d in enumerate(self.names(data["datasets"], "datasets"))
        ]
        trick_sets = [()]
        if "tricks" in data:
            self.typed(data["tricks"], list, "tricks")
            trick_sets = [self.trick_set(t, f"tricks[{i}]") for i, t in enumerate(data["tricks"])]
        rules = self.excludes(data.get("exclude", []))
        rows, excluded = [], 0
        for model in dict.fromkeys(models):
            for dataset in dict.fromkeys(datasets):
                for tricks in dict.fromkeys(trick_sets):
                    if any(rule.matches(model, dataset, tricks, self.registry) for rule in rules):
                        excluded += 1
                        continue
                    steps, batch = _budget_for(budget, dataset, None, None)
                    rows.append(SweepRow(model, dataset, tricks, steps, batch, seeds, "grid"))
        return rows, excluded

    def excludes(self, value: Any) -> list[_Exclude]:
        self.typed(value, list, "exclude")
        rules = []
        for i, table in enumerate(value):
            where = f"exclude[{i}]"
            self.typed(table, dict, where)
            self.keys(table, EXCLUDE_KEYS, where)
            if not table:
                raise self.fail(
                    where, f"an empty rule would drop every run; give {', '.join(EXCLUDE_KEYS)}"
                )
            trick = table.get("trick")
            if trick is not None:
                self.typed(trick, str, f"{where}.trick")
                self.looked_up(f"{where}.trick", self.registry.trick, trick)
            rules.append(
                _Exclude(
                    model=self.model(table["model"], f"{where}.model")
                    if "model" in table
                    else None,
                    dataset=self.dataset(table["dataset"], f"{where}.dataset")
                    if "dataset" in table
                    else None,
                    tricks=self.trick_set(table["tricks"], f"{where}.tricks")
                    if "tricks" in table
                    else None,
                    trick=trick,
                )
            )
        return rules

    def listed_rows(
        self,
        value: Any,
        seeds: tuple[int, ...],
        budget: Mapping[str | None, Mapping[str, int]],
    ) -> list[SweepRow]:
        self.typed(value, list, "row")
        rows = []
        for i, table in enumerate(value):
            where = f"row[{i}]"
            self.typed(table, dict, where)
            self.keys(table, ROW_KEYS, where)
            for key in ("model", "dataset"):
                if key not in table:
                    raise self.fail(where, f"{key} is missing")
            model = self.model(table["model"], f"{where}.model")
            dataset = self.dataset(table["dataset"], f"{where}.dataset")
            steps = table.get("steps")
            batch = table.get("batch_size")
            steps = None if steps is None else self.whole(steps, f"{where}.steps", 0)
            batch = None if batch is None else self.whole(batch, f"{where}.batch_size", 1)
            steps, batch = _budget_for(budget, dataset, steps, batch)
            rows.append(
                SweepRow(
                    model,
                    dataset,
                    self.trick_set(table.get("tricks", []), f"{where}.tricks"),
                    steps,
                    batch,
                    self.seeds(table["seeds"], f"{where}.seeds") if "seeds" in table else seeds,
                    where,
                )
            )
        return rows


@dataclass(frozen=True)
class _Exclude:
    """An ``[[exclude]]`` rule: a grid combination matching every given key is dropped.

    ``model`` without parameters matches the model with any parameters;
    ``tricks`` matches that exact trick set; ``trick`` any set containing it.
    """

    model: str | None
    dataset: str | None
    tricks: tuple[str, ...] | None
    trick: str | None

    def matches(self, model: str, dataset: str, tricks: tuple[str, ...], registry: Any) -> bool:
        if self.model is not None:
            spec, params = parse_model(model, registry)
            rule_spec, rule_params = parse_model(self.model, registry)
            if spec.name != rule_spec.name:
                return False
            if ":" in self.model and params != rule_params:
                return False
        if self.dataset is not None and self.dataset != dataset:
            return False
        parsed = [_trick_key(t, registry) for t in tricks]
        if self.tricks is not None and parsed != [_trick_key(t, registry) for t in self.tricks]:
            return False
        return self.trick is None or any(name == self.trick for name, _ in parsed)


def _trick_key(text: str, registry: Any) -> tuple[str, str]:
    """A trick spec as (name, its parameters with defaults), so ``ema`` equals ``ema:0.999``."""
    spec, params = parse_trick(text, registry)
    return spec.name, repr(sorted(params.items()))


def _budget_for(
    budget: Mapping[str | None, Mapping[str, int]],
    dataset: str,
    steps: int | None,
    batch: int | None,
) -> tuple[int | None, int | None]:
    """A row's own budget, else its dataset's ``[budget.<dataset>]``, else ``[budget]``."""
    own = budget.get(dataset, {})
    default = budget.get(None, {})
    if steps is None:
        steps = own.get("steps", default.get("steps"))
    if batch is None:
        batch = own.get("batch_size", default.get("batch_size"))
    return steps, batch


_BUDGET_MIN = {"steps": 0, "batch_size": 1}
_TOML_NAMES = {
    str: "a string",
    int: "an integer",
    bool: "true or false",
    list: "an array",
    dict: "a table",
}
