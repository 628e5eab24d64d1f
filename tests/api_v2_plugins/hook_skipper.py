"""Test-only: a model whose own train_step steps the optimizers by hand, skipping every hook.

API 1 let such a model pass every model check while a trick on it was
recorded and did nothing; API 2 refuses it in the kit and at run time.
"""

from __future__ import annotations

import math

import torch.nn.functional as F
from torch import nn

import ganbench
from ganbench.api import ModelSpec, TaskKind, UnconditionalGAN

GANBENCH_API_VERSION = 2


class HookSkipper(UnconditionalGAN):
    latent_dim = 4

    def __init__(self, info) -> None:
        super().__init__()
        size = math.prod(info.shape)
        self.generator = nn.Sequential(
            nn.Linear(4, size), nn.Tanh(), nn.Unflatten(1, tuple(info.shape))
        )
        self.discriminator = nn.Sequential(nn.Flatten(), nn.Linear(size, 1), nn.Flatten(0))

    def configure_optimizers(self):
        return self.adam_optimizers(lr=1e-3)

    def train_step(self, batch, ctx):
        fake = self.generate(self.sample_latent(len(batch), ctx.device), batch)
        real_logits, fake_logits = (
            self.discriminate(batch.x, batch),
            self.discriminate(fake.detach(), batch),
        )
        loss_d = F.softplus(-real_logits).mean() + F.softplus(fake_logits).mean()
        ctx.opt_d.zero_grad()
        loss_d.backward()
        ctx.opt_d.step()
        loss_g = F.softplus(-self.discriminate(fake, batch)).mean()
        ctx.opt_g.zero_grad()
        loss_g.backward()
        ctx.opt_g.step()
        return {"loss_d": loss_d.detach(), "loss_g": loss_g.detach()}


@ganbench.hookimpl
def ganbench_register_models(register):
    register(
        ModelSpec(
            name="hook-skipper",
            build=HookSkipper,
            task=TaskKind.UNCONDITIONAL,
            data_kinds=("image", "vector"),
            paper="a test double",
        )
    )
