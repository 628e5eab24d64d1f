"""Test plugin: models whose losses stop being finite at a known step.

* ``nan-gan``: from generator step 3 on, the discriminator's logits are NaN,
  so the standard step's D loss is NaN at step 3.
* ``inf-gan``: from generator step 5 on, the discriminator's logits in the
  generator's loss are scaled by 1e30; the least-squares loss squares them
  and overflows float32, so G's loss is +inf (infinite, not NaN) while D's
  loss stays finite.

Both train with the core's standard D and G updates, so divergence is
detected by the real train loop on real losses, not faked in a returned dict.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import torch
from torch import Tensor, nn

import ganbench
from ganbench.api import (
    Batch,
    DataInfo,
    GANModel,
    ModelSpec,
    StepContext,
    StepTensors,
    TaskKind,
)


class BrokenAtStep(GANModel):
    """A small MLP GAN that breaks from generator step ``break_at`` on."""

    latent_dim = 8
    break_at = 3

    def __init__(self, info: DataInfo, params: Mapping[str, Any] | None = None) -> None:
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

    def discriminate(self, x: Tensor, cond: Batch) -> Tensor:
        return self.discriminator(x.flatten(1)).squeeze(1)

    def configure_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        return {
            "g": torch.optim.Adam(self.generator.parameters(), lr=1e-3),
            "d": torch.optim.Adam(self.discriminator.parameters(), lr=1e-3),
        }

    def train_step(self, batch: Batch, ctx: StepContext) -> dict[str, Tensor]:
        """The standard step, noting first whether this step is a broken one."""
        self.broken = ctx.step >= self.break_at
        return super().train_step(batch, ctx)


class NaNGAN(BrokenAtStep):
    loss = "non-saturating"
    break_at = 3

    def discriminate(self, x: Tensor, cond: Batch) -> Tensor:
        logits = super().discriminate(x, cond)
        return logits + float("nan") if self.broken else logits


class InfGAN(BrokenAtStep):
    loss = "least-squares"
    break_at = 5

    def g_loss_terms(self, step: StepTensors) -> dict[str, Tensor]:
        # Only the generator's loss sees the broken logits: D's loss stays finite.
        logits = step.fake_logits * 1e30 if self.broken else step.fake_logits
        return {"adversarial": self.adversarial_loss.g_loss(logits)}  # squared: +inf


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
