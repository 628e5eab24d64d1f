"""Attack robustness of a trained discriminator as a registered metric.

The maths lives in :mod:`ganbench.metrics.attacks`; this module reads what it
needs from :class:`~ganbench.eval.inputs.EvalInputs`: the model (only runs
have one; ``ganbench score`` compares samples and has none), the held-out
reference split as real images and the generated samples with their
conditioning.

Every output is ``"info"``: a discriminator that resists attacks does not make
a better generator, so these numbers are shown, never ranked.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ganbench.errors import IncompatibleError
from ganbench.metrics.attacks import (
    ATTACK_PARAMS,
    attack_output_names,
    compute_attack_robustness,
    resolved_attack_params,
    why_no_decision,
)
from ganbench.specs import MetricSpec

if TYPE_CHECKING:
    from ganbench.eval.inputs import EvalInputs

#: The ``needs`` entry of metrics that run the model's discriminator.
NEEDS_DISCRIMINATOR = "discriminator"


def why_no_attack(inputs: EvalInputs) -> str | None:
    """Why the attacks cannot run on ``inputs``, or None."""
    if inputs.model is None:
        return "it attacks a trained model's discriminator and this evaluation has no model"
    if inputs.info.kind != "image":
        return "eps is a share of the image value range and this dataset holds vectors"
    return why_no_decision(inputs.model)


def _resolve_params(inputs: EvalInputs, params: Mapping[str, Any]) -> dict[str, Any]:
    # The image count follows the image size (a budget of pixel-passes), so the
    # protocol record shows the count actually attacked and what bound it.
    return resolved_attack_params(params, inputs.info.shape)


def _compute(inputs: EvalInputs, params: Mapping[str, Any]) -> dict[str, float]:
    reason = why_no_attack(inputs)
    if reason is not None:
        raise IncompatibleError(f"metric 'attack-robustness' does not apply: {reason}")
    assert inputs.model is not None
    return compute_attack_robustness(
        inputs.model,
        inputs.real,
        inputs.fake,
        inputs.fake_conditions,
        params,
        inputs.seed,
        inputs.device,
        on_progress=inputs.progress.update,
    )


ATTACK_METRIC = MetricSpec(
    name="attack-robustness",
    compute=_compute,
    outputs={name: "info" for name in attack_output_names(ATTACK_PARAMS, aux=True)},
    needs=(NEEDS_DISCRIMINATOR,),
    params=dict(ATTACK_PARAMS),
    resolve_params=_resolve_params,
    check=why_no_attack,
    description=(
        "D's accuracy under FGSM and PGD (L-inf, eps 1-8/255) on held-out reals and on fakes, "
        "and the median smallest eps that flips it"
    ),
)
