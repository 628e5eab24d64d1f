"""Fixed models: a task's baselines, methods with nothing to learn.

Bicubic upsampling is the floor a super-resolution network must beat, and
the identity map the floor of a translation model. They are rows of the same
leaderboards as the trained models, so they are models too, but without
weights, optimizers or a discriminator. Their spec says ``trains=False``:
runs take no steps and no tricks, and the row is a ``baseline``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import torch
from torch import Tensor

from ganbench.errors import GanbenchError
from ganbench.model import GANModel

if TYPE_CHECKING:
    from ganbench.data.types import Batch
    from ganbench.train.step import StepContext


class FixedModel(GANModel):
    """A :class:`GANModel` that maps its input by a fixed rule and never trains.

    Subclasses set :attr:`task` and implement :meth:`generate` (from
    ``cond.source`` for super-resolution and translation). There is no
    discriminator, so metrics of the discriminator do not apply, and no
    optimizers. Register it with ``ModelSpec(..., trains=False)``.
    """

    latent_dim = 0
    d_optimizers: tuple[str, ...] = ()
    g_optimizers: tuple[str, ...] = ()
    #: No discriminator: metrics that need one say they do not apply.
    discriminator = None  # type: ignore[assignment]

    def discriminate(self, x: Tensor, cond: Batch) -> Tensor:
        """Refused: a fixed model has no discriminator."""
        raise GanbenchError(f"{type(self).__name__} is a fixed baseline and has no discriminator")

    def configure_optimizers(self) -> Mapping[str, torch.optim.Optimizer]:
        """None: nothing to learn."""
        return {}

    def train_step(self, batch: Batch, ctx: StepContext) -> dict[str, Tensor]:
        """Refused: the run preparation gives a fixed model no steps."""
        raise GanbenchError(f"{type(self).__name__} is a fixed baseline and does not train")
