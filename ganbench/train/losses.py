"""Adversarial losses: the game a model's discriminator and generator play.

A loss is registered like any plugin (``ganbench_register_losses``); the
core registers the five below. Each takes discriminator logits (N,) and,
where it uses them, the targets (N,) the ``targets`` hook produced (1 =
real, 0 = fake; label smoothing and flipping move them). Losses that ignore
targets (Wasserstein, hinge) say so, so that tricks acting only on targets
can refuse them. Each declares D's decision threshold, the raw output value
above which D says "real", or None when its output is an unbounded score
(a Wasserstein critic): the attack metric attacks that decision.
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

    Attributes:
        name: the name models give as ``GANModel.loss`` (lowercase, ``-``).
        d_loss: ``d_loss(real_logits, fake_logits, real_targets, fake_targets)``.
        g_loss: ``g_loss(fake_logits)``.
        uses_targets: whether the targets change ``d_loss``.
        paper: where the loss comes from.
        decision_threshold: D's output above which it says "real", or None.
    """

    name: str
    d_loss: Callable[[Tensor, Tensor, Tensor, Tensor], Tensor]
    g_loss: Callable[[Tensor], Tensor]
    uses_targets: bool
    paper: str
    decision_threshold: float | None = 0.0


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
    # Mao et al. 2017, eq. 9 (the 0-1 coding a = 0, b = c = 1), with the
    # targets hook's real (b) and fake (a) targets.
    return 0.5 * (F.mse_loss(real, real_t) + F.mse_loss(fake, fake_t))


def _least_squares_g(fake: Tensor) -> Tensor:
    return 0.5 * F.mse_loss(fake, torch.ones_like(fake))


def _hinge_d(real: Tensor, fake: Tensor, real_t: Tensor, fake_t: Tensor) -> Tensor:
    return F.relu(1.0 - real).mean() + F.relu(1.0 + fake).mean()


def _hinge_g(fake: Tensor) -> Tensor:
    return -fake.mean()


#: The losses the core registers. The BCE losses read D's output as a logit
#: (D(x) = 1/2 at logit 0); least squares regresses onto 1 (real) and 0
#: (fake), so the midpoint 0.5 separates them; hinge pushes reals above +1
#: and fakes below -1, so 0.
BUILTIN_LOSSES: tuple[AdversarialLoss, ...] = (
    AdversarialLoss("minimax", _bce_d, _minimax_g, True, "Goodfellow et al. 2014, eq. 1", 0.0),
    AdversarialLoss(
        "non-saturating", _bce_d, _non_saturating_g, True, "Goodfellow et al. 2014, sec. 3", 0.0
    ),
    AdversarialLoss(
        "wasserstein", _wasserstein_d, _wasserstein_g, False, "Arjovsky et al. 2017", None
    ),
    AdversarialLoss(
        "least-squares", _least_squares_d, _least_squares_g, True, "Mao et al. 2017, eq. 9", 0.5
    ),
    AdversarialLoss("hinge", _hinge_d, _hinge_g, False, "Lim and Ye 2017; Miyato et al. 2018", 0.0),
)

#: The built-in losses by name: what a model built outside a registry (in a
#: unit test, say) resolves its ``loss`` name against.
LOSSES: dict[str, AdversarialLoss] = {loss.name: loss for loss in BUILTIN_LOSSES}
