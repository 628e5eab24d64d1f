"""The trick interface: named hook points of the train protocol.

A trick changes training, not architecture. It overrides the hook points it
needs; each default leaves training unchanged. The train loop calls every
trick's hook in the order the user listed the tricks (``--trick a --trick b``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

import torch
from torch import Tensor

if TYPE_CHECKING:
    from ganbench.model import GANModel
    from ganbench.train.context import StepContext

#: Every hook point, in the order the train protocol reaches it.
HOOK_POINTS: tuple[str, ...] = (
    "init_weights",  # once, after the model's own init, before optimizers
    "configure_optimizers",  # once: may wrap or replace (opt_g, opt_d)
    "d_steps_per_g_step",  # once: may change the number of D steps per G step
    "sample_latent",  # every latent draw, D and G steps alike
    "targets",  # D's real/fake targets (label smoothing, flipping)
    "transform_d_input",  # every D input, real and fake (instance noise)
    "transform_loss",  # D loss and G loss before backward
    "after_d_step",  # after each D optimizer step (weight clipping)
    "after_g_step",  # after each G optimizer step
    "end_of_step",  # after the whole G step (EMA, early stopping)
)

Which = Literal["real", "fake"]
Net = Literal["d", "g"]


class Trick:
    """Base class of tricks: every hook is a no-op until overridden.

    Subclasses list the hooks they override in ``hook_points`` (checked on
    registration against the methods really overridden) and keep any state
    that must survive a resume in :meth:`state_dict`.
    """

    name: str = "trick"
    hook_points: tuple[str, ...] = ()

    def init_weights(self, model: GANModel) -> None:
        """Change the freshly initialised weights."""

    def configure_optimizers(
        self, model: GANModel, opt_g: torch.optim.Optimizer, opt_d: torch.optim.Optimizer
    ) -> tuple[torch.optim.Optimizer, torch.optim.Optimizer]:
        """Return the (generator, discriminator) optimizers to train with."""
        return opt_g, opt_d

    def d_steps_per_g_step(self, n: int) -> int:
        """Return the number of D steps per G step, given the current one."""
        return n

    def sample_latent(self, z: Tensor, ctx: StepContext) -> Tensor:
        """Return the latent batch to use instead of ``z`` (N x latent_dim)."""
        return z

    def targets(self, real: Tensor, fake: Tensor, ctx: StepContext) -> tuple[Tensor, Tensor]:
        """Return D's targets for real and fake samples (each (N,), 1=real)."""
        return real, fake

    def transform_d_input(self, x: Tensor, which: Which, ctx: StepContext) -> Tensor:
        """Return what D sees instead of ``x`` (real or fake samples)."""
        return x

    def transform_loss(self, loss: Tensor, net: Net, ctx: StepContext) -> Tensor:
        """Return the loss to back-propagate for the discriminator or generator."""
        return loss

    def after_d_step(self, model: GANModel, ctx: StepContext) -> None:
        """Act after each discriminator optimizer step."""

    def after_g_step(self, model: GANModel, ctx: StepContext) -> None:
        """Act after each generator optimizer step."""

    def end_of_step(self, model: GANModel, ctx: StepContext) -> None:
        """Act at the end of a generator step; may set ``ctx.stop_requested``."""

    def state_dict(self) -> dict[str, Any]:
        """State to checkpoint (tensors, numbers, strings, lists, dicts)."""
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned."""


def overridden_hook_points(trick: Trick) -> tuple[str, ...]:
    """The hook points whose methods ``trick``'s class really overrides."""
    return tuple(
        name for name in HOOK_POINTS if getattr(type(trick), name) is not getattr(Trick, name)
    )
