"""A working test plugin: a tiny MLP GAN for any data shape and a no-op trick.

Also registers three models that break the model contract at build time
(``tiny-wrong``: generator output of the wrong shape, ``tiny-baddisc``:
discriminator output of the wrong shape, ``tiny-notmodel``: build() returns
something that is not a GANModel).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

import ganbench
from ganbench.api import GANModel, ModelSpec, TaskKind, Trick, TrickParam, TrickSpec

__version__ = "1.2.3"


class TinyGAN(GANModel):
    """z (N x 4) -> x (N x *shape) through one linear layer; D likewise."""

    latent_dim = 4

    def __init__(self, info, extra_out: int = 0, disc_width: int = 1) -> None:
        super().__init__()
        self.shape = tuple(info.shape)
        size = math.prod(self.shape)
        self.extra_out = extra_out
        self.disc_width = disc_width
        self.generator = nn.Linear(self.latent_dim, size + extra_out)
        self.discriminator = nn.Linear(size, disc_width)

    def generate(self, z: Tensor | None, cond) -> Tensor:
        out = self.generator(z)
        if self.extra_out:
            return out  # the wrong shape: N x (size + extra_out)
        return torch.tanh(out).view(z.shape[0], *self.shape)  # images stay in [-1, 1]

    def discriminate(self, x: Tensor, cond) -> Tensor:
        logits = self.discriminator(x.flatten(1))
        return logits if self.disc_width != 1 else logits.squeeze(1)

    def configure_optimizers(self):
        return {
            "g": torch.optim.Adam(self.generator.parameters(), lr=1e-3),
            "d": torch.optim.Adam(self.discriminator.parameters(), lr=1e-3),
        }


def _spec(name: str, build) -> ModelSpec:
    return ModelSpec(
        name=name,
        build=build,
        task=TaskKind.UNCONDITIONAL,
        data_kinds=("image", "vector"),
        paper="test plugin, no paper",
    )


@ganbench.hookimpl
def ganbench_register_models(register) -> None:
    register(_spec("tiny", TinyGAN))
    register(_spec("tiny-wrong", lambda info: TinyGAN(info, extra_out=1)))
    register(_spec("tiny-baddisc", lambda info: TinyGAN(info, disc_width=3)))
    register(_spec("tiny-notmodel", lambda info: nn.Linear(2, 2)))


class NoOpTrick(Trick):
    """Leaves D's input unchanged."""

    name = "noop"
    hook_points = ("transform_d_input",)

    def __init__(self, params) -> None:
        self.params = dict(params)

    def transform_d_input(self, x: Tensor, which, ctx) -> Tensor:
        return x


@ganbench.hookimpl
def ganbench_register_tricks(register) -> None:
    register(
        TrickSpec(
            name="noop",
            build=NoOpTrick,
            hook_points=("transform_d_input",),
            params=(TrickParam("std", float, 0.1),),
        )
    )
