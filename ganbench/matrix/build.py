"""Computing the matrix: build each model once, ask every trick whether it applies.

A trick applies to a model when its own ``check`` accepts the model as the
model's plugin builds it: the question ``ganbench run`` and ``ganbench
ablate --trick all`` ask before training, asked here the same way, so the
matrix and the run path cannot disagree on it. (``ganbench run`` also
refuses a trick whose step hook points a model's own ``train_step`` never
reaches; finding that out takes a trial training step, a dozen seconds for
UnrolledGAN on a CPU, so the matrix, which trains nothing, leaves it out.)

Whether a trick applies can depend on the data (a BatchNorm layer exists in
the image generator, not in the 2-D one), so each model is built on one
representative dataset it fits: the embedded ``digits`` for image models
(it has labels, so class-conditional models fit too), ``ring8`` for 2-D
models, then any other registered dataset that loads, for plugin models
of other tasks. Models are built with their default parameters, on the CPU,
without training, inside ``torch.random.fork_rng`` so the caller's random
stream is left as it was.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import torch

from ganbench.errors import GanbenchError
from ganbench.leaderboard.escape import safe_file_stem
from ganbench.matrix.ablations import Effect, read_effects
from ganbench.model import GANModel
from ganbench.model_build import build_model
from ganbench.run.preparation import dataset_options, load_dataset_with, model_misfit_reason

if TYPE_CHECKING:
    from ganbench.data.types import GanDataset
    from ganbench.registry import Registry
    from ganbench.specs import ModelSpec, TrickSpec

#: Tried first, in this order: both are embedded (no download), cheap to load,
#: and between them cover image, labelled-image and 2-D models.
REPRESENTATIVE_DATASETS: tuple[str, ...] = ("digits", "ring8")

Status = Literal["yes", "no", "error", "unbuilt"]


@dataclass(frozen=True)
class ModelColumn:
    """One model of the matrix.

    Attributes:
        name: the registered model name.
        owner: the plugin that registered it.
        dataset: the dataset it was built on; None when it could not be built.
        note: why it was not built (None when it was).
    """

    name: str
    owner: str
    dataset: str | None
    note: str | None = None

    @property
    def built(self) -> bool:
        """Whether the tricks could be asked about this model."""
        return self.dataset is not None


@dataclass(frozen=True)
class Cell:
    """One (trick, model) pair.

    Attributes:
        status: ``"yes"`` (applies), ``"no"`` (refused), ``"error"`` (the
            trick's check raised) or ``"unbuilt"`` (the model was not built).
        reason: why it is refused, or what the check raised.
        effects: published ablations of the trick on the model, if any.
    """

    status: Status
    reason: str | None = None
    effects: tuple[Effect, ...] = ()


@dataclass
class Matrix:
    """Every registered trick against every registered model.

    Attributes:
        dataset: the dataset asked for with ``--dataset``; None for the
            representative ones.
        tricks: the trick names, sorted.
        trick_owners: trick name -> the plugin that registered it.
        trick_specs: trick name -> its registration (hook points, description).
        columns: the models, sorted by name.
        cells: ``(trick, model)`` -> its cell.
    """

    dataset: str | None
    tricks: list[str]
    trick_owners: dict[str, str]
    trick_specs: dict[str, TrickSpec]
    columns: list[ModelColumn]
    cells: dict[tuple[str, str], Cell] = field(default_factory=dict)

    def cell(self, trick: str, model: str) -> Cell:
        """The cell of ``trick`` on ``model``."""
        return self.cells[(trick, model)]

    @property
    def built_columns(self) -> list[ModelColumn]:
        """The models the tricks were asked about."""
        return [c for c in self.columns if c.built]

    @property
    def applying_pairs(self) -> int:
        """How many (trick, built model) pairs apply."""
        return sum(1 for c in self.cells.values() if c.status == "yes")


class _Datasets:
    """Datasets loaded once each for the whole matrix; a failed load is remembered as None."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        self._loaded: dict[str, GanDataset | None] = {}
        self.errors: dict[str, str] = {}

    def get(self, name: str, *, required: bool = False) -> GanDataset | None:
        """The loaded dataset; a load failure raises when ``required``, else gives None."""
        if name not in self._loaded:
            try:
                self._loaded[name] = load_dataset_with(
                    self.registry.dataset(name), dataset_options(None)
                )
            except GanbenchError as exc:
                if required:
                    raise
                self._loaded[name] = None
                self.errors[name] = str(exc)
        return self._loaded[name]


def _candidates(registry: Registry, spec: ModelSpec, asked: str | None) -> list[str]:
    """Datasets to try building ``spec`` on, in order (only those of a kind it takes)."""
    if asked is not None:
        return [asked]
    rest = sorted(set(registry.datasets) - set(REPRESENTATIVE_DATASETS))
    names = [n for n in REPRESENTATIVE_DATASETS if n in registry.datasets] + rest
    return [n for n in names if registry.datasets[n].kind in spec.data_kinds]


def _pick_dataset(
    registry: Registry, spec: ModelSpec, datasets: _Datasets, asked: str | None
) -> tuple[GanDataset | None, str | None]:
    """The first candidate dataset ``spec`` fits, or (None, why none did)."""
    misfits: list[str] = []
    for name in _candidates(registry, spec, asked):
        dataset = datasets.get(name, required=asked is not None)
        if dataset is None:
            continue
        reason = model_misfit_reason(spec, dataset.info)
        if reason is None:
            return dataset, None
        misfits.append(f"{name}: {reason}")
    if asked is not None:
        if misfits:
            return None, f"does not fit {asked!r}: {misfits[0].partition(': ')[2]}"
        return None, (
            f"does not fit {asked!r}: it takes {' or '.join(spec.data_kinds)} data, "
            f"{asked!r} is {registry.datasets[asked].kind} data"
        )
    tried = "; ".join(misfits) if misfits else "no loadable dataset of a kind it takes"
    return None, f"fits no dataset that loads here ({tried}); try --dataset"


def _build(
    spec: ModelSpec, dataset: GanDataset, registry: Registry
) -> tuple[GANModel | None, str | None]:
    """The model as its plugin builds it (default parameters, untrained), or (None, why not)."""
    try:
        model = build_model(
            spec, dataset, torch.device("cpu"), None, None, losses=registry.losses, fresh=False
        )
    except GanbenchError as exc:
        return None, f"failed to build on {dataset.info.name!r}: {exc}"
    except Exception as exc:  # a plugin's bug must not hide the other models
        return None, f"failed to build on {dataset.info.name!r}: {type(exc).__name__}: {exc}"
    return model, None


def _check(spec: TrickSpec, model: GANModel) -> Cell:
    """Whether ``spec`` applies to ``model``, by the trick's own ``check``."""
    if spec.check is not None:
        try:
            reason = spec.check(model)
        except Exception as exc:  # a broken check is shown, not fatal
            return Cell("error", f"its check raised {type(exc).__name__}: {exc}")
        if reason is not None:
            return Cell("no", str(reason))
    return Cell("yes")


def build_matrix(
    registry: Registry, dataset: str | None = None, ablations_dir: Path | None = None
) -> Matrix:
    """Every trick of ``registry`` against every model, with published effects.

    ``dataset`` builds every model on that dataset (models that do not fit it
    are listed, not built); an unknown name or a dataset that cannot load
    raises its one-line error. ``ablations_dir`` holds
    ``<model>/<dataset>.csv`` files written by ``ganbench ablate``.
    """
    if dataset is not None:
        registry.dataset(dataset)  # unknown: one line naming the valid choices
    datasets = _Datasets(registry)
    if dataset is not None:
        datasets.get(dataset, required=True)
    tricks = sorted(registry.tricks)
    matrix = Matrix(
        dataset=dataset,
        tricks=tricks,
        trick_owners={t: registry.owner("tricks", t) for t in tricks},
        trick_specs={t: registry.tricks[t] for t in tricks},
        columns=[],
    )
    effects = read_effects(ablations_dir) if ablations_dir is not None else {}
    # The caller's random stream is theirs: building draws initial weights from it.
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        for name in sorted(registry.models):
            spec = registry.models[name]
            owner = registry.owner("models", name)
            data, note = _pick_dataset(registry, spec, datasets, dataset)
            model = None
            if data is not None:
                model, note = _build(spec, data, registry)
            if model is None or data is None:
                matrix.columns.append(ModelColumn(name, owner, None, note))
                for trick in tricks:
                    matrix.cells[(trick, name)] = Cell("unbuilt", note)
                continue
            matrix.columns.append(ModelColumn(name, owner, data.info.name))
            for trick in tricks:
                # A fixed baseline (bicubic) trains nothing, so no trick has anything to act on.
                cell = (
                    _check(registry.tricks[trick], model)
                    if spec.trains
                    else Cell("no", "it is a fixed baseline: it does not train")
                )
                found = tuple(effects.get((safe_file_stem(name), trick), ()))
                matrix.cells[(trick, name)] = Cell(cell.status, cell.reason, found)
    return matrix
