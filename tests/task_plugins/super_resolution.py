"""Tiny SRGAN: Ledig et al. 2017, "Photo-Realistic Single Image Super-Resolution
Using a Generative Adversarial Network" (CVPR 2017).

Test-only: a few-layer imitation of the paper's model, to prove the model
interface serves the super-resolution task kind (no latent: ``latent_dim = 0``).

* Figure 4, generator: a convolution with PReLU, residual blocks (conv, BN,
  PReLU, conv, BN, skip; 16 in the paper, 1 here), a long skip over them, then
  sub-pixel convolution upsampling blocks (conv, pixel shuffle x2, PReLU), one
  per factor of two, and an output convolution. 3 x 3 kernels throughout (the
  paper's first and last are 9 x 9); 16 feature maps (paper: 64); a tanh on
  the output because ganbench images are in [-1, 1].
* Figure 4, discriminator: strided 3 x 3 convolutions with BatchNorm and
  leaky ReLU (0.2), doubling the width as the resolution halves, then dense
  layers to one logit (the sigmoid is folded into the loss).
* Section 2.2, perceptual loss (eq. 3): content loss + 1e-3 x adversarial loss.
  The content loss here is the pixel MSE of the paper's SRGAN-MSE variant
  (section 3.4; the VGG variants need ImageNet weights). These are the two G
  loss terms of :meth:`TinySRGAN.g_loss_terms`; the update itself, D's and
  G's, is the core's standard one.
* Section 3.2: Adam with beta1 0.9, learning rate 1e-4.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

import ganbench
from ganbench.api import Batch, DataInfo, GANModel, ModelSpec, StepTensors, TaskKind

WIDTH = 16
#: Weight of the adversarial term in the perceptual loss (eq. 3).
ADVERSARIAL_WEIGHT = 1e-3


def upscale_factor(info: DataInfo) -> int | None:
    """How many times larger ``x`` is than ``source``, if that is a power of two >= 2."""
    if info.source_shape is None or len(info.source_shape) != 3 or info.kind != "image":
        return None
    if info.source_shape[0] != info.shape[0]:
        return None
    size, low = info.shape[-1], info.source_shape[-1]
    factor = size // low
    if low * factor != size or info.shape[1] != info.source_shape[1] * factor or factor < 2:
        return None
    return factor if factor & (factor - 1) == 0 else None


def check_fits(info: DataInfo) -> str | None:
    """Why this model cannot be sized for ``info``, or None."""
    if upscale_factor(info) is None:
        return (
            f"SRGAN needs a source with x's channels and a power-of-two smaller size, "
            f"got x {info.shape} and source {info.source_shape}"
        )
    if info.shape[-1] % 4:
        return f"the SRGAN discriminator needs an image size divisible by 4, got {info.shape[-1]}"
    return None


class ResidualBlock(nn.Module):
    """conv-BN-PReLU-conv-BN with an identity skip (figure 4)."""

    def __init__(self, width: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(width, width, 3, padding=1, bias=False),
            nn.BatchNorm2d(width),
            nn.PReLU(width),
            nn.Conv2d(width, width, 3, padding=1, bias=False),
            nn.BatchNorm2d(width),
        )

    def forward(self, x: Tensor) -> Tensor:
        return x + self.body(x)


class SRGenerator(nn.Module):
    """low-resolution images (N x C x s x s) -> images (N x C x fs x fs) in [-1, 1]."""

    def __init__(self, channels: int, factor: int) -> None:
        super().__init__()
        self.head = nn.Sequential(nn.Conv2d(channels, WIDTH, 3, padding=1), nn.PReLU(WIDTH))
        self.body = nn.Sequential(
            ResidualBlock(WIDTH),
            nn.Conv2d(WIDTH, WIDTH, 3, padding=1, bias=False),
            nn.BatchNorm2d(WIDTH),
        )
        upsample: list[nn.Module] = []
        for _ in range(int(math.log2(factor))):
            # Sub-pixel convolution (Shi et al. 2016): 4x the maps, then rearranged 2x larger.
            upsample += [
                nn.Conv2d(WIDTH, WIDTH * 4, 3, padding=1),
                nn.PixelShuffle(2),
                nn.PReLU(WIDTH),
            ]
        self.tail = nn.Sequential(*upsample, nn.Conv2d(WIDTH, channels, 3, padding=1), nn.Tanh())

    def forward(self, low: Tensor) -> Tensor:
        h = self.head(low)
        return self.tail(h + self.body(h))


class SRDiscriminator(nn.Module):
    """images (N x C x S x S) -> logits (N,)."""

    def __init__(self, channels: int, image_size: int) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(channels, WIDTH, 3, padding=1),
            nn.LeakyReLU(0.2),
            nn.Conv2d(WIDTH, WIDTH, 3, stride=2, padding=1, bias=False),
            nn.BatchNorm2d(WIDTH),
            nn.LeakyReLU(0.2),
            nn.Conv2d(WIDTH, WIDTH * 2, 3, stride=2, padding=1, bias=False),
            nn.BatchNorm2d(WIDTH * 2),
            nn.LeakyReLU(0.2),
            nn.Flatten(),
            nn.Linear(WIDTH * 2 * (image_size // 4) ** 2, 64),
            nn.LeakyReLU(0.2),
            nn.Linear(64, 1),
        )

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x).squeeze(1)


class TinySRGAN(GANModel):
    """SRGAN-MSE: G maps ``source`` to ``x``; D judges high-resolution images only."""

    task = TaskKind.SUPER_RESOLUTION
    latent_dim = 0  # the generator is a deterministic function of the low-res input
    loss = "non-saturating"

    def __init__(self, info: DataInfo, params: Mapping[str, Any] | None = None) -> None:
        super().__init__()
        factor = upscale_factor(info)
        assert factor is not None
        self.generator = SRGenerator(info.shape[0], factor)
        self.discriminator = SRDiscriminator(info.shape[0], info.shape[-1])

    def generate(self, z: Tensor | None, cond: Batch) -> Tensor:
        assert cond.source is not None, "SRGAN needs low-resolution images in the batch"
        return self.generator(cond.source)

    def discriminate(self, x: Tensor, cond: Batch) -> Tensor:
        return self.discriminator(x)

    def configure_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        return self.adam_optimizers(lr=1e-4, betas=(0.9, 0.999))

    def g_loss_terms(self, step: StepTensors) -> dict[str, Tensor]:
        """The perceptual loss (eq. 3): pixel-MSE content + 1e-3 x adversarial."""
        return {
            "content": F.mse_loss(step.fake, step.batch.x),
            "adversarial": ADVERSARIAL_WEIGHT * self.adversarial_loss.g_loss(step.fake_logits),
        }


@ganbench.hookimpl
def ganbench_register_models(register: Callable[[ModelSpec], None]) -> None:
    """Register ``tiny-srgan``."""
    register(
        ModelSpec(
            name="tiny-srgan",
            build=TinySRGAN,
            task=TaskKind.SUPER_RESOLUTION,
            data_kinds=("image",),
            paper="Ledig et al. 2017, SRGAN, figure 4 and section 2.2 (SRGAN-MSE), "
            "scaled down (test-only)",
            description="test-only tiny SRGAN: residual G with sub-pixel upsampling, MSE content loss",
            check=check_fits,
        )
    )
