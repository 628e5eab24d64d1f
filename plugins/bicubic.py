"""``bicubic``: bicubic upsampling, the floor row of super-resolution tables.

Every super-resolution paper reports it first; SRGAN's Table 2 (Ledig et al.
2017) gives 28.43 dB PSNR and SSIM 0.8211 on Set5 at x4. It has nothing to
learn, so it is a fixed model (``trains=False``): one run, no steps, shown
for scale beside the trained rows.

The upsampling is torch's bicubic interpolation (cubic convolution with
a = -0.75, as PIL's and MATLAB's ``imresize``; half-pixel centres,
``align_corners=False``), clamped to the image range [-1, 1].
"""

from __future__ import annotations

from collections.abc import Callable

import torch.nn.functional as F
from torch import Tensor

import ganbench
from ganbench.api import Batch, DataInfo, FixedModel, GanbenchError, ModelSpec, TaskKind


def upscale_factor(info: DataInfo) -> int | None:
    """How many times larger ``x`` is than ``source`` (the same on both sides), if it is."""
    if info.kind != "image" or info.source_shape is None or len(info.source_shape) != 3:
        return None
    (channels, h, w), (source_channels, sh, sw) = info.shape, info.source_shape
    if channels != source_channels or not sh or not sw or h % sh or w % sw or h // sh != w // sw:
        return None
    return h // sh if h // sh >= 2 else None


def check_fits(info: DataInfo) -> str | None:
    """Why bicubic upsampling cannot map ``source`` to ``x``, or None."""
    if upscale_factor(info) is None:
        return (
            "bicubic needs a low-resolution source with x's channels and a whole scale "
            f"factor >= 2 on both sides, got x {info.shape} and source {info.source_shape}"
        )
    return None


class Bicubic(FixedModel):
    """``source`` upsampled by the dataset's scale factor with bicubic interpolation."""

    task = TaskKind.SUPER_RESOLUTION

    def __init__(self, info: DataInfo) -> None:
        super().__init__()
        factor = upscale_factor(info)
        assert factor is not None  # check_fits
        self.factor = factor

    def generate(self, z: Tensor | None, cond: Batch) -> Tensor:
        if cond.source is None:
            raise GanbenchError("bicubic needs low-resolution images (source) in the batch")
        up = F.interpolate(
            cond.source, scale_factor=self.factor, mode="bicubic", align_corners=False
        )
        return up.clamp(-1.0, 1.0)


@ganbench.hookimpl
def ganbench_register_models(register: Callable[[ModelSpec], None]) -> None:
    """Register ``bicubic``."""
    register(
        ModelSpec(
            name="bicubic",
            build=Bicubic,
            task=TaskKind.SUPER_RESOLUTION,
            data_kinds=("image",),
            paper="Ledig et al. 2017, SRGAN, Table 2 (the bicubic row)",
            description="bicubic upsampling of the low-resolution input: the baseline, no training",
            check=check_fits,
            trains=False,
        )
    )
