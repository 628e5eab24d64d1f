"""DCGAN's networks and sizing: Radford, Metz and Chintala 2015 (ICLR 2016).

Section 3's guidelines: strided convolutions in D and transposed ones in G,
no fully connected hidden layers, BatchNorm in both networks except G's
output and D's input, ReLU in G with a tanh output, LeakyReLU(0.2) in D,
weights from N(0, 0.02) (section 4). The paper's networks are for 64x64
images; here the depth follows the image size (:func:`upsampling_plan`):
G starts from a ``base`` x ``base`` map (4x4 for 32 and 64 px, 7x7 for
28 px, 2x2 for 8 px digits) and doubles it per layer; D mirrors G. Widths
start from 64 feature maps at full resolution and double per halving.
"""

from __future__ import annotations

from torch import Tensor, nn

from ganbench.data.types import DataInfo

BASE_WIDTH = 64
#: Normalisations of :class:`DCGANDiscriminator`'s inner layers.
NORMS = ("batch", "none", "layer")


def _norm_layer(norm: str, width: int, size: int) -> list[nn.Module]:
    if norm == "batch":
        return [nn.BatchNorm2d(width)]
    if norm == "layer":
        return [nn.GroupNorm(1, width)]  # layer norm over (C, H, W) of each sample
    return []


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
    """images (N x C x S x S) -> logits (N,).

    ``norm`` is the normalisation of the inner layers: ``"batch"`` (DCGAN),
    ``"none"`` (WGAN-GP's critic: the penalty is per sample, and BatchNorm
    makes each output depend on the whole batch, Gulrajani et al. 2017,
    section 4) or ``"layer"`` (their suggested drop-in replacement).
    ``channels`` may exceed the data's (PacGAN stacks packed samples along
    channels). ``outputs`` > 1 gives (N, outputs) from the last layer instead
    of (N,) logits: heads that share the body (AC-GAN's class logits).
    """

    def __init__(
        self, channels: int, image_size: int, norm: str = "batch", outputs: int = 1
    ) -> None:
        super().__init__()
        if norm not in NORMS:
            raise ValueError(f"unknown norm {norm!r}; valid choices: {', '.join(NORMS)}")
        base, doublings = upsampling_plan(image_size)
        width = BASE_WIDTH
        layers: list[nn.Module] = [
            # Biases only where no normalisation follows (DCGAN has none at all).
            nn.Conv2d(channels, width, 4, 2, 1, bias=norm == "none"),
            nn.LeakyReLU(0.2, inplace=True),
        ]
        size = image_size // 2
        for _ in range(doublings - 1):
            size //= 2
            layers += [
                nn.Conv2d(width, width * 2, 4, 2, 1, bias=norm == "none"),
                *_norm_layer(norm, width * 2, size),
                nn.LeakyReLU(0.2, inplace=True),
            ]
            width *= 2
        layers.append(nn.Conv2d(width, outputs, base, 1, 0, bias=False))
        self.net = nn.Sequential(*layers)
        self.outputs = outputs

    def forward(self, x: Tensor) -> Tensor:
        out = self.net(x).flatten(1)
        return out.squeeze(1) if self.outputs == 1 else out


def dcgan_init(module: nn.Module) -> None:
    """N(0, 0.02) conv weights; BatchNorm scale N(1, 0.02), shift 0 (section 4)."""
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
        nn.init.normal_(module.weight, 0.0, 0.02)
    elif isinstance(module, nn.BatchNorm2d | nn.BatchNorm1d):
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)
