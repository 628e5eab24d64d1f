"""Conformance checks of a dataset plugin: :func:`check_dataset`."""

from __future__ import annotations

import torch
from torch import Tensor

from ganbench.data.types import CONDITION_FIELDS, DatasetOptions, GanDataset
from ganbench.errors import DataMissingError, GanbenchError, PluginContractError
from ganbench.specs import DatasetSpec
from ganbench.splits import SPLITS
from ganbench.testing.results import Check, CheckLog, CheckResult
from ganbench.testing.training import keeps_rng


@keeps_rng
def check_dataset(spec: DatasetSpec, options: DatasetOptions | None = None) -> list[CheckResult]:
    """Check a dataset plugin against the dataset contract.

    Loads it offline (``download=False`` unless ``options`` say otherwise):
    missing files (:class:`~ganbench.api.DataMissingError`), or a loader
    that needs options the kit cannot guess (another one-line
    :class:`~ganbench.api.GanbenchError`, e.g. no folder), skip the rest.
    Then checks that ``info`` matches the spec; that the train, val and
    test splits are non-empty; that ``info.shape`` (and ``source_shape``,
    ``text_dim``) equal every split's per-sample shapes; that ``x`` is
    float32, finite, and in [-1, 1] for images; that ``info.fields`` equal
    the fields each split carries; that labels are int64 in
    [0, num_classes); and that a second load gives the same content
    (:meth:`GanDataset.fingerprint`).

    Args:
        spec: the dataset's registration record.
        options: loader options (default: ``DatasetOptions()``, offline).
    """
    options = options or DatasetOptions()
    log = CheckLog("dataset", spec.name)
    if not log.registration(
        "datasets",
        DatasetSpec,
        spec,
        lambda: f"{spec.kind}; features {spec.feature_extractor}; ranks by {spec.primary_metric}",
    ):
        return log.results
    with log.check("loads offline") as check:
        dataset = _load(spec, options, check)
        sizes = {name: len(split) for name, split in dataset.splits.items()}
        check.detail = ", ".join(f"{name} {n:,}" for name, n in sizes.items())
    if not check.ok:
        return log.results
    with log.check("info matches the spec") as check:
        info = dataset.info
        if info.name != spec.name:
            check.fail(f"info.name is {info.name!r}, the spec's name is {spec.name!r}")
        if info.kind != spec.kind:
            check.fail(f"info.kind is {info.kind!r}, the spec declares {spec.kind!r}")
        if spec.fields is not None and set(info.fields) != set(spec.fields):
            check.fail(
                f"info.fields are {', '.join(info.fields)}, the spec declares "
                f"{', '.join(spec.fields)}"
            )
        check.detail = f"{info.kind} {info.shape}, fields {', '.join(info.fields)}"
    with log.check("splits") as check:
        missing = [s for s in SPLITS if s not in dataset.splits]
        if missing:
            check.fail(f"no {', '.join(missing)} split; expected train, val and test")
        empty = [s for s in SPLITS if len(dataset.splits[s]) == 0]
        if empty:
            check.fail(f"empty split(s): {', '.join(empty)}")
    if not check.ok:
        return log.results
    with log.check("shapes") as check:
        _check_shapes(dataset, check)
    with log.check("values") as check:
        _check_values(dataset, check)
    with log.check("fields") as check:
        declared = set(dataset.info.fields)
        for name in SPLITS:
            present = set(dataset.splits[name].present_fields())
            if present != declared:
                check.fail(
                    f"info.fields is {sorted(declared)}, the {name} split carries {sorted(present)}"
                )
        unknown = declared - {"x", *CONDITION_FIELDS}
        if unknown:
            check.fail(f"unknown field(s) {sorted(unknown)}")
    with log.check("labels") as check:
        _check_labels(dataset, check)
    with log.check("deterministic") as check:
        first = dataset.fingerprint()
        second = _load(spec, options, check).fingerprint()
        if first != second:
            check.fail("two loads gave different content (fingerprints differ): fix the seeds")
        check.detail = f"fingerprint {first[:12]}"
    return log.results


def _load(spec: DatasetSpec, options: DatasetOptions, check: Check) -> GanDataset:
    try:
        dataset = spec.load(options)
    except DataMissingError as exc:
        check.skip(f"data missing: {exc}")
    except PluginContractError:
        raise
    except GanbenchError as exc:
        # A one-line user error (no folder given): the data cannot be had without options.
        check.skip(f"cannot load with these options: {exc}")
    if not isinstance(dataset, GanDataset):
        check.fail(f"load() returned {type(dataset).__name__}, not a GanDataset")
    return dataset


def _per_sample(t: Tensor) -> tuple[int, ...]:
    return tuple(t.shape[1:])


def _check_shapes(dataset: GanDataset, check: Check) -> None:
    info = dataset.info
    for name in SPLITS:
        split = dataset.splits[name]
        if _per_sample(split.x) != tuple(info.shape):
            check.fail(
                f"info.shape is {tuple(info.shape)}, the {name} split's x is {tuple(split.x.shape)}"
            )
        n = len(split)
        for field in ("y", "text"):
            value = getattr(split, field)
            if value is not None and value.shape[0] != n:
                check.fail(f"the {name} split has {n} x rows but {value.shape[0]} {field} rows")
        if split.y is not None and split.y.dim() != 1:
            check.fail(f"the {name} split's y has shape {tuple(split.y.shape)}, expected ({n},)")
        if split.text is not None and (
            split.text.dim() != 2 or split.text.shape[1] != info.text_dim
        ):
            check.fail(
                f"info.text_dim is {info.text_dim}, the {name} split's text is "
                f"{tuple(split.text.shape)}"
            )
        if split.source is not None:
            if _per_sample(split.source) != tuple(info.source_shape or ()):
                check.fail(
                    f"info.source_shape is {info.source_shape}, the {name} split's source is "
                    f"{tuple(split.source.shape)}"
                )
            if info.paired and split.source.shape[0] != n:
                check.fail(f"paired source of the {name} split has other row count than x")
    if info.kind == "image" and len(info.shape) != 3:
        check.fail(f"image data must have per-sample shape (C, H, W), got {tuple(info.shape)}")
    if info.kind == "vector" and len(info.shape) != 1:
        check.fail(f"vector data must have per-sample shape (D,), got {tuple(info.shape)}")
    check.detail = f"x {tuple(info.shape)} in every split"


def _check_values(dataset: GanDataset, check: Check) -> None:
    info = dataset.info
    low, high = float("inf"), float("-inf")
    for name in SPLITS:
        split = dataset.splits[name]
        tensors = [("x", split.x)]
        if split.source is not None:
            tensors.append(("source", split.source))
        if split.text is not None:
            tensors.append(("text", split.text))
        for field, t in tensors:
            if t.dtype != torch.float32:
                check.fail(f"the {name} split's {field} is {t.dtype}, expected torch.float32")
            if not torch.isfinite(t).all():
                check.fail(f"the {name} split's {field} has NaN or infinite values")
            if info.kind == "image" and field != "text":
                t_low, t_high = float(t.min()), float(t.max())
                if t_low < -1 or t_high > 1:
                    check.fail(
                        f"the {name} split's {field} lies in [{t_low:.3g}, {t_high:.3g}], "
                        "images must lie in [-1, 1]"
                    )
        low, high = min(low, float(split.x.min())), max(high, float(split.x.max()))
    check.detail = f"float32, x in [{low:.3g}, {high:.3g}]"


def _check_labels(dataset: GanDataset, check: Check) -> None:
    info = dataset.info
    splits = [(name, dataset.splits[name].y) for name in SPLITS]
    if all(y is None for _, y in splits):
        check.detail = "no labels"
        return
    if not info.num_classes or info.num_classes < 1:
        check.fail(f"the splits carry labels but info.num_classes is {info.num_classes!r}")
    for name, y in splits:
        if y is None:
            continue
        if y.dtype != torch.int64:
            check.fail(f"the {name} split's y is {y.dtype}, expected torch.int64")
        if len(y) and (int(y.min()) < 0 or int(y.max()) >= info.num_classes):
            check.fail(
                f"the {name} split's labels lie in [{int(y.min())}, {int(y.max())}], "
                f"outside [0, {info.num_classes})"
            )
    check.detail = f"int64 in [0, {info.num_classes})"
