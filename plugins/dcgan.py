"""DCGAN: Radford, Metz and Chintala 2015, "Unsupervised Representation Learning
with Deep Convolutional Generative Adversarial Networks" (ICLR 2016).

Follows the architecture guidelines of section 3 and the training details of
section 4 of the paper:

* no pooling: strided convolutions in D, fractionally-strided (transposed)
  convolutions in G; no fully-connected hidden layers;
* BatchNorm in both networks, except G's output and D's input layers;
* ReLU in G with tanh on the output; LeakyReLU (slope 0.2) in D;
* weights from N(0, 0.02); Adam with learning rate 2e-4 and beta1 0.5.

The networks are the public building blocks of :mod:`ganbench.blocks.dcgan`,
which other plugins (WGAN, PacGAN) share. The paper's networks are for
64x64 images; there the depth is sized from the dataset's image size.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

import ganbench
from ganbench.api import DataInfo, ModelSpec, TaskKind, UnconditionalGAN
from ganbench.blocks.dcgan import (
    DCGANDiscriminator,
    DCGANGenerator,
    check_image_size,
    dcgan_init,
)


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

    def configure_optimizers(self) -> dict[str, torch.optim.Optimizer]:
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
