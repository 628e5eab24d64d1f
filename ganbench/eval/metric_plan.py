"""Which metrics an evaluation will compute, decided before it starts.

Everything about a metric that is known before training is checked before
training, so that no run dies after an hour on something it could have
said at once: its needs (a feature space, class probabilities, a model with
a decision threshold, ...) on stand-in inputs (:func:`probe_inputs`), and
its sample minimum against the counts of each evaluation
(:mod:`ganbench.eval.sample_counts`).

A metric asked for with ``--metric`` that cannot be computed, and a primary
metric that cannot select checkpoints on the validation split, are errors.
A default metric (no ``--metric``) that the samples are too few for is
skipped instead, with the reason in the protocol record's
``skipped_metrics``: the other metrics of a default run are still worth
computing, and refusing them all because one needs more samples would make
small datasets unusable. Only when every default metric that applies is
short does the run refuse.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import torch

from ganbench.data.types import GanDataset
from ganbench.errors import GanbenchError, IncompatibleError
from ganbench.eval.inputs import EvalInputs
from ganbench.eval.metrics_runner import why_not_applicable
from ganbench.eval.protocol import paired_targets, primary_metric_spec, source_labels
from ganbench.eval.sample_counts import (
    EvalCounts,
    check_requested_counts,
    check_selection_counts,
    reference_counts,
    sample_shortfall,
    selection_counts,
)
from ganbench.features.base import FeatureExtractor
from ganbench.model import GANModel
from ganbench.specs import MetricSpec
from ganbench.tasks import TaskKind

#: The ``skipped_metrics`` note of a metric left out with ``--skip-metric``.
SKIPPED_BY_FLAG = "skipped with --skip-metric"

#: Stand-in generated samples per probe: enough for every needs check, cheap to featurise.
_PROBE_SAMPLES = 2


def probe_inputs(
    dataset: GanDataset,
    split: str,
    extractor: FeatureExtractor | None,
    model: GANModel | None,
    device: torch.device,
) -> EvalInputs:
    """Stand-in inputs of an evaluation on ``split``, for needs checks before training.

    A few of the split's own samples stand in for the generated ones: the
    needs checks look at what the inputs offer (features, class
    probabilities, conditioning, the model), never at the values.
    """
    reference = dataset.splits[split]
    stand_in = reference.index(torch.arange(min(_PROBE_SAMPLES, len(reference))))
    conditional = model is not None and model.task == TaskKind.CLASS_CONDITIONAL
    return EvalInputs(
        info=dataset.info,
        real=reference,
        fake=stand_in.x,
        fake_conditions=stand_in,
        extractor=extractor,
        targets=paired_targets(dataset.info, model, stand_in),
        source_labels=source_labels(dataset.info, model, stand_in),
        conditional=conditional,
        model=model,
        device=device,
    )


def plan_metrics(
    metric_specs: Mapping[str, MetricSpec],
    requested: Iterable[str] | None,
    skip: Iterable[str],
    inputs: EvalInputs,
    counts: EvalCounts,
) -> dict[str, str]:
    """The metrics an evaluation on ``inputs`` leaves out, each with why (``skipped_metrics``).

    ``inputs`` may be :func:`probe_inputs`; ``counts`` are the evaluation's.
    ``skip`` names are left out as asked.

    Raises:
        IncompatibleError: a requested metric does not apply or is short of
            samples, or every default metric that applies is short of samples.
    """
    skipped = {name: SKIPPED_BY_FLAG for name in skip}
    if requested is not None:
        requested = list(requested)
        for name in requested:
            reason = why_not_applicable(metric_specs[name], inputs)
            if reason is not None:
                raise IncompatibleError(f"metric {name!r} does not apply here: {reason}")
        check_requested_counts(metric_specs, requested, counts)
        return skipped
    computed: list[str] = []
    short: dict[str, str] = {}
    not_applicable: dict[str, str] = {}
    for name, spec in sorted(metric_specs.items()):
        if name in skipped:
            continue
        misfit = why_not_applicable(spec, inputs)
        if misfit is not None:
            # Left out, and the record says why: silence would read as "not measured".
            not_applicable[name] = f"does not apply: {misfit}"
            continue
        reason = sample_shortfall(spec, counts)
        if reason is None:
            computed.append(name)
        else:
            short[name] = reason
    if short and not computed:
        raise IncompatibleError(
            f"no metric can be computed on {counts.evaluation}: "
            + "; ".join(f"{name}: {why}" for name, why in short.items())
        )
    return {**skipped, **not_applicable, **short}


def check_selection_applies(
    primary: MetricSpec, output: str, inputs: EvalInputs, counts: EvalCounts
) -> None:
    """Raise if the primary metric cannot score checkpoints on the validation split.

    ``inputs`` are :func:`probe_inputs` of the val split with the run's model
    and feature space; ``counts`` its :func:`~ganbench.eval.sample_counts.selection_counts`.
    """
    reason = why_not_applicable(primary, inputs)
    if reason is not None:
        raise IncompatibleError(
            f"the primary metric {output!r} selects checkpoints on {counts.evaluation}, "
            f"but it does not apply: {reason}"
        )
    check_selection_counts(primary, output, counts)


def check_skip_names(
    metric_specs: Mapping[str, MetricSpec], skip: Iterable[str], requested: Iterable[str] | None
) -> None:
    """``--skip-metric`` names must be registered metrics not also given to ``--metric``."""
    asked = set(requested or ())
    for name in skip:
        if name not in metric_specs:
            raise GanbenchError(
                f"unknown metric {name!r} in --skip-metric; valid choices: "
                f"{', '.join(sorted(metric_specs))}"
            )
        if name in asked:
            raise GanbenchError(
                f"metric {name!r} is given to both --metric and --skip-metric; drop it from one"
            )


@dataclass(frozen=True)
class RunMetrics:
    """What a run asks of its metrics, and the data its evaluations will see.

    Attributes:
        specs: the registered metrics by name.
        requested: ``--metric`` names, or None for every metric that applies.
        skip: ``--skip-metric`` names.
        primary: the dataset's primary metric output (e.g. ``"fid"``).
        dataset: the loaded dataset.
        n_fake: generated samples of the test evaluation.
        eval_samples_flag: ``--eval-samples`` as given (None: the dataset's count).
        selects_checkpoints: whether training validates checkpoints at all
            (``--steps 0`` trains none, so selection needs nothing).
    """

    specs: Mapping[str, MetricSpec]
    requested: tuple[str, ...] | None
    skip: tuple[str, ...]
    primary: str
    dataset: GanDataset
    n_fake: int
    eval_samples_flag: int | None = None
    selects_checkpoints: bool = True

    def _selecting_primary(self, has_feature_space: bool) -> MetricSpec | None:
        # make_validator's rule: no selection without the primary metric, or
        # without the feature space it is computed in (the last checkpoint is used).
        spec = primary_metric_spec(dict(self.specs), self.primary)
        if not self.selects_checkpoints or spec is None:
            return None
        if spec.in_feature_space and not has_feature_space:
            return None
        return spec

    def check_counts(self, has_feature_space: bool) -> None:
        """Sample minimums of the requested metrics and of the selecting primary metric.

        Needs only the split sizes, so it runs as soon as the data is loaded,
        before a feature space is built (a domain evaluator trains).
        """
        if self.requested is not None:
            counts = reference_counts(self.dataset, self.n_fake, self.eval_samples_flag)
            check_requested_counts(self.specs, self.requested, counts)
        primary = self._selecting_primary(has_feature_space)
        if primary is not None:
            counts = selection_counts(self.dataset, self.n_fake, self.eval_samples_flag)
            check_selection_counts(primary, self.primary, counts)

    def plan(
        self, extractor: FeatureExtractor | None, model: GANModel, device: torch.device
    ) -> dict[str, str]:
        """Check every metric's needs before training; the metrics left out, each with why.

        Raises:
            IncompatibleError: the primary metric cannot score checkpoints on
                the val split; a requested metric does not apply or is short
                of samples; every default metric that applies is short of samples.
        """
        primary = self._selecting_primary(extractor is not None)
        if primary is not None:
            check_selection_applies(
                primary,
                self.primary,
                probe_inputs(self.dataset, "val", extractor, model, device),
                selection_counts(self.dataset, self.n_fake, self.eval_samples_flag),
            )
        return plan_metrics(
            self.specs,
            self.requested,
            self.skip,
            probe_inputs(self.dataset, "test", extractor, model, device),
            reference_counts(self.dataset, self.n_fake, self.eval_samples_flag),
        )
