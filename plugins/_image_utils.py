"""Image helpers shared by the first-party dataset plugins.

Everything here turns raw pixel arrays into ganbench's image convention:
float32 N x C x H x W tensors with values in [-1, 1]. Conversion runs in
chunks so that a 50,000-image dataset never holds a second full-size float
copy (or a float64 one) next to the result.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from ganbench.api import GanbenchError

#: Images converted per chunk: bounds the temporary memory of a conversion.
CHUNK = 2048


def resize_square(x: Tensor, size: int | None) -> Tensor:
    """Resize float images to ``size`` x ``size`` (bilinear, antialiased).

    Args:
        x: float32 N x C x H x W, values in [-1, 1].
        size: the target side in pixels; None (or the current size) returns
            ``x`` unchanged.

    Returns:
        float32 N x C x size x size in [-1, 1]. The bilinear (triangle)
        filter has non-negative weights, so values cannot leave [-1, 1]; the
        clamp only removes float rounding.
    """
    if size is None or tuple(x.shape[-2:]) == (size, size):
        return x
    _check_size(size)
    out = torch.empty((x.shape[0], x.shape[1], size, size), dtype=torch.float32)
    for start in range(0, x.shape[0], CHUNK):
        chunk = x[start : start + CHUNK].float()
        resized = F.interpolate(
            chunk, size=(size, size), mode="bilinear", align_corners=False, antialias=True
        )
        out[start : start + CHUNK] = resized.clamp_(-1.0, 1.0)
    return out


def uint8_to_images(
    pixels: np.ndarray | Tensor, *, channels_last: bool, size: int | None
) -> Tensor:
    """Convert uint8 pixels to float32 NCHW images in [-1, 1], resized.

    Args:
        pixels: uint8 N x H x W (grayscale), N x H x W x C (``channels_last``)
            or N x C x H x W, values 0..255.
        channels_last: whether a 4-D ``pixels`` is N x H x W x C.
        size: square output side, or None for the native size.

    Returns:
        float32 N x C x S x S with values ``pixel / 127.5 - 1`` in [-1, 1].
    """
    data = torch.as_tensor(pixels)
    if data.dtype != torch.uint8:
        raise TypeError(f"expected uint8 pixels, got {data.dtype}")
    if data.ndim == 3:
        data = data.unsqueeze(1)
    elif channels_last:
        data = data.permute(0, 3, 1, 2)
    n, channels, height, width = data.shape
    out_h, out_w = (height, width) if size is None else (size, size)
    if size is not None:
        _check_size(size)
    out = torch.empty((n, channels, out_h, out_w), dtype=torch.float32)
    for start in range(0, n, CHUNK):
        chunk = data[start : start + CHUNK].float().div_(127.5).sub_(1.0)
        out[start : start + CHUNK] = resize_square(chunk, size)
    return out


def _check_size(size: int) -> None:
    """Reject sizes that cannot be an image side (a typo, not a resize)."""
    if size < 1:
        raise GanbenchError(f"image size must be a positive number of pixels, got {size}")
