"""gan2d: the 2-D networks of PacGAN's mode-collapse experiments.

Lin, Khetan, Fanti and Oh 2018, "PacGAN: The power of two samples in
generative adversarial networks" (NeurIPS), section 5 and appendix, the
set-up of the 2-D Gaussian mixtures (ring and grid) that VEEGAN
(Srivastava et al. 2017) introduced:

* z: 2-d standard Gaussian;
* G: 4 hidden layers of 400 units, BatchNorm and ReLU, linear output;
* D: 3 maxout layers of 200 units with 5 pieces each, then a linear logit
  (no BatchNorm);
* weights from N(0, 0.02); Adam, learning rate 1e-4, beta1 0.8 (beta2
  0.999); mini-batches of 100 (``--batch-size 100``: the toy datasets'
  default batch is ganbench's own, 256);
* the non-saturating loss.

The ``pacgan`` plugin packs this D's input.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import Tensor, nn

import ganbench
from ganbench.api import DataInfo, ModelSpec, TaskKind, UnconditionalGAN
from ganbench.blocks.mlp import maxout_stack, mlp, normal_init

LATENT_DIM = 2
G_HIDDEN = (400, 400, 400, 400)
D_HIDDEN = (200, 200, 200)
MAXOUT_PIECES = 5
LEARNING_RATE = 1e-4
BETAS = (0.8, 0.999)


class Gan2dGenerator(nn.Module):
    """z (N x 2) -> points (N x *shape)."""

    def __init__(self, shape: tuple[int, ...]) -> None:
        super().__init__()
        self.shape = shape
        self.net = mlp(LATENT_DIM, G_HIDDEN, math.prod(shape), batch_norm=True)

    def forward(self, z: Tensor) -> Tensor:
        return self.net(z).view(z.shape[0], *self.shape)


class Gan2dDiscriminator(nn.Module):
    """points (N x in_features) -> logits (N,): a maxout network."""

    def __init__(self, in_features: int) -> None:
        super().__init__()
        self.net = maxout_stack(in_features, D_HIDDEN, 1, MAXOUT_PIECES)

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x.flatten(1)).squeeze(1)


class Gan2d(UnconditionalGAN):
    """PacGAN's 2-D GAN (unpacked)."""

    latent_dim = LATENT_DIM
    loss = "non-saturating"

    def __init__(self, info: DataInfo) -> None:
        super().__init__()
        self.generator = Gan2dGenerator(tuple(info.shape))
        self.discriminator = Gan2dDiscriminator(math.prod(info.shape))

    def init_weights(self) -> None:
        self.apply(normal_init(0.02))

    def configure_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        """Adam(1e-4, beta1 0.8) for both networks."""
        return self.adam_optimizers(lr=LEARNING_RATE, betas=BETAS)


@ganbench.hookimpl
def ganbench_register_models(register: Callable[[ModelSpec], None]) -> None:
    register(
        ModelSpec(
            name="gan2d",
            build=Gan2d,
            task=TaskKind.UNCONDITIONAL,
            data_kinds=("vector",),
            paper="Lin et al. 2018, PacGAN, section 5 and appendix (2-D mixtures)",
            description="PacGAN's 2-D GAN: G 4x400 BatchNorm-ReLU, D 3x200 maxout (5 pieces)",
        )
    )
