"""The ``psnr`` and ``ssim`` metrics: generated images against their paired
targets (super-resolution runs; ``ganbench score`` of two folders with the same
file names). Definitions in :mod:`ganbench.metrics.fidelity`."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from ganbench.eval.inputs import EvalInputs
from ganbench.metrics.fidelity import SSIM_WINDOW, psnr_per_image, ssim_per_image
from ganbench.metrics.params import merged_params
from ganbench.specs import MetricSpec

#: ``crop="scale"``: the upscaling factor of the run (target height over its
#: input's height), or :data:`DEFAULT_CROP` when the inputs do not say.
FIDELITY_PARAMS: dict[str, Any] = {"crop": "scale"}
#: SRGAN's x4 scale: what is cropped when nothing tells the scale.
DEFAULT_CROP = 4


def resolve_crop(inputs: EvalInputs, params: Mapping[str, Any]) -> dict[str, Any]:
    """``params`` with ``crop`` as a number of pixels: what is computed is what is recorded."""
    p = merged_params(FIDELITY_PARAMS, params)
    if p["crop"] != "scale":
        return {**p, "crop": int(p["crop"])}
    source = inputs.fake_conditions.source
    targets = inputs.targets
    if source is not None and targets is not None and getattr(source, "ndim", 0) == 4:
        return {**p, "crop": max(1, int(targets.shape[-2]) // int(source.shape[-2]))}
    return {**p, "crop": DEFAULT_CROP}


def _per_image_mean(
    per_image: Callable[..., np.ndarray], output: str
) -> Callable[[EvalInputs, Mapping[str, Any]], dict[str, float]]:
    def compute(inputs: EvalInputs, params: Mapping[str, Any]) -> dict[str, float]:
        p = resolve_crop(inputs, params)  # a no-op on params already resolved
        assert inputs.targets is not None  # the "targets" need
        values = per_image(inputs.fake, inputs.targets, int(p["crop"]))
        return {output: float(values.mean()), f"{output}_std": float(values.std())}

    return compute


def _fit_reason(inputs: EvalInputs, smallest: int, what: str) -> str | None:
    """Why images of these inputs are too small for ``what`` after the crop, or None."""
    if inputs.targets is None or inputs.targets.ndim != 4:
        return None  # the "targets" need says it
    crop = resolve_crop(inputs, {})["crop"]
    h, w = (int(n) for n in inputs.targets.shape[-2:])
    if min(h, w) - 2 * crop < smallest:
        return (
            f"{h}x{w} images cropped by {crop} on each side leave less than the "
            f"{smallest}x{smallest} {what} needs"
        )
    return None


PSNR_METRIC = MetricSpec(
    name="psnr",
    compute=_per_image_mean(psnr_per_image, "psnr"),
    outputs={"psnr": "higher", "psnr_std": "info"},
    needs=("targets",),
    params=dict(FIDELITY_PARAMS),
    resolve_params=resolve_crop,
    check=lambda inputs: _fit_reason(inputs, 1, "PSNR"),
    description=(
        "Peak signal-to-noise ratio (dB) against the paired target, on the Y channel "
        "after a border crop of the scale, mean over images."
    ),
)

SSIM_METRIC = MetricSpec(
    name="ssim",
    compute=_per_image_mean(ssim_per_image, "ssim"),
    outputs={"ssim": "higher", "ssim_std": "info"},
    needs=("targets",),
    params=dict(FIDELITY_PARAMS),
    resolve_params=resolve_crop,
    check=lambda inputs: _fit_reason(inputs, SSIM_WINDOW, "SSIM's window"),
    description=(
        "Structural similarity (Wang et al. 2004, 11x11 Gaussian window) against the paired "
        "target, on the Y channel after a border crop of the scale, mean over images."
    ),
)
