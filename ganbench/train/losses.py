"""Adversarial losses of the standard training step.

Each loss takes discriminator logits (N,) and, where the loss uses them, the
targets (N,) produced by the ``targets`` hook (1 = real, 0 = fake; label
smoothing and flipping move them). Losses that ignore targets (Wasserstein,
hinge) are marked so tricks that only act on targets can refuse them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor


@dataclass(frozen=True)
class AdversarialLoss:
    """A pair of discriminator and generator losses.

    ``d_loss(real_logits, fake_logits, real_targets, fake_targets)`` and
    ``g_loss(fake_logits)``; ``uses_targets`` says whether targets matter.
    """

    name: str
    d_loss: Callable[[Tensor, Tensor, Tensor, Tensor], Tensor]
    g_loss: Callable[[Tensor], Tensor]
    uses_targets: bool
    paper: str


def _bce_d(real: Tensor, fake: Tensor, real_t: Tensor, fake_t: Tensor) -> Tensor:
    return F.binary_cross_entropy_with_logits(real, real_t) + F.binary_cross_entropy_with_logits(
        fake, fake_t
    )


def _minimax_g(fake: Tensor) -> Tensor:
    # G minimises log(1 - D(G(z))) = -BCE(logits, 0): the original game value.
    return -F.binary_cross_entropy_with_logits(fake, torch.zeros_like(fake))


def _non_saturating_g(fake: Tensor) -> Tensor:
    # G maximises log D(G(z)): strong gradients early (Goodfellow et al. 2014, sec. 3).
    return F.binary_cross_entropy_with_logits(fake, torch.ones_like(fake))


def _wasserstein_d(real: Tensor, fake: Tensor, real_t: Tensor, fake_t: Tensor) -> Tensor:
    return fake.mean() - real.mean()


def _wasserstein_g(fake: Tensor) -> Tensor:
    return -fake.mean()


def _least_squares_d(real: Tensor, fake: Tensor, real_t: Tensor, fake_t: Tensor) -> Tensor:
    return 0.5 * (F.mse_loss(real, real_t) + F.mse_loss(fake, fake_t))


def _least_squares_g(fake: Tensor) -> Tensor:
    return 0.5 * F.mse_loss(fake, torch.ones_like(fake))


def _hinge_d(real: Tensor, fake: Tensor, real_t: Tensor, fake_t: Tensor) -> Tensor:
    return F.relu(1.0 - real).mean() + F.relu(1.0 + fake).mean()


def _hinge_g(fake: Tensor) -> Tensor:
    return -fake.mean()


LOSSES: dict[str, AdversarialLoss] = {
    loss.name: loss
    for loss in (
        AdversarialLoss("minimax", _bce_d, _minimax_g, True, "Goodfellow et al. 2014, eq. 1"),
        AdversarialLoss(
            "non-saturating", _bce_d, _non_saturating_g, True, "Goodfellow et al. 2014, sec. 3"
        ),
        AdversarialLoss(
            "wasserstein", _wasserstein_d, _wasserstein_g, False, "Arjovsky et al. 2017"
        ),
        AdversarialLoss(
            "least-squares", _least_squares_d, _least_squares_g, True, "Mao et al. 2017"
        ),
        AdversarialLoss("hinge", _hinge_d, _hinge_g, False, "Lim and Ye 2017; Miyato et al. 2018"),
    )
}
