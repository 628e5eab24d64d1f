"""The standard training step shared by most models."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

import torch
from torch import Tensor

from ganbench.train.losses import LOSSES

G = TypeVar("G")

if TYPE_CHECKING:
    from ganbench.data.types import Batch
    from ganbench.model import GANModel
    from ganbench.train.context import StepContext


def discriminator_step(model: GANModel, batch: Batch, ctx: StepContext) -> Tensor:
    """One discriminator update on ``batch``; returns the (detached) D loss.

    Calls, in order: ``sample_latent``, ``transform_d_input`` (real, fake),
    ``targets``, ``transform_loss`` ("d"), then ``after_d_step``.
    """
    hooks = ctx.hooks
    loss_fn = LOSSES[model.loss]
    n = len(batch)
    z = hooks.sample_latent(model.sample_latent(n, ctx.device), ctx)
    with torch.no_grad():
        fake = model.generate(z, batch)
    real_in = hooks.transform_d_input(batch.x, "real", ctx)
    fake_in = hooks.transform_d_input(fake, "fake", ctx)
    real_logits = model.discriminate(real_in, batch)
    fake_logits = model.discriminate(fake_in, batch)
    real_t, fake_t = hooks.targets(torch.ones_like(real_logits), torch.zeros_like(fake_logits), ctx)
    loss_d = loss_fn.d_loss(real_logits, fake_logits, real_t, fake_t)
    loss_d = hooks.transform_loss(loss_d, "d", ctx)
    ctx.opt_d.zero_grad(set_to_none=True)
    loss_d.backward()
    ctx.opt_d.step()
    hooks.after_d_step(model, ctx)
    return loss_d.detach()


def generator_step(model: GANModel, batch: Batch, ctx: StepContext) -> Tensor:
    """One generator update with the conditioning of ``batch``; returns the G loss.

    Calls ``sample_latent``, ``transform_d_input`` ("fake"), ``transform_loss``
    ("g"), then ``after_g_step``.
    """
    hooks = ctx.hooks
    loss_fn = LOSSES[model.loss]
    z = hooks.sample_latent(model.sample_latent(len(batch), ctx.device), ctx)
    fake = model.generate(z, batch)
    logits = model.discriminate(hooks.transform_d_input(fake, "fake", ctx), batch)
    loss_g = hooks.transform_loss(loss_fn.g_loss(logits), "g", ctx)
    ctx.opt_g.zero_grad(set_to_none=True)
    loss_g.backward()
    ctx.opt_g.step()
    hooks.after_g_step(model, ctx)
    return loss_g.detach()


def alternating_updates(
    batch: Batch,
    ctx: StepContext,
    d_update: Callable[[Batch, StepContext], Tensor],
    g_update: Callable[[Batch, StepContext], G],
) -> tuple[Tensor, G]:
    """The protocol's schedule: ``ctx.d_steps`` D updates, then one G update.

    The first D update uses ``batch``; further ones draw fresh real batches,
    as in WGAN's critic loop. The G update uses ``batch``'s conditioning.
    Models that override :meth:`GANModel.train_step` pass their own updates
    here so every model counts D steps the same way.
    Returns (last D loss, what ``g_update`` returned).
    """
    loss_d = d_update(batch, ctx)
    for _ in range(ctx.d_steps - 1):
        loss_d = d_update(ctx.next_batch(), ctx)
    return loss_d, g_update(batch, ctx)


def standard_train_step(model: GANModel, batch: Batch, ctx: StepContext) -> dict[str, Tensor]:
    """:func:`discriminator_step` and :func:`generator_step` on the protocol's schedule.

    Returns ``{"loss_d": ..., "loss_g": ...}``.
    """
    loss_d, loss_g = alternating_updates(
        batch,
        ctx,
        lambda b, c: discriminator_step(model, b, c),
        lambda b, c: generator_step(model, b, c),
    )
    return {"loss_d": loss_d, "loss_g": loss_g}
