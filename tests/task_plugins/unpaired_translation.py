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
  directions + lambda (10, parameter ``cycle``) x the L1 cycle-consistency
  losses ``|G_BA(G_AB(a)) - a| + |G_AB(G_BA(b)) - b|``, + optionally the
  identity loss of section 5.2 ``|G_AB(b) - b| + |G_BA(a) - a|`` (parameter
  ``identity``; the authors' code weights it 0.5 x lambda = 5; off by
  default here, as it fights a translation that inverts colours). D's objective
  is halved (the least-squares D loss already carries the 1/2). Adam,
  learning rate 2e-4, beta1 0.5, one optimizer for both generators and one
  for both discriminators (as the authors' code). Left out for brevity: the
  50-image history buffer of generated images.

``x`` is domain B and ``source`` domain A: :meth:`TinyCycleGAN.generate` is
G_AB, :meth:`TinyCycleGAN.discriminate` is D_B, so the core's standard update
trains the (G_AB, D_B) pair with every trick hook point at its place, and the
standard evaluation scores translated images against real domain-B images.
The (G_BA, D_A) pair and the cycle and identity terms are extra loss terms
(:meth:`TinyCycleGAN.d_loss_terms`, :meth:`TinyCycleGAN.g_loss_terms`); D_A's
inputs go through ``transform_d_input`` too and take the same ``targets``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

import ganbench
from ganbench.api import Batch, DataInfo, GANModel, ModelSpec, Param, StepTensors, TaskKind

WIDTH = 16
PARAMS = (
    Param("cycle", float, 10.0, "weight lambda of the cycle-consistency loss (section 4)"),
    Param("identity", float, 0.0, "weight of the identity loss (section 5.2; authors' code 5)"),
)


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

    def __init__(self, info: DataInfo, params: Mapping[str, Any] | None = None) -> None:
        super().__init__()
        values = {p.name: p.default for p in PARAMS} | dict(params or {})
        self.cycle_weight, self.identity_weight = float(values["cycle"]), float(values["identity"])
        channels = info.shape[0]
        # Containers, so that parameters(), state_dict(), the optimizers and the
        # tricks acting on G or D (EMA, spectral norm) see both networks of each role.
        self.generator = nn.ModuleDict(
            {"a_to_b": TranslationGenerator(channels), "b_to_a": TranslationGenerator(channels)}
        )
        self.discriminator = nn.ModuleDict(
            {"b": PatchDiscriminator(channels), "a": PatchDiscriminator(channels)}
        )

    @staticmethod
    def _domains(cond: Batch) -> tuple[Tensor, Tensor]:
        assert cond.source is not None, "CycleGAN needs domain-A images (source) in the batch"
        return cond.source, cond.x

    def generate(self, z: Tensor | None, cond: Batch) -> Tensor:
        return self.generator["a_to_b"](self._domains(cond)[0])

    def discriminate(self, x: Tensor, cond: Batch) -> Tensor:
        return self.discriminator["b"](x)

    def configure_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        return self.adam_optimizers()

    def _judge_a(self, x: Tensor, which: str, step: StepTensors) -> Tensor:
        """D_A's logits on domain-A images, after ``transform_d_input`` as D_B's inputs."""
        return self.discriminator["a"](step.ctx.hooks.transform_d_input(x, which, step.ctx))

    def d_loss_terms(self, step: StepTensors) -> dict[str, Tensor]:
        """D_B's loss (the core's pair) and D_A's, on the same targets."""
        loss, (a, b) = self.adversarial_loss, self._domains(step.batch)
        with torch.no_grad():
            fake_a = self.generator["b_to_a"](b)
        real_a, fake_a = self._judge_a(a, "real", step), self._judge_a(fake_a, "fake", step)
        targets = (step.real_targets, step.fake_targets)
        return {
            "adversarial": loss.d_loss(step.real_logits, step.fake_logits, *targets),
            "adversarial_a": loss.d_loss(real_a, fake_a, *targets),
        }

    def g_loss_terms(self, step: StepTensors) -> dict[str, Tensor]:
        """Both directions' adversarial losses, cycle consistency (eq. 2), identity."""
        loss, (a, b) = self.adversarial_loss, self._domains(step.batch)
        g_ab, g_ba = self.generator["a_to_b"], self.generator["b_to_a"]
        fake_b, fake_a = step.fake, g_ba(b)  # step.fake is G_AB(a), with gradients
        terms = {
            "adversarial": loss.g_loss(step.fake_logits),
            "adversarial_a": loss.g_loss(self._judge_a(fake_a, "fake", step)),
            # Cycle consistency is what makes unpaired training well posed.
            "cycle": self.cycle_weight * (F.l1_loss(g_ba(fake_b), a) + F.l1_loss(g_ab(fake_a), b)),
        }
        if self.identity_weight:
            terms["identity"] = self.identity_weight * (
                F.l1_loss(g_ab(b), b) + F.l1_loss(g_ba(a), a)
            )
        return terms


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
            params=PARAMS,
        )
    )
