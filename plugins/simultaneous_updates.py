"""Simultaneous updates: G and D take their gradient steps from the same point.

The standard step alternates: D is updated while G is held fixed, then G
is updated against the D that has just moved (Goodfellow et al. 2014,
Algorithm 1; the articles' "hold one constant while training the other").
This trick is the counterpart: in each step both gradients are taken at
the same parameters, before either network moves, and then both optimizers
step. That is simultaneous gradient descent, whose failure to converge on
some games is what Mescheder et al. 2017 ("The Numerics of GANs", section
3) and Gidel et al. 2019 analyse; the trick lets the benchmark measure it.

What one step does here: D's tensors (on the step's real batch) and G's
tensors (the same batch's conditioning, a fresh z) are both computed with
the current weights, every step hook point is called in its place, and the
D terms' gradient (D's parameters only) and the G terms' gradient (G's
parameters only: what the G loss leaves on D is discarded) are both taken
before any optimizer steps. Extra D steps of the schedule (``d-steps``,
WGAN's critic loop) are taken first as ordinary D updates, so the last D
update of the step is the simultaneous one. Models with their own
``train_step`` (unrolled) decide their update order themselves and are
refused.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from torch import Tensor

import ganbench
from ganbench.api import (
    Batch,
    GANModel,
    StepContext,
    StepFunction,
    Trick,
    TrickSpec,
    discriminator_tensors,
    discriminator_update,
    generator_tensors,
    logged_losses,
    summed_terms,
)

NAME = "simultaneous-updates"


class SimultaneousUpdates(Trick):
    """Replaces each step by one in which G and D step from the same weights."""

    name = NAME
    hook_points = ("train_step",)

    def __init__(self, params: Mapping[str, Any]) -> None:
        del params  # no parameters

    def train_step(
        self, model: GANModel, batch: Batch, ctx: StepContext, step: StepFunction
    ) -> dict[str, Tensor]:
        del step  # replaced, not wrapped
        for _ in range(ctx.d_steps - 1):
            discriminator_update(model, ctx.next_batch(), ctx)
        d_tensors = discriminator_tensors(model, batch, ctx)
        d_terms = ctx.hooks.loss_terms(dict(model.d_loss_terms(d_tensors)), d_tensors)
        g_tensors = generator_tensors(model, batch, ctx)
        g_terms = ctx.hooks.loss_terms(dict(model.g_loss_terms(g_tensors)), g_tensors)
        d_total = summed_terms(d_terms)
        g_total = summed_terms(g_terms)
        d_opts = [ctx.optimizers[name] for name in model.d_optimizers]
        g_opts = [ctx.optimizers[name] for name in model.g_optimizers]
        # Both gradients before either step: G's backward also reaches D's
        # parameters through D(G(z)), so D's gradients are cleared after it
        # and then filled by D's own loss alone.
        for opt in (*d_opts, *g_opts):
            opt.zero_grad(set_to_none=True)
        g_total.backward()
        for opt in d_opts:
            opt.zero_grad(set_to_none=True)
        d_total.backward()
        for opt in d_opts:
            opt.step()
        model.after_d_update(ctx)
        ctx.hooks.after_d_step(model, ctx)
        for opt in g_opts:
            opt.step()
        ctx.hooks.after_g_step(model, ctx)
        return {
            **logged_losses("loss_d", d_total.detach(), d_terms),
            **logged_losses("loss_g", g_total.detach(), g_terms),
        }


def _check(model: GANModel) -> str | None:
    if type(model).train_step is not GANModel.train_step:
        return (
            f"{type(model).__name__} has its own train_step, which fixes the order of its "
            "updates; simultaneous-updates replaces the standard step only"
        )
    if set(model.d_optimizers) & set(model.g_optimizers):
        return "its D and G updates share an optimizer, so their steps cannot be taken apart"
    return None


@ganbench.hookimpl
def ganbench_register_tricks(register: Callable[[TrickSpec], None]) -> None:
    register(
        TrickSpec(
            name=NAME,
            build=SimultaneousUpdates,
            hook_points=SimultaneousUpdates.hook_points,
            params=(),
            description="G and D step from the same weights each step (simultaneous gradient descent)",
            check=_check,
        )
    )
