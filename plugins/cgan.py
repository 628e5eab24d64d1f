"""cGAN: Mirza and Osindero 2014, "Conditional Generative Adversarial Nets".

The label y (one-hot) is fed to both G and D. Architecture from section
4.1 of the paper (the MNIST model):

* G: z (100) -> 200 ReLU and y (10) -> 1,000 ReLU, concatenated (1,200)
  -> 1,200 ReLU -> data; tanh output because ganbench images are in
  [-1, 1] (the paper's sigmoid targets [0, 1]). Vector data gets a linear output.
* D: x -> maxout 240 units x 5 pieces, y -> maxout 50 units x 5 pieces,
  joint -> maxout 240 units x 4 pieces -> 1 logit; dropout 0.5 on D's inputs
  to each maxout layer.

Deviation, on purpose: the paper trains with SGD, learning rate 0.1 decayed
by 1.00004 per step and momentum ramped from 0.5 to 0.7, tuned for very long
runs. ganbench uses Adam (2e-4, beta1 0.5) as the Keras-GAN reference cGAN
does, so the model trains within the standard step budget.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor, nn

import ganbench
from ganbench.api import Batch, DataInfo, GANModel, ModelSpec, TaskKind


class Maxout(nn.Module):
    """Linear layer producing ``units`` outputs, each the max of ``pieces``."""

    def __init__(self, in_features: int, units: int, pieces: int) -> None:
        super().__init__()
        self.units, self.pieces = units, pieces
        self.linear = nn.Linear(in_features, units * pieces)

    def forward(self, x: Tensor) -> Tensor:
        return self.linear(x).view(x.shape[0], self.units, self.pieces).max(dim=2).values


class ConditionalGenerator(nn.Module):
    """(z, one-hot y) -> samples (N x *shape)."""

    def __init__(
        self, latent_dim: int, num_classes: int, shape: tuple[int, ...], bounded: bool
    ) -> None:
        super().__init__()
        self.z_path = nn.Sequential(nn.Linear(latent_dim, 200), nn.ReLU())
        self.y_path = nn.Sequential(nn.Linear(num_classes, 1000), nn.ReLU())
        out: list[nn.Module] = [nn.Linear(1200, 1200), nn.ReLU(), nn.Linear(1200, math.prod(shape))]
        if bounded:
            out.append(nn.Tanh())
        self.joint = nn.Sequential(*out)
        self.shape = shape

    def forward(self, z: Tensor, y_onehot: Tensor) -> Tensor:
        h = torch.cat([self.z_path(z), self.y_path(y_onehot)], dim=1)
        return self.joint(h).view(z.shape[0], *self.shape)


class ConditionalDiscriminator(nn.Module):
    """(samples, one-hot y) -> logits (N,)."""

    def __init__(self, num_classes: int, shape: tuple[int, ...]) -> None:
        super().__init__()
        self.x_path = Maxout(math.prod(shape), 240, 5)
        self.y_path = Maxout(num_classes, 50, 5)
        self.joint = Maxout(290, 240, 4)
        self.out = nn.Linear(240, 1)

    def forward(self, x: Tensor, y_onehot: Tensor) -> Tensor:
        hx = self.x_path(F.dropout(x.flatten(1), 0.5, self.training))
        hy = self.y_path(F.dropout(y_onehot, 0.5, self.training))
        h = self.joint(F.dropout(torch.cat([hx, hy], dim=1), 0.5, self.training))
        return self.out(F.dropout(h, 0.5, self.training)).squeeze(1)


class ConditionalGAN(GANModel):
    """Class-conditional GAN with the label fed to both networks."""

    task = TaskKind.CLASS_CONDITIONAL
    latent_dim = 100
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

    def _onehot(self, cond: Batch) -> Tensor:
        assert cond.y is not None, "cGAN needs class labels in the batch"
        return F.one_hot(cond.y, self.num_classes).float()

    def generate(self, z: Tensor | None, cond: Batch) -> Tensor:
        return self.generator(z, self._onehot(cond))

    def discriminate(self, x: Tensor, cond: Batch) -> Tensor:
        return self.discriminator(x, self._onehot(cond))

    def configure_optimizers(self) -> tuple[torch.optim.Optimizer, torch.optim.Optimizer]:
        """Adam(2e-4, beta1 0.5): see the module docstring for why not SGD."""
        return self.adam_optimizers(lr=2e-4, betas=(0.5, 0.999))


@ganbench.hookimpl
def ganbench_register_models(register: Callable[[ModelSpec], None]) -> None:
    register(
        ModelSpec(
            name="cgan",
            build=ConditionalGAN,
            task=TaskKind.CLASS_CONDITIONAL,
            data_kinds=("image", "vector"),
            paper="Mirza and Osindero 2014, Conditional GANs, section 4.1",
            description="conditional GAN: the class label fed to G and D (maxout D)",
        )
    )
