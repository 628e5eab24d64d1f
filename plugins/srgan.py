"""SRGAN: Ledig et al. 2017, "Photo-Realistic Single Image Super-Resolution
Using a Generative Adversarial Network" (CVPR).

Networks, from the paper's figure 4:

* **Generator (SRResNet).**
  - A 9 x 9 convolution to 64 maps with PReLU.
  - B residual blocks (``blocks``, 16 in the paper), each conv 3x3 - BN -
    PReLU - conv 3x3 - BN plus its input.
  - A 3 x 3 convolution with BN, added to the first layer's output (the long
    skip).
  - One sub-pixel block per factor of two (conv 3x3 to 256 maps, pixel
    shuffle x2, PReLU; Shi et al. 2016): two for x4.
  - A 9 x 9 convolution to the image's channels.
* **Discriminator.**
  - Eight 3 x 3 convolutions with LeakyReLU 0.2: 64, 64, 128, 128, 256, 256,
    512 and 512 maps, the second of each pair with stride 2, BN after all
    but the first.
  - A dense layer of 1,024 units, LeakyReLU, and a dense layer to one logit
    (the paper's sigmoid is folded into the loss).

Losses (§2.2):

* G minimises the perceptual loss: content loss + 1e-3 x the adversarial
  loss -log D(G(x_LR)) (non-saturating), eq. 3 and 6.
* ``content=mse`` (the default) is the pixel MSE, the paper's SRGAN-MSE
  (§3.4, Table 1).
* ``content=vgg54`` is the MSE between VGG19 feature maps after the 4th
  convolution (and its ReLU) before the 5th max-pooling, the paper's
  SRGAN-VGG54. Its weights are torchvision's ImageNet VGG19
  (``vgg19-dcbedf0a.pth``), read from ``$GANBENCH_VGG19_WEIGHTS`` or the
  torch hub cache. They cannot be downloaded here, so ``mse`` is the default.
  Inputs are mapped to [0, 1], normalised with ImageNet's mean and std, and
  grey images are repeated to RGB. The feature maps are divided by 12.75, our
  reading of §2.2.2's "rescaled the VGG losses by a factor of 1/12.75".
* D minimises the standard cross-entropy (eq. 2).

Optimiser (§3.2): Adam with beta1 0.9 and learning rate 1e-4 for both
networks.

Deviations, all for a laptop CPU and said here for the leaderboards:

* Training starts from random weights. The paper starts SRGAN from a trained
  SRResNet, and its second 10^5 steps use learning rate 1e-5.
* The output has a tanh, since ganbench images lie in [-1, 1]; the paper
  leaves the last convolution linear.
* The defaults keep the paper's 16 blocks and 64 maps. Only the images are
  small (``sr-photos``: 8 x 8 to 32 x 32).
"""

from __future__ import annotations

import hashlib
import math
import os
import pickle
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

import ganbench
from ganbench.api import (
    Batch,
    DataInfo,
    GanbenchError,
    GANModel,
    ModelSpec,
    Param,
    StepTensors,
    TaskKind,
)

WIDTH = 64
#: Weight of the adversarial term in the perceptual loss (eq. 3).
ADVERSARIAL_WEIGHT = 1e-3
#: VGG feature maps are divided by this (§2.2.2).
VGG_RESCALE = 12.75
#: torchvision's VGG19 ImageNet weights file, looked for in the torch hub cache.
VGG19_FILE = "vgg19-dcbedf0a.pth"
#: Index after the ReLU of conv5_4 in torchvision's ``vgg19().features``.
VGG54_END = 36
CONTENT_LOSSES = ("mse", "vgg54")
_IMAGENET_MEAN = (0.485, 0.456, 0.406)
_IMAGENET_STD = (0.229, 0.224, 0.225)


def upscale_factor(info: DataInfo) -> int | None:
    """How many times larger ``x`` is than ``source``, if a power of two >= 2 on both sides."""
    if info.kind != "image" or info.source_shape is None or len(info.source_shape) != 3:
        return None
    if info.source_shape[0] != info.shape[0] or info.source_shape[1] == 0:
        return None
    factor = info.shape[1] // info.source_shape[1]
    if factor < 2 or factor & (factor - 1):
        return None
    if tuple(info.shape[1:]) != tuple(n * factor for n in info.source_shape[1:]):
        return None
    return factor


def check_fits(info: DataInfo) -> str | None:
    """Why SRGAN cannot be sized for ``info``, or None."""
    if upscale_factor(info) is None:
        return (
            f"SRGAN needs a low-resolution source with x's channels, a power of two smaller, "
            f"got x {info.shape} and source {info.source_shape}"
        )
    if info.shape[1] % 16 or info.shape[2] % 16:
        return f"SRGAN's discriminator halves the image four times: needs sides divisible by 16, got {info.shape[1:]}"
    return None


class ResidualBlock(nn.Module):
    """conv 3x3 - BN - PReLU - conv 3x3 - BN, plus the input (figure 4)."""

    def __init__(self, width: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(width, width, 3, padding=1),
            nn.BatchNorm2d(width),
            nn.PReLU(width),
            nn.Conv2d(width, width, 3, padding=1),
            nn.BatchNorm2d(width),
        )

    def forward(self, x: Tensor) -> Tensor:
        return x + self.body(x)


class SRResNet(nn.Module):
    """Low-resolution images (N x C x h x w) -> N x C x fh x fw in [-1, 1]."""

    def __init__(self, channels: int, factor: int, blocks: int = 16, width: int = WIDTH) -> None:
        super().__init__()
        self.head = nn.Sequential(nn.Conv2d(channels, width, 9, padding=4), nn.PReLU(width))
        self.body = nn.Sequential(
            *(ResidualBlock(width) for _ in range(blocks)),
            nn.Conv2d(width, width, 3, padding=1),
            nn.BatchNorm2d(width),
        )
        upsample: list[nn.Module] = []
        for _ in range(int(math.log2(factor))):
            upsample += [
                nn.Conv2d(width, width * 4, 3, padding=1),
                nn.PixelShuffle(2),
                nn.PReLU(width),
            ]
        self.tail = nn.Sequential(*upsample, nn.Conv2d(width, channels, 9, padding=4), nn.Tanh())

    def forward(self, low: Tensor) -> Tensor:
        h = self.head(low)
        return self.tail(h + self.body(h))


class SRGANDiscriminator(nn.Module):
    """Images (N x C x H x W) -> logits (N,); figure 4's eight convolutions and two dense layers."""

    #: (maps, stride) of the seven convolutions after the first.
    LAYERS = ((64, 2), (128, 1), (128, 2), (256, 1), (256, 2), (512, 1), (512, 2))

    def __init__(self, channels: int, height: int, width: int) -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.Conv2d(channels, 64, 3, padding=1), nn.LeakyReLU(0.2)]
        maps = 64
        for out, stride in self.LAYERS:
            layers += [
                nn.Conv2d(maps, out, 3, stride=stride, padding=1),
                nn.BatchNorm2d(out),
                nn.LeakyReLU(0.2),
            ]
            maps = out
        self.features = nn.Sequential(*layers)
        self.head = nn.Sequential(
            nn.Flatten(),
            nn.Linear(512 * (height // 16) * (width // 16), 1024),
            nn.LeakyReLU(0.2),
            nn.Linear(1024, 1),
        )

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.features(x)).squeeze(1)


def vgg19_weights_path() -> Path:
    """The VGG19 weights file: ``$GANBENCH_VGG19_WEIGHTS``, else the torch hub cache."""
    given = os.environ.get("GANBENCH_VGG19_WEIGHTS")
    if given:
        path = Path(given).expanduser()
        if not path.is_file():
            raise GanbenchError(f"$GANBENCH_VGG19_WEIGHTS is {given!r}, which is not a file")
        return path
    hub = Path(torch.hub.get_dir()) / "checkpoints" / VGG19_FILE
    if hub.is_file():
        return hub
    raise GanbenchError(
        f"srgan content=vgg54 needs torchvision's VGG19 weights: put {VGG19_FILE} in "
        f"{hub.parent} or set $GANBENCH_VGG19_WEIGHTS to the file (or use content=mse)"
    )


def _sha256(path: Path) -> str:
    """The file's sha256, read in chunks (VGG19's file is 548 MB: never whole in memory)."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


class VGG54(nn.Module):
    """Frozen VGG19 features up to conv5_4's ReLU, for images in [-1, 1]."""

    def __init__(self, weights: Path) -> None:
        super().__init__()
        from torchvision.models import vgg19

        #: Which VGG19 the content loss saw, for the run record.
        self.weights_sha256 = _sha256(weights)
        features = vgg19(weights=None).features
        try:
            state = torch.load(weights, map_location="cpu", weights_only=True)
            # Only the convolutions are used: the classifier's weights may be absent.
            prefix = "features."
            features.load_state_dict(
                {k[len(prefix) :]: v for k, v in state.items() if k.startswith(prefix)}
            )
        except (RuntimeError, OSError, ValueError, AttributeError, pickle.UnpicklingError) as exc:
            raise GanbenchError(
                f"cannot read VGG19 weights from {str(weights)!r}: {str(exc).splitlines()[0]}"
            ) from None
        self.features = features[:VGG54_END].eval().requires_grad_(False)
        self.register_buffer("mean", torch.tensor(_IMAGENET_MEAN).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(_IMAGENET_STD).view(1, 3, 1, 1))

    def train(self, mode: bool = True) -> VGG54:
        # Always in eval mode: the loss network is fixed (no dropout; no BN anyway).
        return super().train(False)

    def forward(self, x: Tensor) -> Tensor:
        rgb = x.expand(-1, 3, -1, -1) if x.shape[1] == 1 else x
        return self.features(((rgb + 1) / 2 - self.mean) / self.std) / VGG_RESCALE


class SRGAN(GANModel):
    """G super-resolves ``source`` to ``x``; D judges high-resolution images."""

    task = TaskKind.SUPER_RESOLUTION
    latent_dim = 0  # G is a deterministic function of the low-resolution input
    loss = "non-saturating"

    def __init__(self, info: DataInfo, params: Mapping[str, Any]) -> None:
        super().__init__()
        factor = upscale_factor(info)
        assert factor is not None  # check_fits
        channels, height, width = info.shape
        self.generator = SRResNet(channels, factor, blocks=int(params["blocks"]))
        self.discriminator = SRGANDiscriminator(channels, height, width)
        self.content = str(params["content"])
        # Not a submodule: the loss network is no part of the model's weights or checkpoints.
        self._vgg = [VGG54(vgg19_weights_path())] if self.content == "vgg54" else []

    def generate(self, z: Tensor | None, cond: Batch) -> Tensor:
        if cond.source is None:
            raise GanbenchError("srgan needs low-resolution images (source) in the batch")
        return self.generator(cond.source)

    def discriminate(self, x: Tensor, cond: Batch) -> Tensor:
        return self.discriminator(x)

    def configure_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        return self.adam_optimizers(lr=1e-4, betas=(0.9, 0.999))

    def protocol_facts(self) -> dict[str, Any]:
        """The loss network's weights, which change what SRGAN-VGG54 trains toward."""
        if not self._vgg:
            return {}
        return {
            "content_network": "vgg19 conv5_4",
            "vgg19_weights_sha256": self._vgg[0].weights_sha256,
        }

    def content_loss(self, fake: Tensor, real: Tensor) -> Tensor:
        """Pixel MSE, or the MSE of rescaled VGG19 conv5_4 features."""
        if not self._vgg:
            return F.mse_loss(fake, real)
        vgg = self._vgg[0].to(fake.device)
        return F.mse_loss(vgg(fake), vgg(real))

    def g_loss_terms(self, step: StepTensors) -> dict[str, Tensor]:
        """The perceptual loss (eq. 3): content + 1e-3 x adversarial."""
        return {
            "content": self.content_loss(step.fake, step.batch.x),
            "adversarial": ADVERSARIAL_WEIGHT * self.adversarial_loss.g_loss(step.fake_logits),
        }


@ganbench.hookimpl
def ganbench_register_models(register: Callable[[ModelSpec], None]) -> None:
    """Register ``srgan``."""
    register(
        ModelSpec(
            name="srgan",
            build=SRGAN,
            task=TaskKind.SUPER_RESOLUTION,
            data_kinds=("image",),
            paper="Ledig et al. 2017, SRGAN, figure 4 and sections 2.2 and 3.2",
            description="SRGAN: 16-block SRResNet G, 8-conv D, content + 1e-3 adversarial loss",
            check=check_fits,
            params=(
                Param("content", str, "mse", "content loss: mse or vgg54", choices=CONTENT_LOSSES),
                Param("blocks", int, 16, "residual blocks in G"),
            ),
        )
    )
