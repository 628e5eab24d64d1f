"""LSGAN: Mao, Li, Xie, Lau, Wang and Smolley 2017, "Least Squares Generative
Adversarial Networks" (ICCV).

D regresses its output onto a target instead of classifying (section 3.2,
eq. 2): D minimises 1/2 E[(D(x) - b)^2] + 1/2 E[(D(G(z)) - a)^2] and G
minimises 1/2 E[(D(G(z)) - c)^2]. The defaults a = 0, b = 1, c = 1 are the
0-1 binary coding of eq. 9, the scheme of the authors' released code;
``a=-1,b=1,c=0`` gives eq. 8, whose b - c = 1 and b - a = 2 make the
objective the Pearson chi-squared divergence (section 3.2.2). The targets
hook of the tricks still applies: label smoothing moves the real target
from b towards a by its share. D's decision threshold, which the attack
metric attacks, is the midpoint (a + b) / 2.

Networks and optimizer: DCGAN's (ganbench.blocks.dcgan, sized from the
image size), Adam 2e-4 with beta1 0.5 for both. Deviation: the paper's
networks are larger, for 112x112 LSUN scenes (section 4.1, Figure 3: G
with 3x3 deconvolutions from a 7x7x256 projection, learning rate 1e-3 for
the scenes); DCGAN's networks keep the comparison with ``dcgan`` on the
loss alone.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

import ganbench
from ganbench.api import (
    AdversarialLoss,
    DataInfo,
    IncompatibleError,
    ModelSpec,
    Param,
    TaskKind,
)
from ganbench.blocks.dcgan import check_image_size
from ganbench_plugins.dcgan import DCGAN


def least_squares_loss(a: float, b: float, c: float) -> AdversarialLoss:
    """The LSGAN loss with targets a (fake), b (real) for D and c for G.

    The targets hook's values t (1 real, 0 fake) are mapped to a + (b - a) t,
    so a trick that moves them moves LSGAN's targets in proportion.
    """

    def d_loss(real: Tensor, fake: Tensor, real_t: Tensor, fake_t: Tensor) -> Tensor:
        return 0.5 * (
            F.mse_loss(real, a + (b - a) * real_t) + F.mse_loss(fake, a + (b - a) * fake_t)
        )

    def g_loss(fake: Tensor) -> Tensor:
        return 0.5 * F.mse_loss(fake, torch.full_like(fake, c))

    return AdversarialLoss(
        name=f"least-squares(a={a:g},b={b:g},c={c:g})",
        d_loss=d_loss,
        g_loss=g_loss,
        uses_targets=True,
        paper="Mao et al. 2017, eq. 2",
        decision_threshold=(a + b) / 2,
    )


class LSGAN(DCGAN):
    """DCGAN's networks, init and optimizers, trained with the least-squares loss."""

    def __init__(self, info: DataInfo, params: Mapping[str, Any]) -> None:
        super().__init__(info)
        a, b, c = (float(params[k]) for k in ("a", "b", "c"))
        if a == b:
            raise IncompatibleError(f"model 'lsgan': a and b must differ, both are {a:g}")
        self.loss = least_squares_loss(a, b, c)


@ganbench.hookimpl
def ganbench_register_models(register: Callable[[ModelSpec], None]) -> None:
    register(
        ModelSpec(
            name="lsgan",
            build=LSGAN,
            task=TaskKind.UNCONDITIONAL,
            data_kinds=("image",),
            paper="Mao et al. 2017, LSGAN, section 3.2 (eq. 2, 8, 9)",
            description="least-squares GAN (targets a=0, b=1, c=1) on DCGAN's networks",
            check=check_image_size,
            params=(
                Param("a", float, 0.0, "D's target for generated samples"),
                Param("b", float, 1.0, "D's target for real samples"),
                Param("c", float, 1.0, "the value G wants D to give its samples"),
            ),
        )
    )
