"""Registration records: what a plugin hands to ``register(...)``.

Each spec is validated on registration (see :mod:`ganbench.registry`): a
missing field, a bad name or a duplicate is reported against the plugin.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from ganbench.data.types import DataInfo, DataKind, DatasetOptions, GanDataset
from ganbench.tasks import TaskKind

if TYPE_CHECKING:
    from ganbench.eval.inputs import EvalInputs
    from ganbench.features.base import FeatureContext, FeatureExtractor
    from ganbench.model import GANModel
    from ganbench.trick import Trick

Direction = Literal["lower", "higher", "info"]


@dataclass(frozen=True)
class Param:
    """One parameter of a model or trick: ``NAME:VALUE`` sets the first.

    ``--plugin NAME:VALUE``, ``--plugin NAME:key=value,key=value`` (and the
    same after ``--trick``). ``choices`` limits the values (a loss name, say).
    """

    name: str
    type: type
    default: Any
    help: str = ""
    choices: tuple[Any, ...] = ()


#: The name of API 1, kept so that trick code reads the same.
TrickParam = Param


@dataclass(frozen=True)
class ModelSpec:
    """An architecture.

    Attributes:
        name: CLI name (``--plugin NAME[:VALUE | :key=value,...]``):
            lowercase letters, digits, ``-``.
        build: ``build(info, params) -> GANModel`` sized for the dataset
            described, with the parsed parameters (defaults filled in);
            ``build(info)`` when the model declares no ``params``.
        task: the task kind the model serves.
        data_kinds: which data it accepts (``"image"``, ``"vector"``).
        paper: the paper (and section) the architecture comes from.
        description: one line for ``ganbench plugins``.
        check: optional ``check(info) -> reason or None`` for constraints
            beyond task and data kind (channel counts, sizes).
        params: its parameters (the paper's values as defaults), the first
            one positional; they are recorded and tell leaderboard rows apart.
        trains: False for a fixed method with nothing to learn, a task's
            baseline (bicubic upsampling, the identity map; build it on
            :class:`ganbench.api.FixedModel`). Its runs take no steps and no
            tricks, are recorded with kind ``"baseline"``, and leaderboards
            show them for scale beside the ranked rows, from one run.
    """

    name: str
    build: Callable[..., GANModel]
    task: TaskKind
    data_kinds: tuple[DataKind, ...]
    paper: str
    description: str = ""
    check: Callable[[DataInfo], str | None] | None = None
    params: tuple[Param, ...] = ()
    trains: bool = True


@dataclass(frozen=True)
class DatasetSpec:
    """A dataset.

    Attributes:
        name: CLI name (``--dataset NAME``).
        load: ``load(options) -> GanDataset`` with train/val/test splits;
            raises :class:`ganbench.errors.DataMissingError` for missing files.
        kind: ``"image"`` or ``"vector"``.
        description: one line for ``ganbench plugins``.
        feature_extractor: the default feature space's extractor name.
        primary_metric: the metric (without feature space) that ranks
            leaderboard rows and selects checkpoints on the validation split.
        default_steps, default_batch_size: the standard budget.
        eval_samples: n_fake of the eval protocol (a paired dataset, whose fakes
            each have a target, scores every test pair once instead).
        fields: the batch fields its splits carry (``("x", "source")``), so
            that a model's mismatch error can name the datasets that fit it
            before any is loaded; None when only loading tells (a folder
            whose sub-folders may or may not give labels).
    """

    name: str
    load: Callable[[DatasetOptions], GanDataset]
    kind: DataKind
    description: str = ""
    feature_extractor: str = "evaluator"
    primary_metric: str = "fid"
    default_steps: int = 2000
    default_batch_size: int = 64
    eval_samples: int = 1000
    fields: tuple[str, ...] | None = None


@dataclass(frozen=True)
class TrickSpec:
    """A training trick.

    Attributes:
        name: CLI name (``--trick NAME[:VALUE | :key=value,...]``).
        build: ``build(params) -> Trick`` from the parsed parameters.
        hook_points: the hook points the trick uses (names from
            :data:`ganbench.trick.HOOK_POINTS`).
        params: its parameters, the first one positional.
        description: one line for ``ganbench plugins``; cite the source.
        check: optional ``check(model) -> reason or None`` when the trick
            does not apply to a model (e.g. targets under a Wasserstein loss).
    """

    name: str
    build: Callable[[Mapping[str, Any]], Trick]
    hook_points: tuple[str, ...]
    params: tuple[Param, ...] = ()
    description: str = ""
    check: Callable[[GANModel], str | None] | None = None


@dataclass(frozen=True)
class SampleMinimum:
    """The fewest samples a metric can be computed on (see ``MetricSpec.min_samples``).

    Attributes:
        real: fewest real (reference) samples.
        fake: fewest generated samples.
        why: what sets these numbers, for the error message (e.g.
            ``"k_density_coverage=5 nearest neighbours, the sample itself
            excluded"``).
    """

    real: int = 1
    fake: int = 1
    why: str = ""


@dataclass(frozen=True)
class MetricSpec:
    """A metric.

    Attributes:
        name: CLI name (``--metric NAME``), e.g. ``"fid"``.
        compute: ``compute(inputs, params) -> {output: value}``; outputs
            are named by ``outputs`` and get ``[space]`` appended when the
            metric works in a feature space.
        outputs: output name -> ``"lower"``/``"higher"`` is better, or ``"info"``.
        needs: what the eval inputs must offer: ``"features"``, ``"probs"``,
            ``"labels"`` (class-conditional fakes), ``"reference_labels"``
            (labels on the reference split), ``"modes"`` (mixture data),
            ``"stacked_modes"`` (stacked mode benchmarks such as
            ``stacked-digits``), ``"discriminator"`` (the trained model
            itself: runs have one, ``ganbench score`` does not),
            ``"targets"`` (a paired target per fake: super-resolution runs,
            ``ganbench score`` of two folders with the same file names),
            ``"source_labels"`` (the class of each fake's input: translation
            runs on datasets that label their sources).
        params: default parameters; recorded in the protocol record.
        description: one line for the README and ``ganbench plugins``.
        min_samples: optional ``min_samples(params) -> SampleMinimum``: the
            fewest real and generated samples the metric can be computed on
            with ``params``. ``ganbench run`` checks it before training
            against the reference (test) split, the validation split and
            ``--eval-samples``: a metric asked for with ``--metric`` that
            does not fit is an error, a default one is skipped with a note
            in the protocol record (``skipped_metrics``). None: any
            non-empty sets.
        resolve_params: optional ``resolve_params(inputs, params) -> params``
            for parameters sized from the data (how many images an
            expensive metric attacks, say): what it returns is what
            ``compute`` gets and what the protocol record shows, so the
            record says exactly what was computed. None: ``params`` as they are.
        check: optional ``check(inputs) -> reason or None``: why the metric
            cannot be computed on these inputs beyond what ``needs`` says (a
            critic with no decision threshold to attack). ``ganbench run``
            asks it before training, on stand-in inputs that carry the built
            model, the dataset and the feature space: a metric asked for
            with ``--metric`` that does not apply is an error, a default one
            is listed in the record's ``skipped_metrics`` with the reason.
        unranked_reason: optional ``unranked_reason(params, values) -> reason
            or None``: why values computed with ``params`` cannot rank rows
            (``values`` by output name, ``params`` as computed). With a
            reason, the metric's ranked outputs are recorded as ``"info"``
            (kept, shown in the CSV, never ranked or tested by ``ganbench
            ablate``) and the reason goes in the protocol record's
            ``unranked_metrics``. None: the outputs rank as ``outputs`` says.
    """

    name: str
    compute: Callable[[EvalInputs, Mapping[str, Any]], Mapping[str, float]]
    outputs: Mapping[str, Direction]
    needs: tuple[str, ...] = ()
    params: Mapping[str, Any] = field(default_factory=dict)
    description: str = ""
    min_samples: Callable[[Mapping[str, Any]], SampleMinimum] | None = None
    resolve_params: Callable[[EvalInputs, Mapping[str, Any]], Mapping[str, Any]] | None = None
    check: Callable[[EvalInputs], str | None] | None = None
    unranked_reason: Callable[[Mapping[str, Any], Mapping[str, float]], str | None] | None = None

    @property
    def in_feature_space(self) -> bool:
        """Whether the values depend on a feature extractor."""
        return "features" in self.needs or "probs" in self.needs


@dataclass(frozen=True)
class FeatureExtractorSpec:
    """A feature space.

    Attributes:
        name: CLI name (``--feature-extractor NAME``).
        build: ``build(dataset, ctx) -> FeatureExtractor``; may train and
            cache a network (domain evaluators) or load weights.
        check: ``check(info) -> reason or None`` when the space does not
            apply to a dataset.
        description: one line for ``ganbench plugins``.
    """

    name: str
    build: Callable[[GanDataset, FeatureContext], FeatureExtractor]
    check: Callable[[DataInfo], str | None] | None = None
    description: str = ""
