"""PSNR and SSIM of generated images against their paired targets, as
super-resolution papers report them.

Conventions (those of SRGAN, Ledig et al. 2017, and the SR literature since):

* **Y channel.** RGB images are compared on their luma, ITU-R BT.601 in
  studio range, ``Y = 16 + 65.481 R + 128.553 G + 24.966 B`` with R, G, B in
  [0, 1] (scikit-image's ``rgb2ycbcr``), kept in float, not rounded.
  Single-channel images are compared as they are, scaled to [0, 255].
* **Border crop.** ``crop`` pixels are removed from every border first (the
  scale factor: 4 for x4), where upscalers have no context.
* **Data range 255**, and the value of a set is the mean over its images.
* **SSIM** is Wang et al. 2004: an 11x11 Gaussian window of sigma 1.5
  (truncated at 3.5 sigma, reflected at the borders), population (not
  sample) covariances, K1 = 0.01, K2 = 0.03, averaged over the window
  positions at least 5 pixels from the border. This is scikit-image's
  ``structural_similarity(gaussian_weights=True, use_sample_covariance=False,
  sigma=1.5, data_range=255)``; the tests check both metrics against
  scikit-image to 1e-6.

Inputs are N x C x H x W tensors in [-1, 1], C = 1 or 3, computed in float64.
"""

from __future__ import annotations

import numpy as np
from scipy.ndimage import gaussian_filter
from torch import Tensor

#: BT.601 studio-range luma weights for R, G, B in [0, 1], and its offset.
_Y_WEIGHTS = np.array([65.481, 128.553, 24.966])
_Y_OFFSET = 16.0
DATA_RANGE = 255.0
SSIM_SIGMA = 1.5
SSIM_TRUNCATE = 3.5
SSIM_K1, SSIM_K2 = 0.01, 0.03
#: Side of the Gaussian window: 2 * round(3.5 * 1.5) + 1 = 11, as Wang et al.
SSIM_WINDOW = 2 * int(SSIM_TRUNCATE * SSIM_SIGMA + 0.5) + 1


def luma_255(images: Tensor) -> np.ndarray:
    """N x H x W float64 in [0, 255]: the Y channel of RGB, or the one channel as it is."""
    unit = (images.detach().double().cpu().numpy() + 1.0) / 2.0
    if unit.ndim != 4 or unit.shape[1] not in (1, 3):
        raise ValueError(f"expected N x C x H x W images with C = 1 or 3, got {unit.shape}")
    if unit.shape[1] == 1:
        return unit[:, 0] * DATA_RANGE
    return _Y_OFFSET + np.einsum("nchw,c->nhw", unit, _Y_WEIGHTS)


def crop_border(planes: np.ndarray, crop: int) -> np.ndarray:
    """``planes`` (N x H x W) without ``crop`` pixels on every side."""
    if crop < 0:
        raise ValueError(f"crop must be >= 0, got {crop}")
    if crop == 0:
        return planes
    h, w = planes.shape[-2:]
    if 2 * crop >= min(h, w):
        raise ValueError(f"crop {crop} leaves nothing of {h}x{w} images")
    return planes[..., crop:-crop, crop:-crop]


def _check_pair(images: Tensor, targets: Tensor) -> None:
    if tuple(images.shape) != tuple(targets.shape):
        raise ValueError(
            f"images are {tuple(images.shape)} but their targets are {tuple(targets.shape)}"
        )
    if len(images) == 0:
        raise ValueError("no images to compare")


def psnr_per_image(images: Tensor, targets: Tensor, crop: int) -> np.ndarray:
    """Peak signal-to-noise ratio in dB of each image against its target (N,).

    An image equal to its target has infinite PSNR.
    """
    _check_pair(images, targets)
    a = crop_border(luma_255(images), crop)
    b = crop_border(luma_255(targets), crop)
    mse = ((a - b) ** 2).mean(axis=(1, 2))
    with np.errstate(divide="ignore"):
        return 10.0 * np.log10(DATA_RANGE**2 / mse)


def _ssim_plane(x: np.ndarray, y: np.ndarray) -> float:
    blur = lambda a: gaussian_filter(a, SSIM_SIGMA, truncate=SSIM_TRUNCATE, mode="reflect")  # noqa: E731
    mu_x, mu_y = blur(x), blur(y)
    # Population covariances: E[xy] - E[x]E[y] under the window's weights.
    var_x = blur(x * x) - mu_x * mu_x
    var_y = blur(y * y) - mu_y * mu_y
    cov = blur(x * y) - mu_x * mu_y
    c1, c2 = (SSIM_K1 * DATA_RANGE) ** 2, (SSIM_K2 * DATA_RANGE) ** 2
    ssim_map = ((2 * mu_x * mu_y + c1) * (2 * cov + c2)) / (
        (mu_x**2 + mu_y**2 + c1) * (var_x + var_y + c2)
    )
    # Only positions whose whole window lies inside the image count.
    pad = SSIM_WINDOW // 2
    return float(ssim_map[pad:-pad, pad:-pad].mean(dtype=np.float64))


def ssim_per_image(images: Tensor, targets: Tensor, crop: int) -> np.ndarray:
    """Structural similarity of each image to its target (N,), 1 for identical images."""
    _check_pair(images, targets)
    a = crop_border(luma_255(images), crop)
    b = crop_border(luma_255(targets), crop)
    if min(a.shape[-2:]) < SSIM_WINDOW:
        raise ValueError(
            f"SSIM needs images of at least {SSIM_WINDOW}x{SSIM_WINDOW} after the crop, "
            f"got {a.shape[-2]}x{a.shape[-1]}"
        )
    return np.array([_ssim_plane(x, y) for x, y in zip(a, b, strict=True)])
