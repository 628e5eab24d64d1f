"""Mode count of a stacked-channel mode-collapse benchmark (Stacked MNIST, stacked digits).

The protocol of VEEGAN (Srivastava et al. 2017) and PacGAN (Lin et al. 2018)
on Stacked MNIST: classify each channel of every generated sample with a
pretrained digit classifier; the triple of predictions is the sample's mode
(one of 1,000). Report the number of modes that received at least one
sample, and KL(generated mode histogram || uniform over all modes) in nats,
with 0 log 0 = 0. PacGAN counts modes on 26,000 samples.

A dataset opts in with ``info.extras["stacked_modes"] = True`` (the
``"stacked_modes"`` need of :data:`STACKED_MODES_METRIC`); its classes are
the modes, and the feature space's class probabilities must cover exactly
``info.num_classes`` of them (the per-channel evaluator does, see
:mod:`ganbench.features.stacked`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from ganbench.errors import IncompatibleError
from ganbench.metrics._arrays import ArrayLike, as_int64
from ganbench.metrics.divergence import kl_to_uniform
from ganbench.metrics.params import merged_params
from ganbench.specs import MetricSpec

if TYPE_CHECKING:
    from ganbench.eval.inputs import EvalInputs

#: The ``DataInfo.extras`` flag (and the MetricSpec need) of stacked mode benchmarks.
STACKED_MODES_KEY = "stacked_modes"
STACKED_MODES_PARAMS: dict[str, Any] = {"min_count": 1}


@dataclass(frozen=True)
class ModeCount:
    """How a generator's samples spread over a benchmark's modes.

    Attributes:
        modes_covered: modes with at least ``min_count`` samples, in [0, M].
        mode_kl: KL(sample mode histogram || uniform over M modes), nats, in [0, log M].
    """

    modes_covered: int
    mode_kl: float


def mode_histogram(modes: ArrayLike, num_modes: int) -> np.ndarray:
    """Counts (M,) of each mode among the samples' modes (N,) int in [0, M)."""
    labels = as_int64(modes, name="modes")
    if labels.size and (labels.min() < 0 or labels.max() >= num_modes):
        raise ValueError(f"modes must lie in [0, {num_modes})")
    return np.bincount(labels, minlength=num_modes)


def count_modes(modes: ArrayLike, num_modes: int, min_count: int = 1) -> ModeCount:
    """Modes covered and KL to uniform of the samples' modes, as PacGAN reports them.

    Args:
        modes: (N,) int64 mode (class) of each generated sample, in [0, M).
        num_modes: M, the number of modes of the benchmark (1,000 for Stacked MNIST).
        min_count: samples a mode needs to count as covered (PacGAN: 1).

    Returns:
        :class:`ModeCount`; ``mode_kl`` is 0 for a perfectly even spread and
        ``log(M)`` when every sample falls in one mode.
    """
    if num_modes < 1 or min_count < 1:
        raise ValueError(f"need num_modes >= 1 and min_count >= 1, got {num_modes}, {min_count}")
    counts = mode_histogram(modes, num_modes)
    if counts.sum() == 0:
        raise ValueError("no samples to count modes of")
    return ModeCount(modes_covered=int((counts >= min_count).sum()), mode_kl=kl_to_uniform(counts))


def why_no_stacked_modes(inputs: EvalInputs) -> str | None:
    """Why the stacked-mode count cannot run on ``inputs``, or None."""
    info = inputs.info
    if not info.extras.get(STACKED_MODES_KEY) or not info.num_classes:
        return (
            f"dataset {info.name!r} is not a stacked mode benchmark "
            "(it does not declare extras['stacked_modes'])"
        )
    probs = None if inputs.extractor is None else inputs.fake_probs()
    if probs is None or probs.shape[1] != info.num_classes:
        found = "no class probabilities" if probs is None else f"{probs.shape[1]} classes"
        return (
            f"it needs class probabilities over the {info.num_classes} modes of "
            f"{info.name!r}; feature space {inputs.space!r} gives {found}"
        )
    return None


def _compute_stacked_modes(inputs: EvalInputs, params: Mapping[str, Any]) -> dict[str, float]:
    p = merged_params(STACKED_MODES_PARAMS, params)
    reason = why_no_stacked_modes(inputs)
    if reason is not None:
        raise IncompatibleError(f"metric 'stacked-modes' does not apply: {reason}")
    info = inputs.info
    probs = inputs.fake_probs()
    result = count_modes(probs.argmax(dim=1), info.num_classes, min_count=int(p["min_count"]))
    return {"stacked_modes": float(result.modes_covered), "stacked_mode_kl": result.mode_kl}


STACKED_MODES_METRIC = MetricSpec(
    name="stacked-modes",
    compute=_compute_stacked_modes,
    outputs={"stacked_modes": "higher", "stacked_mode_kl": "lower"},
    needs=("probs", STACKED_MODES_KEY),
    params=dict(STACKED_MODES_PARAMS),
    check=why_no_stacked_modes,
    description=(
        "Stacked-digit modes (of 1,000) the per-channel evaluator finds among the fakes, "
        "and KL of their histogram to uniform (VEEGAN, PacGAN)."
    ),
)
