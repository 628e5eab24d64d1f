"""cGAN: Mirza and Osindero 2014, "Conditional Generative Adversarial Nets".

The class label y is fed to both G and D (section 3.2 of the paper): G
models p(x | y), and D judges (x, y) pairs, so a fake of the wrong class is
caught as readily as a fake that looks wrong.

Architecture and hyper-parameters follow the Keras-GAN reference
implementation of the paper (``cgan/cgan.py``), the same source as
ganbench's ``gan`` plugin:

* G: z (100) multiplied elementwise by a learned 100-d embedding of y, then
  256 -> 512 -> 1024, each Linear, LeakyReLU(0.2), BatchNorm (Keras
  momentum 0.8); tanh output for images, linear for vector data.
* D: the flattened sample multiplied elementwise by a learned embedding of y
  of the same width, then 512 -> 512 -> 512 with LeakyReLU(0.2), dropout
  0.4 after the second and third layers, and one logit.
* Non-saturating loss; Adam, learning rate 2e-4, beta1 0.5, for both.

Why not the paper's own MNIST network (section 4.1: ReLU G with separate
z and y towers, maxout D, SGD at learning rate 0.1 with decay and momentum
schedules): in ganbench's 2,000-step budget it collapsed to the mean digit
with conditional accuracy at chance (0.10), with SGD as with Adam, with or
without D's dropout. The multiplicative conditioning above reaches
class-conditional samples within the budget.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import Tensor, nn

import ganbench
from ganbench.api import Batch, DataInfo, GANModel, ModelSpec, TaskKind
from ganbench_plugins._mlp import keras_mlp_generator_stack

LATENT_DIM = 100


class ConditionalGenerator(nn.Module):
    """(z, y) -> samples (N x *shape): z is gated by a learned embedding of y."""

    def __init__(
        self, latent_dim: int, num_classes: int, shape: tuple[int, ...], bounded: bool
    ) -> None:
        super().__init__()
        self.label_embedding = nn.Embedding(num_classes, latent_dim)
        self.net = keras_mlp_generator_stack(latent_dim, math.prod(shape), bounded)
        self.shape = shape

    def forward(self, z: Tensor, y: Tensor) -> Tensor:
        return self.net(z * self.label_embedding(y)).view(z.shape[0], *self.shape)


class ConditionalDiscriminator(nn.Module):
    """(samples, y) -> logits (N,): the sample is gated by a learned embedding of y."""

    def __init__(self, num_classes: int, shape: tuple[int, ...]) -> None:
        super().__init__()
        width = math.prod(shape)
        self.label_embedding = nn.Embedding(num_classes, width)
        self.net = nn.Sequential(
            nn.Linear(width, 512),
            nn.LeakyReLU(0.2),
            nn.Linear(512, 512),
            nn.LeakyReLU(0.2),
            nn.Dropout(0.4),
            nn.Linear(512, 512),
            nn.LeakyReLU(0.2),
            nn.Dropout(0.4),
            nn.Linear(512, 1),
        )

    def forward(self, x: Tensor, y: Tensor) -> Tensor:
        return self.net(x.flatten(1) * self.label_embedding(y)).squeeze(1)


class ConditionalGAN(GANModel):
    """Class-conditional GAN with the label fed to both networks."""

    task = TaskKind.CLASS_CONDITIONAL
    latent_dim = LATENT_DIM
    loss = "non-saturating"

    def __init__(self, info: DataInfo) -> None:
        super().__init__()
        assert info.num_classes is not None
        self.num_classes = info.num_classes
        bounded = info.kind == "image"
        self.generator = ConditionalGenerator(
            self.latent_dim, self.num_classes, info.shape, bounded
        )
        self.discriminator = ConditionalDiscriminator(self.num_classes, info.shape)

    @staticmethod
    def _labels(cond: Batch) -> Tensor:
        assert cond.y is not None, "cGAN needs class labels in the batch"
        return cond.y

    def generate(self, z: Tensor | None, cond: Batch) -> Tensor:
        return self.generator(z, self._labels(cond))

    def discriminate(self, x: Tensor, cond: Batch) -> Tensor:
        return self.discriminator(x, self._labels(cond))

    def configure_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        """Adam(2e-4, beta1 0.5) for both networks, as the Keras-GAN cGAN."""
        return self.adam_optimizers(lr=2e-4, betas=(0.5, 0.999))


@ganbench.hookimpl
def ganbench_register_models(register: Callable[[ModelSpec], None]) -> None:
    register(
        ModelSpec(
            name="cgan",
            build=ConditionalGAN,
            task=TaskKind.CLASS_CONDITIONAL,
            data_kinds=("image", "vector"),
            paper=(
                "Mirza and Osindero 2014, Conditional GANs, section 3.2; "
                "network of the Keras-GAN reference cgan"
            ),
            description="conditional GAN: the class label fed to G and D (label embeddings)",
        )
    )
