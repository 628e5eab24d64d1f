"""Test plugin: models whose losses stop being finite at a known step.

* ``nan-gan``: from generator step 3 on, the discriminator's logits are NaN,
  so the standard step's D loss is NaN at step 3.
* ``inf-gan``: at generator step 5, the discriminator's logits seen by the
  generator update are scaled by 1e30; the least-squares loss squares them
  and overflows float32, so G's loss is +inf (infinite, not NaN) while D's
  loss stays finite.

Both train with the standard D and G updates, so divergence is detected by
the real train loop on real losses, not faked in a returned dict.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

import ganbench
from ganbench.api import (
    Batch,
    DataInfo,
    GANModel,
    ModelSpec,
    StepContext,
    TaskKind,
    discriminator_step,
    generator_step,
)


class BrokenAtStep(GANModel):
    """A small MLP GAN whose discriminator breaks from step ``break_at`` on."""

    latent_dim = 8
    break_at = 3

    def __init__(self, info: DataInfo) -> None:
        super().__init__()
        self.shape = tuple(info.shape)
        size = math.prod(self.shape)
        self.generator = nn.Sequential(
            nn.Linear(self.latent_dim, 32), nn.ReLU(), nn.Linear(32, size)
        )
        self.discriminator = nn.Sequential(nn.Linear(size, 32), nn.LeakyReLU(0.2), nn.Linear(32, 1))
        self.broken = False

    def generate(self, z: Tensor | None, cond: Batch) -> Tensor:
        return self.generator(z).view(z.shape[0], *self.shape)

    def healthy_logits(self, x: Tensor) -> Tensor:
        return self.discriminator(x.flatten(1)).squeeze(1)

    def discriminate(self, x: Tensor, cond: Batch) -> Tensor:
        logits = self.healthy_logits(x)
        return self.break_logits(logits) if self.broken else logits

    def break_logits(self, logits: Tensor) -> Tensor:
        raise NotImplementedError

    def configure_optimizers(self) -> tuple[torch.optim.Optimizer, torch.optim.Optimizer]:
        return (
            torch.optim.Adam(self.generator.parameters(), lr=1e-3),
            torch.optim.Adam(self.discriminator.parameters(), lr=1e-3),
        )

    def train_step(self, batch: Batch, ctx: StepContext) -> dict[str, Tensor]:
        self.broken = ctx.step >= self.break_at
        return super().train_step(batch, ctx)


class NaNGAN(BrokenAtStep):
    loss = "non-saturating"
    break_at = 3

    def break_logits(self, logits: Tensor) -> Tensor:
        return logits + float("nan")


class InfGAN(BrokenAtStep):
    loss = "least-squares"
    break_at = 5

    def break_logits(self, logits: Tensor) -> Tensor:
        return logits * 1e30  # squared by the loss: beyond float32, so +inf

    def train_step(self, batch: Batch, ctx: StepContext) -> dict[str, Tensor]:
        # Only the generator update sees the broken logits: D's loss stays finite.
        self.broken = False
        loss_d = discriminator_step(self, batch, ctx)
        self.broken = ctx.step >= self.break_at
        loss_g = generator_step(self, batch, ctx)
        return {"loss_d": loss_d, "loss_g": loss_g}


def _spec(name: str, build, description: str) -> ModelSpec:
    return ModelSpec(
        name=name,
        build=build,
        task=TaskKind.UNCONDITIONAL,
        data_kinds=("vector", "image"),
        paper="test plugin, no paper",
        description=description,
    )


@ganbench.hookimpl
def ganbench_register_models(register) -> None:
    register(_spec("nan-gan", NaNGAN, "D logits become NaN at step 3"))
    register(_spec("inf-gan", InfGAN, "least-squares loss overflows to inf at step 5"))
