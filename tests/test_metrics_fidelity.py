"""PSNR and SSIM agree with scikit-image's on the same images (Y channel,
border crop, data range 255, Gaussian SSIM with population covariances)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from skimage.color import rgb2ycbcr
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from ganbench.metrics.fidelity import SSIM_WINDOW, luma_255, psnr_per_image, ssim_per_image
from ganbench.metrics.fidelity_metrics import PSNR_METRIC, SSIM_METRIC, resolve_crop
from ganbench.testing.metric_checks import constructed_inputs


def _pair(channels: int, seed: int = 0, size: tuple[int, int] = (40, 36)):
    gen = torch.Generator().manual_seed(seed)
    target = torch.rand(5, channels, *size, generator=gen) * 2 - 1
    noisy = target + 0.15 * torch.randn(target.shape, generator=gen)
    return noisy.clamp(-1, 1), target


def _skimage_plane(image: torch.Tensor, crop: int) -> np.ndarray:
    """One C x H x W image in [-1, 1] as scikit-image's SR evaluation sees it."""
    hwc = (image.double().numpy().transpose(1, 2, 0) + 1) / 2
    plane = rgb2ycbcr(hwc)[..., 0] if hwc.shape[-1] == 3 else hwc[..., 0] * 255
    return plane[crop:-crop, crop:-crop] if crop else plane


@pytest.mark.parametrize("channels", [1, 3])
@pytest.mark.parametrize("crop", [0, 4])
def test_psnr_and_ssim_equal_scikit_image(channels: int, crop: int) -> None:
    fake, target = _pair(channels)
    ours_psnr = psnr_per_image(fake, target, crop)
    ours_ssim = ssim_per_image(fake, target, crop)
    for i in range(len(fake)):
        a, b = _skimage_plane(fake[i], crop), _skimage_plane(target[i], crop)
        assert ours_psnr[i] == pytest.approx(
            peak_signal_noise_ratio(b, a, data_range=255), abs=1e-6
        )
        reference = structural_similarity(
            b, a, data_range=255, gaussian_weights=True, use_sample_covariance=False, sigma=1.5
        )
        assert ours_ssim[i] == pytest.approx(reference, abs=1e-6)
    # A real test, not a constant: more noise, lower scores.
    worse = psnr_per_image((fake + 0.3 * torch.randn(fake.shape)).clamp(-1, 1), target, crop)
    assert worse.mean() < ours_psnr.mean() - 1.0


def test_the_luma_is_bt601_studio_range_unrounded() -> None:
    white, black = torch.ones(1, 3, 2, 2), -torch.ones(1, 3, 2, 2)
    assert luma_255(white)[0, 0, 0] == pytest.approx(235.0)
    assert luma_255(black)[0, 0, 0] == pytest.approx(16.0)
    grey = torch.full((1, 1, 2, 2), 0.0)  # one channel: as it is, scaled to [0, 255]
    assert luma_255(grey)[0, 0, 0] == pytest.approx(127.5)


def test_identical_images_give_infinite_psnr_and_ssim_one() -> None:
    _, target = _pair(3)
    assert np.all(np.isinf(psnr_per_image(target, target, 4)))
    assert ssim_per_image(target, target, 4) == pytest.approx(np.ones(len(target)))


def test_the_crop_is_the_runs_scale_and_four_otherwise() -> None:
    inputs = constructed_inputs(("targets",))
    assert resolve_crop(inputs, {})["crop"] == 4  # no low-resolution inputs to tell the scale
    inputs.fake_conditions.source = torch.zeros(len(inputs.fake), 1, 12, 12)
    assert resolve_crop(inputs, {})["crop"] == 2  # 24-px targets of 12-px inputs: x2
    assert resolve_crop(inputs, {"crop": 3})["crop"] == 3


def test_images_too_small_for_the_window_are_refused_before_computing() -> None:
    inputs = constructed_inputs(("targets",))
    assert SSIM_METRIC.check(inputs) is None and PSNR_METRIC.check(inputs) is None
    inputs.targets = inputs.targets[..., : 2 * 4 + SSIM_WINDOW - 1, : 2 * 4 + SSIM_WINDOW - 1]
    reason = SSIM_METRIC.check(inputs)
    assert reason is not None and "11x11" in reason
    assert PSNR_METRIC.check(inputs) is None
    with pytest.raises(ValueError, match="shape|are"):
        psnr_per_image(inputs.fake, inputs.targets, 4)
