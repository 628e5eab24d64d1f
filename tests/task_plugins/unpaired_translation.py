"""Tiny CycleGAN: Zhu et al. 2017, "Unpaired Image-to-Image Translation using
Cycle-Consistent Adversarial Networks" (ICCV 2017).

Test-only: a few-layer imitation of the paper's model, to prove the model
interface serves the unpaired-translation task kind (two generators, two
discriminators, no latent).

* Section 4 / appendix 7.2, generators G_AB and G_BA (Johnson et al.'s
  network): c7s1-64, d128, d256, residual blocks, u128, u64, c7s1-3 with
  instance norm. Here: c3s1-16, d32, one residual block, u16, c3s1-C, tanh.
* Appendix 7.2, discriminators D_B and D_A: a 70 x 70 PatchGAN (C64-C128-
  C256-C512). Here: C16-C32 with stride 2 and a 3 x 3 convolution to one
  logit per patch; the patch logits are averaged into the one logit per image
  that ``GANModel.discriminate`` returns.
* Section 3.3 / 4: full objective = least-squares adversarial losses for both
  directions + lambda (10) x the L1 cycle-consistency losses
  ``|G_BA(G_AB(a)) - a| + |G_AB(G_BA(b)) - b|``; D's objective halved (the
  least-squares D loss already carries the 1/2). Adam, learning rate 2e-4,
  beta1 0.5. Left out for brevity: the identity loss and the 50-image history
  buffer of generated images.

``x`` is domain B and ``source`` domain A: :meth:`TinyCycleGAN.generate` is
G_AB, :meth:`TinyCycleGAN.discriminate` is D_B, so the standard evaluation
scores translated images against real domain-B images.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor, nn

import ganbench
from ganbench.api import (
    LOSSES,
    Batch,
    DataInfo,
    GANModel,
    ModelSpec,
    StepContext,
    TaskKind,
    alternating_updates,
)

WIDTH = 16
#: Weight of the cycle-consistency loss (section 4, lambda = 10).
CYCLE_WEIGHT = 10.0


def check_fits(info: DataInfo) -> str | None:
    """Why this model cannot be sized for ``info``, or None."""
    if info.source_shape != info.shape:
        return f"CycleGAN needs both domains the same shape, got x {info.shape} and source {info.source_shape}"
    if info.kind != "image" or info.shape[-1] % 4 or info.shape[1] != info.shape[2]:
        return f"CycleGAN needs square images with a size divisible by 4, got {info.shape}"
    return None


class TranslationResidualBlock(nn.Module):
    """conv-IN-ReLU-conv-IN with an identity skip (Johnson et al. 2016)."""

    def __init__(self, width: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(width, width, 3, padding=1),
            nn.InstanceNorm2d(width),
            nn.ReLU(),
            nn.Conv2d(width, width, 3, padding=1),
            nn.InstanceNorm2d(width),
        )

    def forward(self, x: Tensor) -> Tensor:
        return x + self.body(x)


class TranslationGenerator(nn.Module):
    """images of one domain (N x C x S x S) -> images of the other, in [-1, 1]."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(channels, WIDTH, 3, padding=1),
            nn.InstanceNorm2d(WIDTH),
            nn.ReLU(),
            nn.Conv2d(WIDTH, WIDTH * 2, 3, stride=2, padding=1),
            nn.InstanceNorm2d(WIDTH * 2),
            nn.ReLU(),
            TranslationResidualBlock(WIDTH * 2),
            nn.ConvTranspose2d(WIDTH * 2, WIDTH, 4, stride=2, padding=1),
            nn.InstanceNorm2d(WIDTH),
            nn.ReLU(),
            nn.Conv2d(WIDTH, channels, 3, padding=1),
            nn.Tanh(),
        )

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x)


class PatchDiscriminator(nn.Module):
    """images (N x C x S x S) -> logits (N,): the mean of (S/4)^2 patch logits."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(channels, WIDTH, 4, stride=2, padding=1),
            nn.LeakyReLU(0.2),
            nn.Conv2d(WIDTH, WIDTH * 2, 4, stride=2, padding=1),
            nn.InstanceNorm2d(WIDTH * 2),
            nn.LeakyReLU(0.2),
            nn.Conv2d(WIDTH * 2, 1, 3, padding=1),
        )

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x).mean(dim=(1, 2, 3))


class TinyCycleGAN(GANModel):
    """Two translators and two patch discriminators trained with cycle consistency."""

    task = TaskKind.UNPAIRED_TRANSLATION
    latent_dim = 0  # translation is deterministic given the input image
    loss = "least-squares"

    def __init__(self, info: DataInfo) -> None:
        super().__init__()
        channels = info.shape[0]
        # Containers, so that parameters(), state_dict() and the runner's
        # checkpoints see both networks of each role.
        self.generator = nn.ModuleDict(
            {"a_to_b": TranslationGenerator(channels), "b_to_a": TranslationGenerator(channels)}
        )
        self.discriminator = nn.ModuleDict(
            {"b": PatchDiscriminator(channels), "a": PatchDiscriminator(channels)}
        )

    @staticmethod
    def _domain_a(cond: Batch) -> Tensor:
        assert cond.source is not None, "CycleGAN needs domain-A images (source) in the batch"
        return cond.source

    def generate(self, z: Tensor | None, cond: Batch) -> Tensor:
        return self.generator["a_to_b"](self._domain_a(cond))

    def discriminate(self, x: Tensor, cond: Batch) -> Tensor:
        return self.discriminator["b"](x)

    def configure_optimizers(self) -> tuple[torch.optim.Optimizer, torch.optim.Optimizer]:
        return self.adam_optimizers()

    def d_step(self, batch: Batch, ctx: StepContext) -> Tensor:
        """One update of D_B and D_A together; returns the (detached) D loss.

        Hook points: ``sample_latent`` (a no-op without z), then
        ``transform_d_input`` for real and fake of domain B, then of domain A,
        ``targets`` (shared by both discriminators), ``transform_loss`` ("d"),
        ``after_d_step``.
        """
        hooks = ctx.hooks
        loss_fn = LOSSES[self.loss]
        a, b = self._domain_a(batch), batch.x
        hooks.sample_latent(self.sample_latent(len(batch), ctx.device), ctx)
        with torch.no_grad():
            fake_b = self.generator["a_to_b"](a)
            fake_a = self.generator["b_to_a"](b)
        real_b_in = hooks.transform_d_input(b, "real", ctx)
        fake_b_in = hooks.transform_d_input(fake_b, "fake", ctx)
        real_a_in = hooks.transform_d_input(a, "real", ctx)
        fake_a_in = hooks.transform_d_input(fake_a, "fake", ctx)
        d_b, d_a = self.discriminator["b"], self.discriminator["a"]
        real_b, fake_b_logits = d_b(real_b_in), d_b(fake_b_in)
        real_a, fake_a_logits = d_a(real_a_in), d_a(fake_a_in)
        real_t, fake_t = hooks.targets(
            torch.ones_like(real_b), torch.zeros_like(fake_b_logits), ctx
        )
        loss_d = loss_fn.d_loss(real_b, fake_b_logits, real_t, fake_t) + loss_fn.d_loss(
            real_a, fake_a_logits, real_t, fake_t
        )
        loss_d = hooks.transform_loss(loss_d, "d", ctx)
        ctx.opt_d.zero_grad(set_to_none=True)
        loss_d.backward()
        ctx.opt_d.step()
        hooks.after_d_step(self, ctx)
        return loss_d.detach()

    def g_step(self, batch: Batch, ctx: StepContext) -> tuple[Tensor, Tensor]:
        """One update of both generators; returns (total loss, cycle loss), detached.

        Hook points: ``sample_latent``, ``transform_d_input`` ("fake") for each
        direction, ``transform_loss`` ("g"), ``after_g_step``.
        """
        hooks = ctx.hooks
        loss_fn = LOSSES[self.loss]
        a, b = self._domain_a(batch), batch.x
        hooks.sample_latent(self.sample_latent(len(batch), ctx.device), ctx)
        g_ab, g_ba = self.generator["a_to_b"], self.generator["b_to_a"]
        fake_b, fake_a = g_ab(a), g_ba(b)
        adversarial = loss_fn.g_loss(
            self.discriminator["b"](hooks.transform_d_input(fake_b, "fake", ctx))
        ) + loss_fn.g_loss(self.discriminator["a"](hooks.transform_d_input(fake_a, "fake", ctx)))
        # Cycle consistency (eq. 2) is what makes unpaired training well posed.
        cycle = F.l1_loss(g_ba(fake_b), a) + F.l1_loss(g_ab(fake_a), b)
        loss_g = hooks.transform_loss(adversarial + CYCLE_WEIGHT * cycle, "g", ctx)
        ctx.opt_g.zero_grad(set_to_none=True)
        loss_g.backward()
        ctx.opt_g.step()
        hooks.after_g_step(self, ctx)
        return loss_g.detach(), cycle.detach()

    def train_step(self, batch: Batch, ctx: StepContext) -> dict[str, Tensor]:
        """``ctx.d_steps`` updates of both discriminators, then of both generators."""
        loss_d, (loss_g, cycle) = alternating_updates(batch, ctx, self.d_step, self.g_step)
        return {"loss_d": loss_d, "loss_g": loss_g, "loss_cycle": cycle}


@ganbench.hookimpl
def ganbench_register_models(register: Callable[[ModelSpec], None]) -> None:
    """Register ``tiny-cyclegan``."""
    register(
        ModelSpec(
            name="tiny-cyclegan",
            build=TinyCycleGAN,
            task=TaskKind.UNPAIRED_TRANSLATION,
            data_kinds=("image",),
            paper="Zhu et al. 2017, CycleGAN, sections 3-4 and appendix 7.2, "
            "scaled down (test-only)",
            description="test-only tiny CycleGAN: two translators, two PatchGAN Ds, cycle loss",
            check=check_fits,
        )
    )
