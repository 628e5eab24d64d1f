"""Checking and resolving a run request before anything is written to disk.

Every bad input (unknown names, flag values, a model that does not fit the
dataset, missing data, a plugin breaking its contract) is raised from here as
a one-line :class:`~ganbench.errors.GanbenchError`, so a failing run leaves
no folder, checkpoint or store row behind.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from ganbench.data.types import DatasetOptions, GanDataset
from ganbench.errors import GanbenchError, IncompatibleError, PluginContractError, call_plugin
from ganbench.eval.metric_plan import RunMetrics, check_skip_names
from ganbench.eval.protocol import EvalSettings
from ganbench.features.base import FeatureContext, FeatureExtractor
from ganbench.model import GANModel
from ganbench.model_build import (
    build_model,
    build_trick,
    check_step_reaches_hooks,
    parse_model,
    parse_trick,
)
from ganbench.paths import cache_dir
from ganbench.registry import Registry
from ganbench.run.request import RunRequest
from ganbench.run.resume import resolved_checkpoint_every
from ganbench.specs import DatasetSpec, MetricSpec, ModelSpec
from ganbench.splits import SPLITS
from ganbench.tasks import TASK_FIELDS
from ganbench.train.trick_chain import TrickChain
from ganbench.trick import Trick

DEVICE_CHOICES = ("auto", "cpu", "cuda")


@dataclass
class PreparedRun:
    """Everything a run needs, resolved and checked."""

    request: RunRequest
    model_spec: ModelSpec
    #: The model's parameters, defaults filled in (``--plugin NAME:key=value``).
    model_params: dict[str, Any]
    dataset_spec: DatasetSpec
    dataset: GanDataset
    model: GANModel
    tricks: TrickChain
    trick_records: list[dict[str, Any]]
    extractor: FeatureExtractor | None
    metric_specs: dict[str, MetricSpec]
    device: torch.device
    steps: int
    batch_size: int
    checkpoint_every: int
    n_fake: int
    #: Who registered the model and each trick (plugin, distribution, version).
    made_by: dict[str, Any] = field(default_factory=dict)
    #: Metrics the evaluations leave out, each with why (``--skip-metric``, and
    #: defaults too few samples for); the protocol record's ``skipped_metrics``.
    skipped_metrics: dict[str, str] = field(default_factory=dict)

    def eval_settings(self, seed: int) -> EvalSettings:
        """The run's evaluation settings (n_fake, metrics, skipped metrics) with ``seed``."""
        return EvalSettings(
            n_fake=self.n_fake,
            seed=seed,
            metrics=self.request.metrics,
            skip=tuple(self.skipped_metrics),
        )

    def model_config_hash(self) -> str:
        """Hash of the model's name, architecture and data shape."""
        blob = (
            f"{self.model_spec.name}|{sorted(self.model_params.items())}|"
            f"{self.dataset.info.shape}|{self.model!r}"
        ).encode()
        return hashlib.sha256(blob).hexdigest()[:16]


def resolve_device(name: str) -> torch.device:
    """``auto`` picks CUDA when present, else CPU; ``cuda`` without CUDA is an error."""
    if name not in DEVICE_CHOICES:
        raise GanbenchError(f"unknown device {name!r}; valid choices: {', '.join(DEVICE_CHOICES)}")
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise GanbenchError(
            "device 'cuda' requested but CUDA is not available; valid choices: auto, cpu"
        )
    return torch.device(name)


def model_misfit_reason(model_spec: ModelSpec, info) -> str | None:
    """Why ``model_spec`` cannot train on data described by ``info``, or None if it can.

    Data kind, the fields its task needs, then the model's own ``check``;
    ``ganbench run`` and the conformance kit apply this same rule.
    """
    missing = [f for f in TASK_FIELDS[model_spec.task] if f not in info.fields]
    if info.kind not in model_spec.data_kinds:
        return (
            f"it takes {' or '.join(model_spec.data_kinds)} data, {info.name!r} is {info.kind} data"
        )
    if missing:
        return (
            f"a {model_spec.task.value} model needs the field(s) {', '.join(missing)}, "
            f"which {info.name!r} does not have"
        )
    if model_spec.check is not None:
        return model_spec.check(info)
    return None


def check_model_fits(
    model_spec: ModelSpec, dataset_spec: DatasetSpec, registry: Registry, info
) -> None:
    """Raise :class:`IncompatibleError` naming what fits, if the pair does not."""
    reason = model_misfit_reason(model_spec, info)
    if reason is None:
        return
    needed = TASK_FIELDS[model_spec.task]
    fitting = sorted(
        name
        for name, spec in registry.datasets.items()
        if spec.kind in model_spec.data_kinds
        and (spec.fields is None or all(f in spec.fields for f in needed))
    )
    raise IncompatibleError(
        f"model {model_spec.name!r} does not fit dataset {info.name!r}: {reason}; "
        f"datasets of its data kind with the fields it needs ({', '.join(needed)}): "
        f"{', '.join(fitting) or '(none)'}"
    )


def _positive(name: str, value: int | None, allow_zero: bool = False) -> None:
    if value is None:
        return
    if value < 0 or (value == 0 and not allow_zero):
        bound = ">= 0" if allow_zero else ">= 1"
        raise GanbenchError(f"--{name} must be an integer {bound}, got {value}")


def dataset_options(
    data_dir: str | None,
    download: bool = False,
    image_size: int | None = None,
    data_path: str | None = None,
) -> DatasetOptions:
    """The data options of the ``--data-dir``, ``--download``, ``--image-size``, ``--data-path`` flags."""
    return DatasetOptions(
        data_dir=Path(data_dir).expanduser() if data_dir else None,
        download=download,
        image_size=image_size,
        extra={"path": data_path} if data_path else {},
    )


def load_dataset(dataset_spec: DatasetSpec, request: RunRequest) -> GanDataset:
    """Load through the plugin, with the run's data options."""
    options = dataset_options(
        request.data_dir, request.download, request.image_size, request.data_path
    )
    return load_dataset_with(dataset_spec, options)


def load_dataset_with(dataset_spec: DatasetSpec, options: DatasetOptions) -> GanDataset:
    """Load ``dataset_spec`` with ``options``; check it has non-empty train/val/test splits."""
    dataset = call_plugin(
        f"dataset {dataset_spec.name!r} failed to load",
        dataset_spec.load,
        options,
        error=GanbenchError,
    )
    if not isinstance(dataset, GanDataset):
        raise PluginContractError(
            f"dataset {dataset_spec.name!r}: load() returned {type(dataset).__name__}, "
            "not a GanDataset"
        )
    for split in SPLITS:
        if split not in dataset.splits or len(dataset.splits[split]) == 0:
            raise PluginContractError(f"dataset {dataset_spec.name!r} has no {split!r} split")
    return dataset


def build_feature_extractor(
    name: str, dataset: GanDataset, registry: Registry, ctx: FeatureContext
) -> FeatureExtractor:
    """Build feature space ``name`` for ``dataset``; a clear error if it does not apply."""
    spec = registry.feature_extractor(name)
    if spec.check is not None:
        reason = spec.check(dataset.info)
        if reason is not None:
            fitting = sorted(
                n
                for n, s in registry.feature_extractors.items()
                if s.check is None or s.check(dataset.info) is None
            )
            raise IncompatibleError(
                f"feature extractor {name!r} does not apply to dataset {dataset.info.name!r}: "
                f"{reason}; valid choices: {', '.join(fitting + ['none'])}"
            )
    return spec.build(dataset, ctx)


def feature_context(
    device: torch.device, inception_weights: str | Path | None = None, quiet: bool = True
) -> FeatureContext:
    """The cache folder, device and weights file feature extractors get."""
    weights = Path(inception_weights).expanduser() if inception_weights else None
    return FeatureContext(
        cache_dir=cache_dir(), device=device, quiet=quiet, inception_weights=weights
    )


def build_extractor(
    request: RunRequest,
    dataset_spec: DatasetSpec,
    dataset: GanDataset,
    registry: Registry,
    device: torch.device,
) -> FeatureExtractor | None:
    """The run's feature space (``none`` disables feature metrics)."""
    name = request.feature_extractor or dataset_spec.feature_extractor
    if name == "none":
        return None
    ctx = feature_context(device, request.inception_weights)
    return build_feature_extractor(name, dataset, registry, ctx)


def default_eval_samples(dataset_spec: DatasetSpec, dataset: GanDataset) -> int:
    """n_fake without ``--eval-samples``: every test pair once for a paired dataset
    (super-resolution scores each test image against its own target), else the spec's."""
    if dataset.info.paired:
        return len(dataset.splits["test"])
    return dataset_spec.eval_samples


def check_fixed_model(model_spec: ModelSpec, request: RunRequest) -> None:
    """Refuse steps and tricks for a model that does not train (a baseline)."""
    if model_spec.trains:
        return
    what = f"model {model_spec.name!r} is a fixed baseline and does not train"
    if request.steps:
        raise GanbenchError(f"{what}: --steps must be 0 or left out, got {request.steps}")
    if request.tricks:
        raise GanbenchError(f"{what}: --trick {', '.join(request.tricks)} cannot apply; drop it")


def prepare_run(request: RunRequest, registry: Registry) -> PreparedRun:
    """Resolve and check everything in ``request``; raise one clear error if anything is off."""
    model_spec, model_params = parse_model(request.model, registry)
    dataset_spec = registry.dataset(request.dataset)
    device = resolve_device(request.device)
    _positive("steps", request.steps, allow_zero=True)
    _positive("batch-size", request.batch_size)
    _positive("d-steps", request.d_steps)
    _positive("checkpoint-every", request.checkpoint_every)
    _positive("eval-samples", request.eval_samples)
    _positive("image-size", request.image_size)
    if request.seed < 0:
        raise GanbenchError(f"--seed must be an integer >= 0, got {request.seed}")
    parsed_tricks = [parse_trick(text, registry) for text in request.tricks]
    if request.metrics is not None:
        for name in request.metrics:
            registry.metric(name)
    if request.feature_extractor not in (None, "none"):
        registry.feature_extractor(request.feature_extractor)
    check_skip_names(registry.metrics, request.skip_metrics, request.metrics)

    check_fixed_model(model_spec, request)
    dataset = load_dataset(dataset_spec, request)
    check_model_fits(model_spec, dataset_spec, registry, dataset.info)
    steps = dataset_spec.default_steps if request.steps is None else request.steps
    if not model_spec.trains:
        steps = 0
    batch_size = request.batch_size or dataset_spec.default_batch_size
    if batch_size > len(dataset.splits["train"]):
        raise GanbenchError(
            f"--batch-size {batch_size} exceeds the {len(dataset.splits['train'])} training "
            f"samples of {dataset_spec.name!r}"
        )
    # --batch-size batches the train split only: evaluation and validation
    # generate and featurise in fixed batches of their own, whatever the split sizes.
    run_metrics = RunMetrics(
        specs=registry.metrics,
        requested=request.metrics,
        skip=request.skip_metrics,
        primary=dataset_spec.primary_metric,
        dataset=dataset,
        n_fake=request.eval_samples or default_eval_samples(dataset_spec, dataset),
        eval_samples_flag=request.eval_samples,
        selects_checkpoints=steps > 0,
    )
    # Split sizes alone decide these; checked before a feature space is built.
    feature_space = request.feature_extractor or dataset_spec.feature_extractor
    run_metrics.check_counts(has_feature_space=feature_space != "none")
    trick_list: list[Trick] = []
    records: list[dict[str, Any]] = []
    for spec, params in parsed_tricks:
        trick_list.append(build_trick(spec, params))
        records.append({"name": spec.name, "params": params})
    tricks = TrickChain(trick_list)
    # Seed before building: default PyTorch initialisation draws from the global RNG.
    torch.manual_seed(request.seed)
    model = build_model(
        model_spec,
        dataset,
        device,
        model_params,
        tricks,
        losses=registry.losses,
        fresh=True,
        trick_specs=[spec for spec, _ in parsed_tricks],
    )

    check_step_reaches_hooks(model, tricks, dataset, batch_size, device, model_spec.name)
    extractor = build_extractor(request, dataset_spec, dataset, registry, device)
    skipped_metrics = run_metrics.plan(extractor, model, device)
    checkpoint_every = resolved_checkpoint_every(steps, request.checkpoint_every)
    return PreparedRun(
        request=request,
        model_spec=model_spec,
        model_params=model_params,
        made_by={
            "model": registry.made_by("models", model_spec.name),
            "tricks": [registry.made_by("tricks", spec.name) for spec, _ in parsed_tricks],
        },
        dataset_spec=dataset_spec,
        dataset=dataset,
        model=model,
        tricks=tricks,
        trick_records=records,
        extractor=extractor,
        metric_specs=dict(registry.metrics),
        device=device,
        steps=steps,
        batch_size=batch_size,
        checkpoint_every=checkpoint_every,
        n_fake=run_metrics.n_fake,
        skipped_metrics=skipped_metrics,
    )
