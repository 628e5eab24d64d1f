"""Unrolled GAN: Metz, Poole, Pfau and Sohl-Dickstein 2017, "Unrolled Generative
Adversarial Networks" (ICLR).

G is trained against the discriminator that k more D updates would make
(section 2.2, eq. 7-10): the surrogate loss f(theta_G, theta_D^k(theta_G,
theta_D)), with theta_D^k the result of k Adam steps of D's own loss, and G's
gradient taken through those steps (the paper's "unrolled" gradient, which
lets G see how D would react to it; ``second_order=false`` drops that part,
the cheaper variant the paper discusses in section 2.3). D itself is
trained by the ordinary update, one step per generator step: the unrolled
copies are thrown away. k = 5 is the default (the paper's 2-D mixture and
MNIST experiments use 5 and 10; Figure 1 shows 5 already recovers every
mode of the ring).

The networks and optimizers are the body's, as for ``pacgan``:
``body=gan2d`` (vectors: PacGAN's 2-D networks, so the mode-collapse table
compares unrolling, packing and the gradient penalty on one network) or
``body=dcgan`` (images); ``auto`` picks by data kind. Deviation: the
paper's own 2-D networks are smaller (G two ReLU layers of 128, D one
layer of 128) and trained at learning rate 1e-4 for both with Adam beta1
0.5; under PacGAN's protocol the table should differ in the training
method only, so ganbench uses gan2d's. The unrolled D steps reach the
``transform_d_input`` and ``targets`` hooks, as D's own steps do; a trick's
``loss_terms`` (a penalty) acts on D's real updates, not on the unrolled
copies, and BatchNorm statistics are not updated by them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import torch
from torch import Tensor
from torch.func import functional_call

import ganbench
from ganbench.api import (
    Batch,
    DataInfo,
    IncompatibleError,
    ModelSpec,
    Param,
    StepContext,
    StepTensors,
    TaskKind,
    UnconditionalGAN,
    alternating_updates,
    discriminator_update,
    logged_losses,
    step_optimizers,
)
from ganbench.blocks.unroll import unrolled_parameters
from ganbench_plugins._bodies import BODIES, body_problem, build_body


class UnrolledGAN(UnconditionalGAN):
    """A GAN whose generator update looks k D steps ahead."""

    loss = "non-saturating"

    def __init__(self, info: DataInfo, params: Mapping[str, Any]) -> None:
        super().__init__()
        self.unroll_steps = int(params["unroll_steps"])
        self.second_order = bool(params["second_order"])
        if self.unroll_steps < 0:
            raise IncompatibleError(
                f"model 'unrolled': unroll_steps must be >= 0, got {self.unroll_steps}"
            )
        body = build_body("unrolled", info, str(params["body"]))
        self.latent_dim, self.generator = body.latent_dim, body.generator
        self.discriminator = body.discriminator(1, "batch")
        self.lr, self.betas, self.init = body.lr, body.betas, body.init

    def init_weights(self) -> None:
        self.apply(self.init)

    def configure_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        """The body's Adam for both networks (D's must be Adam: it is unrolled as Adam)."""
        return self.adam_optimizers(lr=self.lr, betas=self.betas)

    def _d_with(self, params: Mapping[str, Tensor], buffers: Mapping[str, Tensor]) -> Callable:
        """D as a function of ``params``; copied buffers keep BatchNorm's statistics untouched."""

        def d(x: Tensor) -> Tensor:
            return functional_call(self.discriminator, {**buffers, **params}, (x,))

        return d

    def _unrolled_d(self, batch: Batch, ctx: StepContext) -> Callable[[Tensor], Tensor]:
        """D after ``unroll_steps`` differentiable Adam steps of its loss on ``batch``."""
        buffers = {n: b.clone() for n, b in self.discriminator.named_buffers()}
        hooks = ctx.hooks

        def d_loss(params: Mapping[str, Tensor]) -> Tensor:
            d = self._d_with(params, buffers)
            fake = self.generate(self.sample_latent(len(batch), ctx.device), batch)
            if not self.second_order:
                fake = fake.detach()
            real_logits = d(hooks.transform_d_input(batch.x, "real", ctx))
            fake_logits = d(hooks.transform_d_input(fake, "fake", ctx))
            real_t, fake_t = hooks.targets(
                torch.ones_like(real_logits), torch.zeros_like(fake_logits), ctx
            )
            return self.adversarial_loss.d_loss(real_logits, fake_logits, real_t, fake_t)

        params = unrolled_parameters(
            self.discriminator,
            ctx.optimizers[self.d_optimizers[0]],
            d_loss,
            self.unroll_steps,
            differentiable=self.second_order,
        )
        return self._d_with(params, buffers)

    def _unrolled_generator_update(self, batch: Batch, ctx: StepContext) -> dict[str, Tensor]:
        """G's update against the unrolled D, with the G side's hook points at their places."""
        d = self._unrolled_d(batch, ctx)
        z = self.sample_latent(len(batch), ctx.device)
        fake = self.generate(z, batch)
        fake_in = ctx.hooks.transform_d_input(fake, "fake", ctx)
        tensors = StepTensors("g", self, batch, z, fake, fake_in, {"logits": d(fake_in)}, ctx)
        terms = ctx.hooks.loss_terms(dict(self.g_loss_terms(tensors)), tensors)
        total = step_optimizers(ctx, self.g_optimizers, terms)
        ctx.hooks.after_g_step(self, ctx)
        return logged_losses("loss_g", total, terms)

    def train_step(self, batch: Batch, ctx: StepContext) -> dict[str, Tensor]:
        """The schedule's D updates (the core's), then the unrolled G update."""
        return alternating_updates(
            batch,
            ctx,
            lambda b, c: discriminator_update(self, b, c),
            lambda b, c: self._unrolled_generator_update(b, c),
        )


@ganbench.hookimpl
def ganbench_register_models(register: Callable[[ModelSpec], None]) -> None:
    register(
        ModelSpec(
            name="unrolled",
            build=UnrolledGAN,
            task=TaskKind.UNCONDITIONAL,
            data_kinds=("image", "vector"),
            paper="Metz et al. 2017, Unrolled GANs, section 2 (eq. 7-10)",
            description="G trained against D unrolled k Adam steps ahead (k=5), on gan2d or dcgan",
            check=body_problem,
            params=(
                Param("unroll_steps", int, 5, "k, the D steps G looks ahead (paper: 5, 10)"),
                Param("second_order", bool, True, "back-propagate through the unrolled steps"),
                Param("body", str, "auto", "networks: gan2d, dcgan, or auto", choices=BODIES),
            ),
        )
    )
