"""DCGAN: Radford, Metz and Chintala 2015, "Unsupervised Representation Learning
with Deep Convolutional Generative Adversarial Networks" (ICLR 2016).

Follows the architecture guidelines of section 3 and the training details of
section 4 of the paper:

* no pooling: strided convolutions in D, fractionally-strided (transposed)
  convolutions in G; no fully-connected hidden layers;
* BatchNorm in both networks, except G's output and D's input layers;
* ReLU in G with tanh on the output; LeakyReLU (slope 0.2) in D;
* weights from N(0, 0.02); Adam with learning rate 2e-4 and beta1 0.5.

The paper's networks are for 64x64 images. Here the depth is sized from
the dataset's image size: G starts from a ``base`` x ``base`` map (4x4 for
32 and 64 px, 7x7 for 28 px, 2x2 for 8 px digits) and doubles it per layer;
D mirrors G. Widths start from 64 feature maps at the full resolution and
double per halving, as in the paper's figure 1 (read in reverse).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor, nn

import ganbench
from ganbench.api import DataInfo, ModelSpec, TaskKind, UnconditionalGAN

BASE_WIDTH = 64


def upsampling_plan(image_size: int) -> tuple[int, int]:
    """(base size, number of doublings) with base * 2**doublings == image_size.

    Halves while the size stays even and at least 4; goes on to 2 if that
    left fewer than two layers, so even 8x8 images get a two-layer G.
    """
    base, doublings = image_size, 0
    while base % 2 == 0 and base // 2 >= 4:
        base, doublings = base // 2, doublings + 1
    while doublings < 2 and base % 2 == 0 and base // 2 >= 2:
        base, doublings = base // 2, doublings + 1
    return base, doublings


def check_image_size(info: DataInfo) -> str | None:
    """Why DCGAN cannot be sized for this dataset, or None."""
    if info.kind != "image" or info.image_size is None:
        return "DCGAN needs image data"
    if info.shape[1] != info.shape[2]:
        return f"DCGAN needs square images, got {info.shape[1]}x{info.shape[2]}"
    _, doublings = upsampling_plan(info.image_size)
    if doublings < 1:
        return f"DCGAN cannot upsample to {info.image_size} px; use an even size >= 8"
    return None


class DCGANGenerator(nn.Module):
    """z (N x latent_dim) -> images (N x C x S x S) in [-1, 1]."""

    def __init__(self, latent_dim: int, channels: int, image_size: int) -> None:
        super().__init__()
        base, doublings = upsampling_plan(image_size)
        width = BASE_WIDTH * 2 ** (doublings - 1)
        layers: list[nn.Module] = [
            # Projection of z to the base map: a transposed conv over a 1x1 input.
            nn.ConvTranspose2d(latent_dim, width, base, 1, 0, bias=False),
            nn.BatchNorm2d(width),
            nn.ReLU(True),
        ]
        for _ in range(doublings - 1):
            layers += [
                nn.ConvTranspose2d(width, width // 2, 4, 2, 1, bias=False),
                nn.BatchNorm2d(width // 2),
                nn.ReLU(True),
            ]
            width //= 2
        layers += [nn.ConvTranspose2d(width, channels, 4, 2, 1, bias=False), nn.Tanh()]
        self.net = nn.Sequential(*layers)

    def forward(self, z: Tensor) -> Tensor:
        return self.net(z[:, :, None, None])


class DCGANDiscriminator(nn.Module):
    """images (N x C x S x S) -> logits (N,)."""

    def __init__(self, channels: int, image_size: int) -> None:
        super().__init__()
        base, doublings = upsampling_plan(image_size)
        width = BASE_WIDTH
        layers: list[nn.Module] = [
            nn.Conv2d(channels, width, 4, 2, 1, bias=False),
            nn.LeakyReLU(0.2, inplace=True),
        ]
        for _ in range(doublings - 1):
            layers += [
                nn.Conv2d(width, width * 2, 4, 2, 1, bias=False),
                nn.BatchNorm2d(width * 2),
                nn.LeakyReLU(0.2, inplace=True),
            ]
            width *= 2
        layers.append(nn.Conv2d(width, 1, base, 1, 0, bias=False))
        self.net = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x).flatten()


def dcgan_init(module: nn.Module) -> None:
    """N(0, 0.02) conv weights; BatchNorm scale N(1, 0.02), shift 0 (section 4)."""
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
        nn.init.normal_(module.weight, 0.0, 0.02)
    elif isinstance(module, nn.BatchNorm2d | nn.BatchNorm1d):
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)


class DCGAN(UnconditionalGAN):
    """DCGAN sized for the dataset's image size and channel count."""

    latent_dim = 100
    loss = "non-saturating"

    def __init__(self, info: DataInfo) -> None:
        super().__init__()
        channels, size = info.shape[0], info.shape[-1]
        self.generator = DCGANGenerator(self.latent_dim, channels, size)
        self.discriminator = DCGANDiscriminator(channels, size)

    def init_weights(self) -> None:
        self.apply(dcgan_init)

    def configure_optimizers(self) -> tuple[torch.optim.Optimizer, torch.optim.Optimizer]:
        """Adam(2e-4, beta1 0.5) for both networks (section 4)."""
        return self.adam_optimizers(lr=2e-4, betas=(0.5, 0.999))


@ganbench.hookimpl
def ganbench_register_models(register: Callable[[ModelSpec], None]) -> None:
    register(
        ModelSpec(
            name="dcgan",
            build=DCGAN,
            task=TaskKind.UNCONDITIONAL,
            data_kinds=("image",),
            paper="Radford et al. 2015, DCGAN, sections 3-4",
            description="deep convolutional GAN, depth sized from the image size",
            check=check_image_size,
        )
    )
