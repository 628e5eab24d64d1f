"""The training step: what a step can see (the context), its tensors, and the update.

The core owns the update. A model says what its losses are
(:meth:`GANModel.d_loss_terms`, :meth:`GANModel.g_loss_terms`: named terms
computed from :class:`StepTensors`); :func:`discriminator_update` and
:func:`generator_update` draw z, generate, call every trick hook point at
its place, sum the terms, back-propagate and step the optimizers.

The order of one update, which a custom :meth:`GANModel.train_step` keeps by
calling these helpers (the conformance kit checks it for every model):

* D update: z from the model's prior; fake = G(z) without gradients;
  ``transform_d_input`` (real, then fake); D's outputs on both (in separate
  passes, or one mixed pass when a trick's ``d_batches`` says so);
  ``transform_d_output`` (real, then fake); ``targets``; the model's D terms; ``loss_terms`` ("d"); backward; the D
  optimizers step; the model's ``after_d_update``; ``after_d_step``.
* G update: z; fake = G(z); ``transform_d_input`` (fake); D's outputs;
  ``transform_d_output`` (fake); the model's G terms; ``loss_terms`` ("g"); backward; the G optimizers
  step; ``after_g_step``.
* a step: ``ctx.d_steps`` D updates (the first on the step's batch, further
  ones on fresh batches, as in WGAN's critic loop), then one G update,
  inside the tricks' ``train_step`` wrappers; the loop then calls
  ``end_of_step``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Any, TypeVar

import torch
from torch import Tensor

from ganbench.trick import DBatches, Net

if TYPE_CHECKING:
    from ganbench.data.types import Batch
    from ganbench.model import GANModel
    from ganbench.train.schedule import DStepSchedule
    from ganbench.train.trick_chain import TrickChain

G = TypeVar("G")


@dataclass
class StepContext:
    """Per-run state handed to ``GANModel.train_step`` and to every trick hook.

    Attributes:
        step: index of the generator step being taken (0-based).
        total_steps: the run's budget in generator steps.
        device: where tensors live.
        model: the model being trained.
        optimizers: the named optimizers, after the tricks' ``configure_optimizers``.
        hooks: the tricks' hook points, composed in the user's order.
        schedule: the D-steps schedule, after tricks.
        d_steps: D steps of this generator step (``schedule.at(step)``).
        next_batch: draws the next real training batch (for extra D steps).
        d_batches: how the standard D update feeds D real and fake samples
            (``"separate"`` passes, or ``"mixed"`` in one), after tricks.
        stop_requested: set by an ``end_of_step`` hook to end training early.
        scratch: free space for tricks and custom steps (not checkpointed).
    """

    step: int
    total_steps: int
    device: torch.device
    model: GANModel
    optimizers: dict[str, torch.optim.Optimizer]
    hooks: TrickChain
    schedule: DStepSchedule
    d_steps: int
    next_batch: Callable[[], Batch]
    d_batches: DBatches = "separate"
    stop_requested: bool = False
    scratch: dict[str, Any] = field(default_factory=dict)

    @property
    def opt_g(self) -> torch.optim.Optimizer:
        """The optimizer named ``"g"``."""
        return self.optimizers["g"]

    @property
    def opt_d(self) -> torch.optim.Optimizer:
        """The optimizer named ``"d"``."""
        return self.optimizers["d"]

    def d_update(self, batch: Batch | None = None) -> dict[str, Tensor]:
        """One standard D update of the model on ``batch`` (default: the next batch)."""
        return discriminator_update(self.model, batch or self.next_batch(), self)

    def g_update(self, batch: Batch) -> dict[str, Tensor]:
        """One standard G update of the model with ``batch``'s conditioning."""
        return generator_update(self.model, batch, self)


@dataclass
class StepTensors:
    """The tensors of one D or G update: what loss terms and penalties are made of.

    Attributes:
        net: ``"d"`` or ``"g"``: which update.
        model: the model.
        batch: the real batch (its conditioning conditions the fakes too).
        z: the latent draw (None for models without noise).
        fake: G's samples (detached in a D update).
        fake_in: what D saw of them, after ``transform_d_input``.
        fake_out: D's outputs on ``fake_in`` (``"logits"`` and any heads).
        ctx: the step context.
        real_in: what D saw of the reals (D updates only).
        real_out: D's outputs on ``real_in`` (D updates only).
        real_targets, fake_targets: D's targets after ``targets`` (D updates only).
    """

    net: Net
    model: GANModel
    batch: Batch
    z: Tensor | None
    fake: Tensor
    fake_in: Tensor
    fake_out: dict[str, Tensor]
    ctx: StepContext
    real_in: Tensor | None = None
    real_out: dict[str, Tensor] | None = None
    real_targets: Tensor | None = None
    fake_targets: Tensor | None = None

    @property
    def fake_logits(self) -> Tensor:
        """D's logits (N,) on the fakes."""
        return self.fake_out["logits"]

    @property
    def real_logits(self) -> Tensor:
        """D's logits (N,) on the reals (D updates only)."""
        if self.real_out is None:
            raise ValueError("a generator update has no real samples")
        return self.real_out["logits"]

    def discriminate(self, x: Tensor) -> Tensor:
        """D's logits on ``x`` (rows of this update's batch), e.g. on interpolates."""
        return self.model.discriminate(x, self.batch)


def discriminator_outputs(model: GANModel, x: Tensor, cond: Batch) -> dict[str, Tensor]:
    """``model.discriminator_outputs`` with its ``"logits"`` entry checked."""
    out = model.discriminator_outputs(x, cond)
    if "logits" not in out:
        raise KeyError(f"{type(model).__name__}.discriminator_outputs returned no 'logits'")
    return dict(out)


def summed_terms(terms: Mapping[str, Tensor]) -> Tensor:
    """The sum of an update's named scalar loss terms (what is back-propagated)."""
    if not terms:
        raise ValueError("an update needs at least one loss term")
    return torch.stack([t.reshape(()) for t in terms.values()]).sum()


def step_optimizers(ctx: StepContext, names: Iterable[str], terms: Mapping[str, Tensor]) -> Tensor:
    """Back-propagate the sum of ``terms`` and step the optimizers ``names``; the sum, detached.

    Gradients of the stepped optimizers are cleared first, so what other
    updates left on shared parameters never leaks into this one.
    """
    optimizers = [ctx.optimizers[name] for name in names]
    total = summed_terms(terms)
    for opt in optimizers:
        opt.zero_grad(set_to_none=True)
    total.backward()
    for opt in optimizers:
        opt.step()
    return total.detach()


def logged_losses(prefix: str, total: Tensor, terms: Mapping[str, Tensor]) -> dict[str, Tensor]:
    """``{prefix: total}``, plus ``prefix.term`` for each term when there is more than one.

    What an update returns for the training curves (``prefix`` is ``"loss_d"``
    or ``"loss_g"``); a custom update returns the same.
    """
    out = {prefix: total}
    if len(terms) > 1:
        out.update({f"{prefix}.{name}": t.detach() for name, t in terms.items()})
    return out


def _mixed_outputs(
    model: GANModel, real_in: Tensor, fake_in: Tensor, batch: Batch
) -> tuple[dict[str, Tensor], dict[str, Tensor]]:
    """D's outputs on reals and fakes from one pass over both, concatenated.

    The fakes are conditioned on the batch's own conditioning, so the pass
    sees the conditioning twice; every output is split back by rows.
    """
    n = real_in.shape[0]
    twice = type(batch)(
        **{
            f.name: None if (v := getattr(batch, f.name)) is None else torch.cat([v, v])
            for f in fields(batch)
        }
    )
    out = discriminator_outputs(model, torch.cat([real_in, fake_in]), twice)
    return {k: v[:n] for k, v in out.items()}, {k: v[n:] for k, v in out.items()}


def discriminator_tensors(
    model: GANModel, batch: Batch, ctx: StepContext, fake: Tensor | None = None
) -> StepTensors:
    """The forward half of a D update, with its hook points: everything but the terms.

    ``fake``: the samples D judges; by default G's, from a fresh z and without
    gradients. A model whose D sees other fakes (CycleGAN's history of
    generated images) passes them, detached; z is then None.
    """
    hooks = ctx.hooks
    z = None
    if fake is None:
        z = model.sample_latent(len(batch), ctx.device)
        with torch.no_grad():
            fake = model.generate(z, batch)
    real_in = hooks.transform_d_input(batch.x, "real", ctx)
    fake_in = hooks.transform_d_input(fake, "fake", ctx)
    if ctx.d_batches == "mixed":
        real_out, fake_out = _mixed_outputs(model, real_in, fake_in, batch)
    else:
        real_out = discriminator_outputs(model, real_in, batch)
        fake_out = discriminator_outputs(model, fake_in, batch)
    real_out = hooks.transform_d_output(real_out, "real", ctx)
    fake_out = hooks.transform_d_output(fake_out, "fake", ctx)
    real_t, fake_t = hooks.targets(
        torch.ones_like(real_out["logits"]), torch.zeros_like(fake_out["logits"]), ctx
    )
    return StepTensors(
        "d", model, batch, z, fake, fake_in, fake_out, ctx, real_in, real_out, real_t, fake_t
    )


def generator_tensors(model: GANModel, batch: Batch, ctx: StepContext) -> StepTensors:
    """The forward half of a G update, with its hook point: everything but the terms."""
    z = model.sample_latent(len(batch), ctx.device)
    fake = model.generate(z, batch)
    fake_in = ctx.hooks.transform_d_input(fake, "fake", ctx)
    fake_out = ctx.hooks.transform_d_output(
        discriminator_outputs(model, fake_in, batch), "fake", ctx
    )
    return StepTensors("g", model, batch, z, fake, fake_in, fake_out, ctx)


def discriminator_update(model: GANModel, batch: Batch, ctx: StepContext) -> dict[str, Tensor]:
    """One D update on ``batch``; returns ``{"loss_d": sum}`` (and each term when several)."""
    tensors = discriminator_tensors(model, batch, ctx)
    terms = ctx.hooks.loss_terms(dict(model.d_loss_terms(tensors)), tensors)
    total = step_optimizers(ctx, model.d_optimizers, terms)
    model.after_d_update(ctx)
    ctx.hooks.after_d_step(model, ctx)
    return logged_losses("loss_d", total, terms)


def generator_update(model: GANModel, batch: Batch, ctx: StepContext) -> dict[str, Tensor]:
    """One G update with ``batch``'s conditioning; returns ``{"loss_g": sum, ...}``."""
    tensors = generator_tensors(model, batch, ctx)
    terms = ctx.hooks.loss_terms(dict(model.g_loss_terms(tensors)), tensors)
    total = step_optimizers(ctx, model.g_optimizers, terms)
    ctx.hooks.after_g_step(model, ctx)
    return logged_losses("loss_g", total, terms)


def alternating_updates(
    batch: Batch,
    ctx: StepContext,
    d_update: Callable[[Batch, StepContext], dict[str, Tensor]],
    g_update: Callable[[Batch, StepContext], dict[str, Tensor]],
) -> dict[str, Tensor]:
    """The protocol's schedule: ``ctx.d_steps`` D updates, then one G update.

    The first D update uses ``batch``; further ones draw fresh real batches.
    The G update uses ``batch``'s conditioning. Returns the last D update's
    losses and the G update's, merged.
    """
    losses_d = d_update(batch, ctx)
    for _ in range(ctx.d_steps - 1):
        losses_d = d_update(ctx.next_batch(), ctx)
    return {**losses_d, **g_update(batch, ctx)}


def standard_train_step(model: GANModel, batch: Batch, ctx: StepContext) -> dict[str, Tensor]:
    """:func:`discriminator_update` and :func:`generator_update` on the D-steps schedule."""
    return alternating_updates(
        batch,
        ctx,
        lambda b, c: discriminator_update(model, b, c),
        lambda b, c: generator_update(model, b, c),
    )
