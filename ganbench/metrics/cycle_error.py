"""The ``cycle-error`` metric: how well a translation model's two directions invert each other.

Cycle consistency is what CycleGAN trains for (Zhu et al. 2017, eq. 2):
F(G(a)) should give a back, and G(F(b)) should give b. This measures it on
held-out images, as a mean absolute error per pixel value on ganbench's
[-1, 1] image scale (0 is a perfect cycle; 2 the largest possible error):

* ``cycle_a`` = mean |F(G(a)) - a| over the evaluated sources a
  (``fake_conditions.source``), with G(a) the evaluation's own fakes;
* ``cycle_b`` = mean |G(F(b)) - b| over the reference split's images b
  (``real.x``).

It needs the trained model with its inverse (``GANModel.generate_inverse``):
runs of unpaired-translation models that have one. ``check`` refuses
everything else in one line, so other runs list it under ``skipped_metrics``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import torch
from torch import Tensor

from ganbench.data.types import Batch
from ganbench.errors import IncompatibleError
from ganbench.metrics.params import merged_params
from ganbench.specs import MetricSpec
from ganbench.tasks import TaskKind

if TYPE_CHECKING:
    from ganbench.eval.inputs import EvalInputs
    from ganbench.model import GANModel

NAME = "cycle-error"
#: Images passed through the model at once.
CHUNK = 500


def why_no_cycle(inputs: EvalInputs) -> str | None:
    """Why the cycles cannot be closed on ``inputs``, or None."""
    model = inputs.model
    if model is None:
        return "it runs a trained translation model both ways and this evaluation has no model"
    if model.task != TaskKind.UNPAIRED_TRANSLATION:
        return (
            f"it needs an unpaired-translation model, and {type(model).__name__} serves "
            f"{TaskKind(model.task).value}"
        )
    if not model.has_inverse():
        return (
            f"{type(model).__name__} has no inverse translation (GANModel.generate_inverse) "
            "to close the cycles with"
        )
    if inputs.fake_conditions.source is None:
        return "the evaluated fakes carry no source images to compare their cycles with"
    return None


def _chunks(n: int) -> list[slice]:
    return [slice(lo, min(lo + CHUNK, n)) for lo in range(0, n, CHUNK)]


def _inverse(model: GANModel, x: Tensor, device: torch.device) -> Tensor:
    """F(x), chunk by chunk, on the CPU."""
    return torch.cat(
        [model.generate_inverse(x[s].to(device)).float().cpu() for s in _chunks(len(x))]
    )


def _forward(model: GANModel, source: Tensor, device: torch.device, seed: int) -> Tensor:
    """G(source), chunk by chunk, on the CPU; z (if any) from a generator seeded by ``seed``."""
    gen = torch.Generator(device=device).manual_seed(seed)
    out = []
    for s in _chunks(len(source)):
        chunk = source[s].to(device)
        # x is a placeholder: generate() must not read it, and b itself is the answer.
        cond = Batch(x=torch.zeros_like(chunk), source=chunk)
        out.append(model.generate(model.sample_latent(len(chunk), device, gen), cond).float().cpu())
    return torch.cat(out)


def _mean_l1(a: Tensor, b: Tensor) -> float:
    return float((a.double() - b.double()).abs().mean())


def compute_cycle_error(inputs: EvalInputs, params: Mapping[str, Any]) -> dict[str, float]:
    """``cycle_a`` and ``cycle_b``: mean |F(G(a)) - a| and |G(F(b)) - b| on the [-1, 1] scale."""
    merged_params({}, params)
    reason = why_no_cycle(inputs)
    if reason is not None:
        raise IncompatibleError(f"metric {NAME!r} does not apply: {reason}")
    model, device = inputs.model, inputs.device
    assert model is not None and inputs.fake_conditions.source is not None
    sources, reals = inputs.fake_conditions.source, inputs.real.x
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            back_a = _inverse(model, inputs.fake, device)
            back_b = _forward(model, _inverse(model, reals, device), device, inputs.seed)
    finally:
        model.train(was_training)
    return {"cycle_a": _mean_l1(back_a, sources), "cycle_b": _mean_l1(back_b, reals)}


CYCLE_ERROR_METRIC = MetricSpec(
    name=NAME,
    compute=compute_cycle_error,
    outputs={"cycle_a": "lower", "cycle_b": "lower"},
    check=why_no_cycle,
    description=(
        "Translation: mean |F(G(a)) - a| and |G(F(b)) - b| per pixel value on the [-1, 1] "
        "scale (0 to 2), over the evaluated sources and the reference images."
    ),
)
