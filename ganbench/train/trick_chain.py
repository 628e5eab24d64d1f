"""Composes the user's tricks into one object with every hook point.

The chain also notes which step hook points a training step reached, so the
core can refuse a model whose own ``train_step`` skips a hook a trick of the
run relies on (the trick would be recorded but do nothing).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING

import torch
from torch import Tensor

from ganbench.trick import STEP_HOOK_POINTS, DBatches, Trick, Validation, Which

if TYPE_CHECKING:
    from ganbench.data.types import Batch
    from ganbench.latent import LatentPrior
    from ganbench.model import GANModel
    from ganbench.train.schedule import DStepSchedule
    from ganbench.train.step import StepContext, StepTensors


class TrickChain:
    """Calls each trick's hook in order; the output of one feeds the next.

    Attributes:
        tricks: the tricks, in the user's order.
        reached: the step hook points called since :meth:`clear_reached`.
    """

    def __init__(self, tricks: Sequence[Trick] | TrickChain = ()) -> None:
        self.tricks = list(tricks)
        self.reached: set[str] = set()

    def __iter__(self) -> Iterator[Trick]:
        return iter(self.tricks)

    def __len__(self) -> int:
        return len(self.tricks)

    def __getitem__(self, index: int) -> Trick:
        return self.tricks[index]

    # -- build ---------------------------------------------------------------
    def transform_model(self, model: GANModel) -> None:
        for trick in self.tricks:
            trick.transform_model(model)

    def latent_prior(self, prior: LatentPrior, model: GANModel) -> LatentPrior:
        for trick in self.tricks:
            prior = trick.latent_prior(prior, model)
        return prior

    # -- set-up --------------------------------------------------------------
    def init_weights(self, model: GANModel) -> None:
        for trick in self.tricks:
            trick.init_weights(model)

    def configure_optimizers(
        self, model: GANModel, optimizers: dict[str, torch.optim.Optimizer]
    ) -> dict[str, torch.optim.Optimizer]:
        for trick in self.tricks:
            optimizers = dict(trick.configure_optimizers(model, dict(optimizers)))
        return optimizers

    def d_steps_schedule(self, schedule: DStepSchedule) -> DStepSchedule:
        for trick in self.tricks:
            schedule = trick.d_steps_schedule(schedule)
        return schedule

    def d_batches(self, mode: DBatches = "separate") -> DBatches:
        for trick in self.tricks:
            mode = trick.d_batches(mode)
        return mode

    def before_training(self, model: GANModel, ctx: StepContext) -> None:
        for trick in self.tricks:
            trick.before_training(model, ctx)

    # -- the step --------------------------------------------------------------
    def train_step(self, model: GANModel, batch: Batch, ctx: StepContext) -> dict[str, Tensor]:
        """The model's ``train_step`` inside every trick's ``train_step``, the first outermost."""

        def from_trick(index: int, batch: Batch, ctx: StepContext) -> dict[str, Tensor]:
            if index == len(self.tricks):
                return model.train_step(batch, ctx)
            return self.tricks[index].train_step(
                model, batch, ctx, lambda b, c: from_trick(index + 1, b, c)
            )

        return from_trick(0, batch, ctx)

    def targets(self, real: Tensor, fake: Tensor, ctx: StepContext) -> tuple[Tensor, Tensor]:
        self.reached.add("targets")
        for trick in self.tricks:
            real, fake = trick.targets(real, fake, ctx)
        return real, fake

    def transform_d_input(self, x: Tensor, which: Which, ctx: StepContext) -> Tensor:
        self.reached.add("transform_d_input")
        for trick in self.tricks:
            x = trick.transform_d_input(x, which, ctx)
        return x

    def transform_d_output(
        self, out: dict[str, Tensor], which: Which, ctx: StepContext
    ) -> dict[str, Tensor]:
        self.reached.add("transform_d_output")
        for trick in self.tricks:
            out = dict(trick.transform_d_output(dict(out), which, ctx))
        return out

    def loss_terms(self, terms: dict[str, Tensor], step: StepTensors) -> dict[str, Tensor]:
        self.reached.add("loss_terms")
        for trick in self.tricks:
            terms = dict(trick.loss_terms(dict(terms), step))
        return terms

    def after_d_step(self, model: GANModel, ctx: StepContext) -> None:
        self.reached.add("after_d_step")
        for trick in self.tricks:
            trick.after_d_step(model, ctx)

    def after_g_step(self, model: GANModel, ctx: StepContext) -> None:
        self.reached.add("after_g_step")
        for trick in self.tricks:
            trick.after_g_step(model, ctx)

    def end_of_step(self, model: GANModel, ctx: StepContext) -> None:
        for trick in self.tricks:
            trick.end_of_step(model, ctx)

    def after_validation(self, validation: Validation, ctx: StepContext) -> None:
        for trick in self.tricks:
            trick.after_validation(validation, ctx)

    def clear_reached(self) -> None:
        """Forget which step hook points were reached."""
        self.reached = set()

    def unreached(self) -> list[tuple[Trick, str]]:
        """(trick, hook point) pairs the tricks use that no step since the last clear reached."""
        return [
            (trick, point)
            for trick in self.tricks
            for point in trick_step_hooks(trick)
            if point not in self.reached
        ]

    # -- evaluation --------------------------------------------------------------
    def evaluation_weights(self, model: GANModel) -> dict[str, Tensor]:
        weights: dict[str, Tensor] = {}
        for trick in self.tricks:
            weights.update(trick.evaluation_weights(model))
        return weights

    @contextmanager
    def evaluated(self, model: GANModel) -> Iterator[None]:
        """The block sees the weights evaluation uses (EMA); the live ones come back after."""
        with swapped_weights(model, self.evaluation_weights(model)):
            yield


def trick_step_hooks(trick: Trick) -> tuple[str, ...]:
    """The step hook points ``trick`` declares."""
    return tuple(p for p in getattr(trick, "hook_points", ()) if p in STEP_HOOK_POINTS)


@contextmanager
def swapped_weights(model: torch.nn.Module, weights: Mapping[str, Tensor]) -> Iterator[None]:
    """Copy ``weights`` into ``model``'s tensors of those names for the block, then restore."""
    if not weights:
        yield
        return
    state = model.state_dict()
    live = {name: state[name].detach().clone() for name in weights if name in state}
    copy_weights(model, weights)
    try:
        yield
    finally:
        copy_weights(model, live)


def copy_weights(model: torch.nn.Module, weights: Mapping[str, Tensor]) -> None:
    """Copy ``weights`` into ``model``'s tensors of those ``state_dict`` names, in place."""
    state = model.state_dict()
    unknown = sorted(set(weights) - set(state))
    if unknown:
        raise KeyError(f"evaluation weights name tensors the model lacks: {', '.join(unknown[:3])}")
    with torch.no_grad():
        for name, value in weights.items():
            state[name].copy_(value)
