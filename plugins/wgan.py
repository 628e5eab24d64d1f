"""WGAN: Arjovsky, Chintala and Bottou 2017, "Wasserstein GAN" (ICML).

The critic estimates the Wasserstein-1 distance (section 3): D outputs an
unbounded score, the losses are ``E[D(fake)] - E[D(real)]`` for the critic
and ``-E[D(fake)]`` for G (the core's ``wasserstein`` loss), and the critic
is kept K-Lipschitz by clipping every weight to [-0.01, 0.01] after each
critic update. Algorithm 1: RMSprop with learning rate 5e-5 for both
networks, 5 critic updates per generator update. The authors' code
(github.com/martinarjovsky/WassersteinGAN, ``main.py``) trains the critic
100 times for the first 25 generator steps and every 500th one, to keep it
near its optimum; the schedule is the model's ``d_steps``, recorded in the
protocol record. The networks are DCGAN's, BatchNorm in both (the paper's
DCGAN experiments, section 4.2; sized here from the image size as the
``dcgan`` plugin is).

Clipping covers every parameter of D, BatchNorm's scale and shift included,
as the authors' code clips ``netD.parameters()``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import torch

import ganbench
from ganbench.api import (
    DataInfo,
    DStepSchedule,
    ModelSpec,
    Param,
    StepContext,
    TaskKind,
)
from ganbench.blocks.dcgan import check_image_size
from ganbench_plugins.dcgan import DCGAN

#: Algorithm 1 and the authors' warm-up (see the module docstring).
CRITIC_SCHEDULE = DStepSchedule(base=5, boosted=100, boost_first=25, boost_every=500)


class WGAN(DCGAN):
    """DCGAN's networks and init, trained as a weight-clipped Wasserstein critic and its G."""

    loss = "wasserstein"
    d_steps = CRITIC_SCHEDULE

    def __init__(self, info: DataInfo, params: Mapping[str, Any]) -> None:
        super().__init__(info)
        self.clip = float(params["clip"])
        self.lr = float(params["lr"])

    def configure_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        """RMSprop(5e-5) for both networks (Algorithm 1)."""
        return {
            "g": torch.optim.RMSprop(self.generator.parameters(), lr=self.lr),
            "d": torch.optim.RMSprop(self.discriminator.parameters(), lr=self.lr),
        }

    def after_d_update(self, ctx: StepContext) -> None:
        """Clip every critic weight to [-clip, clip] (Algorithm 1, line 7)."""
        with torch.no_grad():
            for p in self.discriminator.parameters():
                p.clamp_(-self.clip, self.clip)


@ganbench.hookimpl
def ganbench_register_models(register: Callable[[ModelSpec], None]) -> None:
    register(
        ModelSpec(
            name="wgan",
            build=WGAN,
            task=TaskKind.UNCONDITIONAL,
            data_kinds=("image",),
            paper="Arjovsky et al. 2017, WGAN, Algorithm 1 and section 4; the authors' code",
            description="Wasserstein GAN: clipped critic, RMSprop 5e-5, 5 (warm-up 100) critic steps",
            check=check_image_size,
            params=(
                Param("clip", float, 0.01, "critic weight clipping bound c"),
                Param("lr", float, 5e-5, "RMSprop learning rate of both networks"),
            ),
        )
    )
