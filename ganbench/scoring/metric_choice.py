"""The metrics ``ganbench score`` computes, or why it would compute none.

A score that would print an empty table is refused instead, with the reason
each metric does not apply: with ``--feature-extractor none`` only the
raw-sample metrics are left, and those take vectors of a known mixture
(``mode-coverage``), so on images nothing at all would be computed.
"""

from __future__ import annotations

from collections.abc import Iterable

from ganbench.errors import IncompatibleError
from ganbench.eval.inputs import EvalInputs
from ganbench.eval.metric_plan import plan_metrics
from ganbench.eval.metrics_runner import select_metrics, why_not_applicable
from ganbench.eval.sample_counts import score_counts
from ganbench.registry import Registry
from ganbench.specs import MetricSpec


def choose_score_metrics(
    registry: Registry, requested: Iterable[str] | None, inputs: EvalInputs
) -> tuple[list[MetricSpec], dict[str, str]]:
    """(metrics to compute, metrics left out with why) for scoring ``inputs``.

    Requested metrics must apply and fit the sample counts; default ones the
    counts are too few for are left out (see :func:`plan_metrics`).

    Raises:
        IncompatibleError: a requested metric cannot be computed, or no metric would be.
    """
    requested = None if requested is None else tuple(requested)
    counts = score_counts(len(inputs.real), len(inputs.fake))
    skipped = plan_metrics(registry.metrics, requested, (), inputs, counts)
    available = {name: spec for name, spec in registry.metrics.items() if name not in skipped}
    specs = select_metrics(available, requested, inputs)
    if not specs:
        raise no_metric_error(registry, inputs)
    return specs, skipped


def no_metric_error(registry: Registry, inputs: EvalInputs) -> IncompatibleError:
    """The one-line error of a score that would compute nothing: each metric's reason."""
    names_by_reason: dict[str, list[str]] = {}
    for name, spec in sorted(registry.metrics.items()):
        reason = why_not_applicable(spec, inputs) or "left out"
        names_by_reason.setdefault(reason, []).append(name)
    reasons = "; ".join(
        f"{', '.join(names)}: {reason}" for reason, names in names_by_reason.items()
    )
    if inputs.extractor is not None:
        return IncompatibleError(
            f"no metric applies to these samples in feature space {inputs.space!r} ({reasons})"
        )
    spaces = sorted(
        name
        for name, spec in registry.feature_extractors.items()
        if spec.check is None or spec.check(inputs.info) is None
    )
    return IncompatibleError(
        "no metric applies: with --feature-extractor none only raw-sample metrics apply, and "
        f"none of them applies to these {inputs.info.kind} samples ({reasons}); "
        f"choose a feature space: {', '.join(spaces) or '(none registered)'}"
    )
