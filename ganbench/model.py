"""The model interface every architecture plugin implements."""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch
from torch import Tensor, nn

from ganbench.tasks import TaskKind

if TYPE_CHECKING:
    from ganbench.data.types import Batch
    from ganbench.train.context import StepContext


class GANModel(nn.Module):
    """A generator and a discriminator, and how they train.

    Subclasses set ``generator`` and ``discriminator`` (any modules) and
    implement :meth:`generate` and :meth:`discriminate`. Most models use the
    standard training step: they only choose ``loss`` (one of
    :data:`ganbench.train.losses.LOSSES`) and supply their paper's optimizers in
    :meth:`configure_optimizers`. A model with an unusual update (cycle
    losses, mismatched-text negatives, pyramid levels) overrides
    :meth:`train_step` and still calls the trick hook points on ``ctx.hooks``.

    Class attributes:
        task: the task kind served.
        latent_dim: width of z, or 0 when the generator takes no noise
            (super-resolution, translation).
        loss: adversarial loss name for the standard step.
        d_steps_per_g_step: the paper's discriminator steps per generator step.
    """

    task: TaskKind = TaskKind.UNCONDITIONAL
    latent_dim: int = 100
    loss: str = "non-saturating"
    d_steps_per_g_step: int = 1

    generator: nn.Module
    discriminator: nn.Module

    def sample_latent(
        self, n: int, device: torch.device | str, generator: torch.Generator | None = None
    ) -> Tensor | None:
        """Draw ``n`` latent vectors (N x latent_dim, standard normal), or None."""
        if self.latent_dim <= 0:
            return None
        return torch.randn(n, self.latent_dim, device=device, generator=generator)

    def generate(self, z: Tensor | None, cond: Batch) -> Tensor:
        """Samples shaped like the dataset's ``x``, from ``z`` and the conditioning.

        ``cond`` carries the fields of the task (``y``, ``text``, ``source``);
        its ``x`` must not be read. Images come out in [-1, 1].
        """
        raise NotImplementedError

    def discriminate(self, x: Tensor, cond: Batch) -> Tensor:
        """Discriminator logits (N,) for samples ``x`` under the conditioning."""
        raise NotImplementedError

    def configure_optimizers(self) -> tuple[torch.optim.Optimizer, torch.optim.Optimizer]:
        """(generator optimizer, discriminator optimizer) with the paper's settings."""
        raise NotImplementedError

    def adam_optimizers(
        self, lr: float = 2e-4, betas: tuple[float, float] = (0.5, 0.999)
    ) -> tuple[torch.optim.Optimizer, torch.optim.Optimizer]:
        """Adam for G and for D with one setting (DCGAN's defaults unless told).

        A convenience for :meth:`configure_optimizers`, which most papers of the
        GAN literature since DCGAN fill with the same pair.
        """
        return (
            torch.optim.Adam(self.generator.parameters(), lr=lr, betas=betas),
            torch.optim.Adam(self.discriminator.parameters(), lr=lr, betas=betas),
        )

    def init_weights(self) -> None:
        """Initialise weights as the paper says (default: PyTorch's own)."""

    def train_step(self, batch: Batch, ctx: StepContext) -> dict[str, Tensor]:
        """One generator step (and its discriminator steps); returns named losses."""
        from ganbench.train.step import standard_train_step

        return standard_train_step(self, batch, ctx)


class UnconditionalGAN(GANModel):
    """A :class:`GANModel` whose generator maps z to x and whose D sees x alone.

    Unconditional architectures (GAN, DCGAN, WGAN...) only set ``generator``,
    ``discriminator`` and :meth:`configure_optimizers`.
    """

    task = TaskKind.UNCONDITIONAL

    def generate(self, z: Tensor | None, cond: Batch) -> Tensor:
        """``generator(z)``: the conditioning is ignored."""
        return self.generator(z)

    def discriminate(self, x: Tensor, cond: Batch) -> Tensor:
        """``discriminator(x)``: logits (N,)."""
        return self.discriminator(x)
