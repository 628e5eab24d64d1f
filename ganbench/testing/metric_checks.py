"""Conformance checks of a metric plugin: :func:`check_metric` and :class:`MetricCase`."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import torch
from torch import Tensor

from ganbench.data.types import Batch
from ganbench.eval.inputs import EvalInputs
from ganbench.eval.metrics_runner import why_not_applicable
from ganbench.registry import _validate
from ganbench.specs import MetricSpec
from ganbench.testing.probe_data import probe_images, probe_info, probe_vectors
from ganbench.testing.probe_models import ProbeGAN
from ganbench.testing.results import Check, CheckLog, CheckResult
from ganbench.testing.training import isolated_rng, keeps_rng

#: The ``needs`` a metric may declare (see :class:`ganbench.api.MetricSpec`).
KNOWN_NEEDS = (
    "features",
    "probs",
    "labels",
    "reference_labels",
    "modes",
    "stacked_modes",
    "discriminator",
    "targets",
    "source_labels",
)
DIRECTIONS = ("lower", "higher", "info")
#: Classes of the constructed inputs (and columns of the toy classifier).
NUM_CLASSES = 4
N_REAL, N_FAKE = 60, 40


@dataclass(frozen=True)
class MetricCase:
    """A constructed input with a known answer, supplied by the metric's author.

    Attributes:
        inputs: what the metric receives (build it like an evaluation would:
            real and fake samples, a feature space if the metric needs one).
        expected: output name (without ``[space]``) -> the value it must have.
        tolerance: largest accepted absolute difference.
    """

    inputs: EvalInputs
    expected: Mapping[str, float]
    tolerance: float = 1e-6


class ToyFeatures:
    """A feature space for constructed inputs: flattened samples, and a softmax classifier.

    ``class_probs`` is the softmax of a fixed projection of the flattened
    samples onto :data:`NUM_CLASSES` classes (the identity on the first
    coordinates, scaled by 4), so inputs of different classes get different,
    confident probabilities.
    """

    space = "kit-toy"

    def features(self, x: Tensor) -> Tensor:
        """N x D float32: the flattened samples."""
        return x.reshape(x.shape[0], -1).float()

    def class_probs(self, x: Tensor) -> Tensor | None:
        """N x 4 probabilities, rows summing to 1."""
        flat = self.features(x)
        projection = torch.eye(flat.shape[1], NUM_CLASSES)
        return torch.softmax(4.0 * flat @ projection, dim=1)

    def protocol(self) -> dict[str, Any]:
        return {"name": self.space, "space": self.space, "weights_sha256": None}


def constructed_inputs(needs: Sequence[str], seed: int = 0) -> EvalInputs:
    """Evaluation inputs that offer everything ``needs`` asks for.

    * default: 4-class probability vectors (real 60, fake 40) with labels,
      class-conditional fakes, and :class:`ToyFeatures` as the feature space;
    * ``"modes"``: 2-D points of a four-mode mixture, ``info.extras`` with
      ``modes`` and ``mode_std``;
    * ``"discriminator"``: 1 x 8 x 8 images and a tiny untrained
      :class:`~ganbench.testing.probe_models.ProbeGAN` as ``model``;
    * ``"stacked_modes"``: ``info.extras["stacked_modes"] = True`` (the 4
      classes stand for the modes);
    * ``"targets"``: 1 x 24 x 24 images; each fake is its paired target
      (``targets``, also the real set) plus a little noise;
    * ``"source_labels"``: the default inputs, with the fakes' classes as
      the classes of their inputs.
    """
    gen = torch.Generator().manual_seed(seed)
    targets = None
    if "targets" in needs:
        # Big enough for an 11x11 SSIM window after a border crop of 4.
        targets = torch.rand(N_FAKE, 1, 24, 24, generator=gen) * 2 - 1
        noise = 0.1 * torch.randn(N_FAKE, 1, 24, 24, generator=gen)
        real, fake = Batch(x=targets), Batch(x=(targets + noise).clamp(-1, 1))
        info = probe_info(real)
    elif "discriminator" in needs:
        real, fake = probe_images(N_REAL, seed=seed), probe_images(N_FAKE, seed=seed + 1)
        info = probe_info(real)
    elif "modes" in needs:
        real, fake = probe_vectors(N_REAL, seed=seed), probe_vectors(N_FAKE, seed=seed + 1)
        info = probe_info(real)
    else:
        real_y = torch.arange(N_REAL) % NUM_CLASSES
        fake_y = torch.arange(N_FAKE) % NUM_CLASSES

        def probs(y: Tensor) -> Tensor:
            logits = torch.randn(len(y), NUM_CLASSES, generator=gen) + 3 * torch.eye(NUM_CLASSES)[y]
            return torch.softmax(logits, dim=1)

        real, fake = Batch(x=probs(real_y), y=real_y), Batch(x=probs(fake_y), y=fake_y)
        info = replace(probe_info(real), extras={})
    if "stacked_modes" in needs:
        info = replace(info, extras={**info.extras, "stacked_modes": True})
    model = None
    if "discriminator" in needs:
        with isolated_rng(seed):
            model = ProbeGAN(info)
    return EvalInputs(
        info=info,
        real=real,
        fake=fake.x,
        fake_conditions=fake,
        extractor=ToyFeatures(),
        targets=targets,
        source_labels=fake.y if "source_labels" in needs else None,
        seed=seed,
        conditional=True,
        model=model,
    )


@keeps_rng
def check_metric(spec: MetricSpec, cases: Sequence[MetricCase] = ()) -> list[CheckResult]:
    """Check a metric plugin against the metric contract.

    Checks the registration record (outputs with directions ``lower``,
    ``higher`` or ``info``; known ``needs``); computes the metric with its
    default parameters on inputs constructed for its ``needs`` (see
    :func:`constructed_inputs`): it must return a non-empty subset of its
    declared outputs (all of them, unless some are optional, as
    attack-robustness's classifier-head outputs) as finite floats, and the
    same values a second time. Each :class:`MetricCase` must be reproduced
    within its tolerance.

    Args:
        spec: the metric's registration record.
        cases: known answers supplied by the metric's author.
    """
    log = CheckLog("metric", spec.name)
    with log.check("registration") as check:
        _check_declaration(spec, check)
    if not check.ok:
        return log.results
    inputs = constructed_inputs(spec.needs)
    misfit = why_not_applicable(spec, inputs)
    if misfit is not None:
        # The metric's own check refuses the kit's generic inputs (it needs a
        # particular model, say): only its author's known answers can test it.
        for name in ("outputs on constructed inputs", "deterministic"):
            log.add(name, "skipped", f"does not apply to the kit's inputs: {misfit}")
        if not cases:
            log.add(
                "known answer",
                "skipped",
                "the kit cannot construct inputs it applies to: pass MetricCase known answers",
            )
        for i, case in enumerate(cases):
            with log.check(f"known answer {i + 1}") as check:
                _check_case(spec, case, check)
        return log.results
    with log.check("outputs on constructed inputs") as check:
        first = _compute(spec, inputs, check)
        missing = sorted(set(spec.outputs) - set(first))
        check.detail = ", ".join(f"{k} {v:.4g}" for k, v in first.items())
        if missing:
            check.detail += f" (not returned here: {', '.join(missing)})"
    if check.ok:
        with log.check("deterministic") as check:
            second = _compute(spec, constructed_inputs(spec.needs), check)
            unequal = sorted(k for k in first if second.get(k) != first[k])
            if unequal:
                check.fail(
                    "two computations on the same inputs differ: "
                    + ", ".join(f"{k} {first[k]!r} then {second.get(k)!r}" for k in unequal)
                    + " (seed any randomness with inputs.seed)"
                )
    for i, case in enumerate(cases):
        with log.check(f"known answer {i + 1}") as check:
            _check_case(spec, case, check)
    return log.results


def _check_declaration(spec: MetricSpec, check: Check) -> None:
    problem = _validate("metrics", MetricSpec, spec)
    if problem is not None:
        check.fail(problem)
    bad = {k: v for k, v in spec.outputs.items() if v not in DIRECTIONS}
    if bad:
        check.fail(f"output directions must be one of {', '.join(DIRECTIONS)}: got {bad}")
    odd = [k for k in spec.outputs if not isinstance(k, str) or not k or "[" in k or "]" in k]
    if odd:
        check.fail(f"output names must be non-empty and without brackets: {odd}")
    unknown = [n for n in spec.needs if n not in KNOWN_NEEDS]
    if unknown:
        check.fail(f"unknown needs {unknown}; valid choices: {', '.join(KNOWN_NEEDS)}")
    check.detail = f"outputs {', '.join(spec.outputs)}; needs {', '.join(spec.needs) or 'none'}"


def _compute(spec: MetricSpec, inputs: EvalInputs, check: Check) -> dict[str, float]:
    """Compute as the eval protocol does; fail unless it returns declared finite floats."""
    values = spec.compute(inputs, dict(spec.params))
    if not isinstance(values, Mapping):
        check.fail(f"compute() returned {type(values).__name__}, not a mapping of outputs")
    if not values:
        check.fail("compute() returned no outputs")
    undeclared = sorted(set(values) - set(spec.outputs))
    if undeclared:
        check.fail(
            f"undeclared output(s) {', '.join(map(str, undeclared))}; declared: "
            f"{', '.join(spec.outputs)}"
        )
    for name, value in values.items():
        if not isinstance(value, float):
            check.fail(f"output {name!r} is {type(value).__name__}, not a float")
        if not math.isfinite(value):
            check.fail(f"output {name!r} is {value}")
    return dict(values)


def _check_case(spec: MetricSpec, case: MetricCase, check: Check) -> None:
    values = _compute(spec, case.inputs, check)
    wrong = []
    for name, expected in case.expected.items():
        if name not in values:
            check.fail(f"output {name!r} of the known answer was not returned")
        if not abs(values[name] - expected) <= case.tolerance:
            wrong.append(f"{name} {values[name]!r}, expected {expected!r}")
    if wrong:
        check.fail("; ".join(wrong) + f" (tolerance {case.tolerance:g})")
    check.detail = ", ".join(f"{k} {values[k]:.6g}" for k in case.expected)
