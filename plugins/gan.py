"""GAN: Goodfellow et al. 2014, "Generative Adversarial Nets" (NeurIPS), as an MLP.

Architecture and hyper-parameters follow the multilayer-perceptron Keras
example that the GAN article builds on (Keras-GAN, ``gan/gan.py``):

* G: z (100) -> 256 -> 512 -> 1024 -> data, each hidden layer Linear,
  LeakyReLU(0.2), BatchNorm (Keras momentum 0.8, i.e. PyTorch momentum 0.2);
  tanh output for images in [-1, 1]. Vector data (2-D mixtures) is not
  bounded, so its output layer is linear.
* D: data -> 512 -> 256 -> 1, LeakyReLU(0.2); the sigmoid is folded into
  the loss (logits), which is the same model and numerically safer.
* Loss: the non-saturating generator loss of section 3 of the paper.
* Optimizers: Adam, learning rate 2e-4, beta1 0.5, for both networks.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import Tensor, nn

import ganbench
from ganbench.api import DataInfo, ModelSpec, TaskKind, UnconditionalGAN
from ganbench_plugins._mlp import keras_mlp_generator_stack


class MLPGenerator(nn.Module):
    """z (N x latent_dim) -> samples (N x *shape)."""

    def __init__(self, latent_dim: int, shape: tuple[int, ...], bounded: bool) -> None:
        super().__init__()
        self.net = keras_mlp_generator_stack(latent_dim, math.prod(shape), bounded)
        self.shape = shape

    def forward(self, z: Tensor) -> Tensor:
        return self.net(z).view(z.shape[0], *self.shape)


class MLPDiscriminator(nn.Module):
    """samples (N x *shape) -> logits (N,)."""

    def __init__(self, shape: tuple[int, ...]) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Flatten(),
            nn.Linear(math.prod(shape), 512),
            nn.LeakyReLU(0.2),
            nn.Linear(512, 256),
            nn.LeakyReLU(0.2),
            nn.Linear(256, 1),
        )

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x).squeeze(1)


class GoodfellowGAN(UnconditionalGAN):
    """The MLP GAN on any data shape (2-D points or flattened images)."""

    latent_dim = 100
    loss = "non-saturating"

    def __init__(self, info: DataInfo) -> None:
        super().__init__()
        self.generator = MLPGenerator(self.latent_dim, info.shape, bounded=info.kind == "image")
        self.discriminator = MLPDiscriminator(info.shape)

    def configure_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        """Adam(2e-4, beta1 0.5) for both networks, as the Keras example."""
        return self.adam_optimizers(lr=2e-4, betas=(0.5, 0.999))


@ganbench.hookimpl
def ganbench_register_models(register: Callable[[ModelSpec], None]) -> None:
    register(
        ModelSpec(
            name="gan",
            build=GoodfellowGAN,
            task=TaskKind.UNCONDITIONAL,
            data_kinds=("image", "vector"),
            paper="Goodfellow et al. 2014, Generative Adversarial Nets; MLP of the Keras-GAN example",
            description="the original GAN as an MLP (G 256-512-1024, D 512-256)",
        )
    )
