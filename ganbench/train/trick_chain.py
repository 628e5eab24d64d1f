"""Composes the user's tricks into one object with every hook point."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import torch
from torch import Tensor

from ganbench.trick import Net, Trick, Which

if TYPE_CHECKING:
    from ganbench.model import GANModel
    from ganbench.train.context import StepContext


class TrickChain:
    """Calls each trick's hook in order; the output of one feeds the next."""

    def __init__(self, tricks: Sequence[Trick] = ()) -> None:
        self.tricks = list(tricks)

    def init_weights(self, model: GANModel) -> None:
        for trick in self.tricks:
            trick.init_weights(model)

    def configure_optimizers(
        self, model: GANModel, opt_g: torch.optim.Optimizer, opt_d: torch.optim.Optimizer
    ) -> tuple[torch.optim.Optimizer, torch.optim.Optimizer]:
        for trick in self.tricks:
            opt_g, opt_d = trick.configure_optimizers(model, opt_g, opt_d)
        return opt_g, opt_d

    def d_steps_per_g_step(self, n: int) -> int:
        for trick in self.tricks:
            n = int(trick.d_steps_per_g_step(n))
        if n < 1:
            raise ValueError(f"D steps per G step must be at least 1, tricks made it {n}")
        return n

    def sample_latent(self, z: Tensor | None, ctx: StepContext) -> Tensor | None:
        if z is None:
            return None
        for trick in self.tricks:
            z = trick.sample_latent(z, ctx)
        return z

    def targets(self, real: Tensor, fake: Tensor, ctx: StepContext) -> tuple[Tensor, Tensor]:
        for trick in self.tricks:
            real, fake = trick.targets(real, fake, ctx)
        return real, fake

    def transform_d_input(self, x: Tensor, which: Which, ctx: StepContext) -> Tensor:
        for trick in self.tricks:
            x = trick.transform_d_input(x, which, ctx)
        return x

    def transform_loss(self, loss: Tensor, net: Net, ctx: StepContext) -> Tensor:
        for trick in self.tricks:
            loss = trick.transform_loss(loss, net, ctx)
        return loss

    def after_d_step(self, model: GANModel, ctx: StepContext) -> None:
        for trick in self.tricks:
            trick.after_d_step(model, ctx)

    def after_g_step(self, model: GANModel, ctx: StepContext) -> None:
        for trick in self.tricks:
            trick.after_g_step(model, ctx)

    def end_of_step(self, model: GANModel, ctx: StepContext) -> None:
        for trick in self.tricks:
            trick.end_of_step(model, ctx)
