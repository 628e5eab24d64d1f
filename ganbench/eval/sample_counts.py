"""The sample counts each evaluation will have, and the metrics they are too few for.

A metric declares its minimum with ``MetricSpec.min_samples``; the counts
of an evaluation are known before anything is generated:

- the evaluation on the reference split (``test``): its samples against
  n_fake (``--eval-samples``) generated ones; the real-data row has the same
  counts (n_fake train samples, drawn with replacement if need be);
- checkpoint selection on the validation split (``val``): its samples
  against ``min(n_fake, MAX_VALIDATION_SAMPLES)`` generated ones;
- ``ganbench score``: the two sets as given.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from ganbench.data.types import GanDataset
from ganbench.errors import IncompatibleError, PluginContractError, call_plugin
from ganbench.specs import MetricSpec, SampleMinimum

#: Validation uses at most this many generated samples per checkpoint.
MAX_VALIDATION_SAMPLES = 5000


def validation_fakes(n_fake: int) -> int:
    """Generated samples each checkpoint's validation scores."""
    return min(n_fake, MAX_VALIDATION_SAMPLES)


@dataclass(frozen=True)
class EvalCounts:
    """The sample counts of one evaluation, in words too (for one-line errors).

    Attributes:
        evaluation: what is scored, e.g. ``"the test split"``.
        n_real: real (reference) samples.
        n_fake: generated samples.
        real_source: the real samples, e.g. ``"the test split of 'digits'"``.
        fake_source: the generated count, e.g. ``"--eval-samples 3"``.
        real_fix: what would give ``{n}`` real samples, e.g. ``"a test split of {n} or more"``.
        fake_fix: what would give ``{n}`` generated samples, e.g. ``"--eval-samples {n} or more"``.
    """

    evaluation: str
    n_real: int
    n_fake: int
    real_source: str
    fake_source: str
    real_fix: str
    fake_fix: str


def reference_counts(dataset: GanDataset, n_fake: int, eval_samples_flag: int | None) -> EvalCounts:
    """Counts of the evaluation on the test split (and of the real-data row)."""
    given = (
        f"--eval-samples {n_fake}"
        if eval_samples_flag is not None
        else f"the dataset's default of {n_fake} evaluation samples"
    )
    return _split_counts(dataset, "test", n_fake, given)


def selection_counts(dataset: GanDataset, n_fake: int, eval_samples_flag: int | None) -> EvalCounts:
    """Counts of each checkpoint's validation on the val split."""
    given = f"--eval-samples {n_fake}" if eval_samples_flag is not None else f"n_fake {n_fake}"
    source = f"validation's min({given}, {MAX_VALIDATION_SAMPLES})"
    return _split_counts(dataset, "val", validation_fakes(n_fake), source)


def _split_counts(dataset: GanDataset, split: str, n_fake: int, fake_source: str) -> EvalCounts:
    return EvalCounts(
        evaluation=f"the {split} split",
        n_real=len(dataset.splits[split]),
        n_fake=n_fake,
        real_source=f"the {split} split of {dataset.info.name!r}",
        fake_source=fake_source,
        real_fix=f"a {split} split of {{n}} or more samples",
        fake_fix="--eval-samples {n} or more",
    )


def declared_minimum(spec: MetricSpec) -> SampleMinimum | None:
    """``spec.min_samples(spec.params)``, or None; a plugin's broken one is a contract error."""
    if spec.min_samples is None:
        return None
    need = call_plugin(f"metric {spec.name!r}: min_samples failed", spec.min_samples, spec.params)
    if not isinstance(need, SampleMinimum):
        raise PluginContractError(
            f"metric {spec.name!r}: min_samples returned {type(need).__name__}, not a SampleMinimum"
        )
    return need


def sample_shortfall(spec: MetricSpec, counts: EvalCounts) -> str | None:
    """Why ``spec`` has too few samples under ``counts``, and what would fit; None if enough."""
    need = declared_minimum(spec)
    if need is None:
        return None
    short: list[str] = []
    fixes: list[str] = []
    if counts.n_real < need.real:
        short.append(
            f"at least {need.real} real samples and {counts.real_source} has {counts.n_real}"
        )
        fixes.append(counts.real_fix.format(n=need.real))
    if counts.n_fake < need.fake:
        short.append(
            f"at least {need.fake} generated samples and {counts.fake_source} gives {counts.n_fake}"
        )
        fixes.append(counts.fake_fix.format(n=need.fake))
    if not short:
        return None
    because = f" ({need.why})" if need.why else ""
    return f"it needs {' and '.join(short)}{because}; it would fit {' and '.join(fixes)}"


def check_requested_counts(
    metric_specs: Mapping[str, MetricSpec], requested: Iterable[str], counts: EvalCounts
) -> None:
    """Raise naming the metric, the counts and what would fit, if a requested metric is short."""
    for name in requested:
        reason = sample_shortfall(metric_specs[name], counts)
        if reason is not None:
            raise IncompatibleError(
                f"metric {name!r} cannot be computed on {counts.evaluation}: {reason}"
            )


def check_selection_counts(primary: MetricSpec, output: str, counts: EvalCounts) -> None:
    """Raise if the primary metric cannot score checkpoints with the validation counts."""
    reason = sample_shortfall(primary, counts)
    if reason is not None:
        raise IncompatibleError(
            f"the primary metric {output!r} selects checkpoints on {counts.evaluation}, "
            f"but {reason}"
        )


def score_counts(n_real: int, n_fake: int) -> EvalCounts:
    """Counts of ``ganbench score REAL FAKE``."""
    return EvalCounts(
        evaluation="REAL against FAKE",
        n_real=n_real,
        n_fake=n_fake,
        real_source="REAL",
        fake_source="FAKE",
        real_fix="a REAL of {n} or more samples",
        fake_fix="a FAKE of {n} or more samples (--samples for a run folder)",
    )
