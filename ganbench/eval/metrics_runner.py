"""Choosing and computing the metrics that apply to one evaluation."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from ganbench.errors import GanbenchError, IncompatibleError, PluginContractError, call_plugin
from ganbench.eval.inputs import EvalInputs
from ganbench.specs import MetricSpec


@dataclass
class MetricResults:
    """Metric values by full name, their directions, the parameters used, and
    why a metric's values do not rank (metric name -> reason)."""

    values: dict[str, float] = field(default_factory=dict)
    directions: dict[str, str] = field(default_factory=dict)
    params: dict[str, dict] = field(default_factory=dict)
    unranked: dict[str, str] = field(default_factory=dict)


def why_not_applicable(spec: MetricSpec, inputs: EvalInputs) -> str | None:
    """Why ``spec`` cannot be computed on ``inputs``, or None if it can."""
    for need in spec.needs:
        if need in ("features", "probs") and inputs.extractor is None:
            return "it needs a feature space and this evaluation has none"
        if need == "probs" and inputs.fake_probs() is None:
            return f"feature space {inputs.space!r} has no class probabilities"
        if need == "labels" and not (inputs.conditional and inputs.fake_conditions.y is not None):
            return "it needs a class-conditional model"
        if need == "reference_labels" and inputs.real.y is None:
            return f"dataset {inputs.info.name!r} has no class labels"
        if need == "modes" and "modes" not in inputs.info.extras:
            return f"dataset {inputs.info.name!r} has no known mixture modes"
        if need == "stacked_modes" and not inputs.info.extras.get("stacked_modes"):
            return f"dataset {inputs.info.name!r} is not a stacked mode benchmark"
        if need == "targets" and inputs.targets is None:
            return (
                "it needs paired targets: a super-resolution run, or two folders of "
                "images with the same file names"
            )
        if need == "source_labels" and inputs.source_labels is None:
            return (
                "it needs the class of each fake's input: a translation model on a dataset "
                "whose y labels its sources too (extras source_labels)"
            )
        if need == "discriminator" and inputs.model is None:
            return "it needs a trained model's discriminator and this evaluation has no model"
        if need == "discriminator" and getattr(inputs.model, "discriminator", None) is None:
            return "it needs a discriminator and this model (a fixed baseline) has none"
    # What the generic needs cannot say, the metric says itself.
    return None if spec.check is None else spec.check(inputs)


def full_name(output: str, spec: MetricSpec, space: str | None) -> str:
    """``fid`` in the digits evaluator's space is ``fid[digits-evaluator]``."""
    return f"{output}[{space}]" if spec.in_feature_space and space else output


def select_metrics(
    available: dict[str, MetricSpec], requested: Iterable[str] | None, inputs: EvalInputs
) -> list[MetricSpec]:
    """The requested metrics (all applicable ones when None), checked."""
    if requested is None:
        return [s for _, s in sorted(available.items()) if why_not_applicable(s, inputs) is None]
    chosen = []
    for name in requested:
        spec = available[name]
        reason = why_not_applicable(spec, inputs)
        if reason is not None:
            raise IncompatibleError(f"metric {name!r} does not apply here: {reason}")
        chosen.append(spec)
    return chosen


def _compute_shared_features(specs: list[MetricSpec], inputs: EvalInputs) -> None:
    """Extract the features the metrics share before the first metric runs.

    They are cached on ``inputs`` and would be computed by the first metric
    that needs them anyway; doing it here only makes it its own phase in the
    progress display instead of time hidden inside that metric's.
    """
    needs = {need for spec in specs for need in spec.needs}
    if inputs.extractor is None or len(inputs.fake) == 0:
        return
    try:
        if "features" in needs:
            inputs.real_features()
            inputs.fake_features()
        if "probs" in needs:
            inputs.fake_probs()
    except GanbenchError:
        raise
    except Exception as exc:
        raise PluginContractError(
            f"feature extractor {inputs.space!r} failed: {type(exc).__name__}: {exc}"
        ) from None


def compute_metrics(specs: Iterable[MetricSpec], inputs: EvalInputs) -> MetricResults:
    """Compute each metric; names get the feature space appended where relevant.

    Reports its phases (shared features, then ``metric NAME`` for each
    metric) to ``inputs.progress``.
    """
    specs = list(specs)
    results = MetricResults()
    _compute_shared_features(specs, inputs)
    for spec in specs:
        inputs.progress.phase(f"metric {spec.name}")
        params = dict(spec.params)
        if spec.resolve_params is not None:
            # Parameters sized from the data: what is computed is what is recorded.
            params = dict(
                call_plugin(f"metric {spec.name!r} failed", spec.resolve_params, inputs, params)
            )
        outputs = call_plugin(f"metric {spec.name!r} failed", spec.compute, inputs, params)
        if not isinstance(outputs, Mapping):
            raise PluginContractError(
                f"metric {spec.name!r}: compute() returned {type(outputs).__name__}, expected a "
                f"mapping of its outputs ({', '.join(spec.outputs)}) to numbers"
            )
        results.params[spec.name] = params
        unranked = None
        if spec.unranked_reason is not None:
            unranked = call_plugin(
                f"metric {spec.name!r} failed", spec.unranked_reason, params, outputs
            )
        if unranked:
            results.unranked[spec.name] = str(unranked)
        for output, value in outputs.items():
            name = full_name(output, spec, inputs.space)
            try:
                results.values[name] = float(value)
            except (TypeError, ValueError):
                raise PluginContractError(
                    f"metric {spec.name!r}: output {output!r} is {type(value).__name__}, "
                    "not a number"
                ) from None
            # Values that cannot rank rows are still kept, as information.
            results.directions[name] = "info" if unranked else spec.outputs.get(output, "info")
    return results
