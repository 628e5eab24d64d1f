"""Test plugin for ``ganbench sweep``: ``failing-gan`` raises during training.

Its trial step (``ctx.step == 0``, the check every run makes before it
writes anything) passes, so the run is accepted and starts; from generator
step 1 on, its train step raises. Each raise appends a line to the file
named by ``$SWEEP_TEST_FAILURES``, so a test can count the attempts from
outside the driver.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from typing import Any

import torch
from torch import Tensor, nn

import ganbench
from ganbench.api import Batch, DataInfo, GANModel, ModelSpec, StepContext, TaskKind


class FailingGAN(GANModel):
    """A small MLP GAN whose training breaks at step 1."""

    latent_dim = 2
    loss = "non-saturating"

    def __init__(self, info: DataInfo, params: Mapping[str, Any] | None = None) -> None:
        super().__init__()
        self.shape = tuple(info.shape)
        size = math.prod(self.shape)
        self.generator = nn.Sequential(nn.Linear(self.latent_dim, 8), nn.ReLU(), nn.Linear(8, size))
        self.discriminator = nn.Sequential(nn.Linear(size, 8), nn.ReLU(), nn.Linear(8, 1))

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
        if ctx.step >= 1:
            log = os.environ.get("SWEEP_TEST_FAILURES")
            if log:
                with open(log, "a") as f:
                    f.write("failed\n")
            raise RuntimeError("boom: failing-gan breaks at step 1")
        return super().train_step(batch, ctx)


@ganbench.hookimpl
def ganbench_register_models(register) -> None:
    register(
        ModelSpec(
            name="failing-gan",
            build=FailingGAN,
            task=TaskKind.UNCONDITIONAL,
            data_kinds=("vector",),
            paper="test plugin, no paper",
            description="raises in training from step 1 on",
        )
    )
