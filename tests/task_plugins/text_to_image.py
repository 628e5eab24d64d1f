"""Tiny GAN-INT-CLS: Reed et al. 2016, "Generative Adversarial Text to Image
Synthesis" (ICML 2016).

Test-only: a few-layer imitation of the paper's model, sized for 8 x 8 images,
to prove the model interface serves the text-to-image task kind.

* Section 4 (architecture): the text embedding is compressed by a
  fully-connected layer with leaky ReLU (128 units in the paper, 8 here),
  concatenated to z in G, and in D replicated spatially and concatenated to
  the image features at the coarsest resolution (4 x 4 in the paper, here
  size/4), followed by a 1 x 1 convolution and the final logit. G and D are
  otherwise DCGAN-style (transposed / strided convolutions, BatchNorm).
* Section 4.1 (GAN-CLS, "matching-aware discriminator", algorithm 1): D also
  sees real images with mismatched text, labelled fake, so it must judge
  whether image and text match, not only realism:
  ``L_D = log D(x, h) + (log(1 - D(x, h_wrong)) + log(1 - D(G(z, h), h))) / 2``.
  This is the overridden :meth:`TinyGanIntCls.train_step`; it calls every
  trick hook point in the standard places. Mismatched captions are the batch's
  captions rolled by one; rows whose rolled caption equals their own (same
  class) are left out, as a same-class caption is not a mismatch.
* Section 5: Adam, learning rate 2e-4, beta1 0.5.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import torch
import torch.nn.functional as F
from torch import Tensor, nn

import ganbench
from ganbench.api import (
    Batch,
    DataInfo,
    GANModel,
    ModelSpec,
    StepContext,
    TaskKind,
    alternating_updates,
    generator_step,
)

#: Width of the compressed text embedding (the paper's 128, scaled down).
TEXT_PROJECTION = 8
LATENT_DIM = 16
WIDTH = 32


def check_fits(info: DataInfo) -> str | None:
    """Why this model cannot be sized for ``info``, or None."""
    if not info.text_dim:
        return "GAN-INT-CLS needs a text embedding width (DataInfo.text_dim)"
    if info.image_size is None or info.shape[1] != info.shape[2] or info.image_size % 4:
        return f"GAN-INT-CLS needs square images with a size divisible by 4, got {info.shape}"
    return None


def mismatched_text(text: Tensor) -> tuple[Tensor, Tensor]:
    """(wrong captions N x T, mask N of rows where the wrong caption truly differs)."""
    wrong = text.roll(1, dims=0)
    return wrong, (wrong != text).any(dim=1)


class TextProjection(nn.Module):
    """text embedding (N x T) -> compressed code (N x TEXT_PROJECTION)."""

    def __init__(self, text_dim: int) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(text_dim, TEXT_PROJECTION), nn.LeakyReLU(0.2))

    def forward(self, text: Tensor) -> Tensor:
        return self.net(text)


class TextConditionedGenerator(nn.Module):
    """(z N x LATENT_DIM, text N x T) -> images (N x C x S x S) in [-1, 1]."""

    def __init__(self, text_dim: int, channels: int, image_size: int) -> None:
        super().__init__()
        self.base = image_size // 4
        self.text = TextProjection(text_dim)
        self.project = nn.Sequential(
            nn.Linear(LATENT_DIM + TEXT_PROJECTION, WIDTH * self.base * self.base, bias=False),
            nn.BatchNorm1d(WIDTH * self.base * self.base),
            nn.ReLU(),
        )
        self.up = nn.Sequential(
            nn.ConvTranspose2d(WIDTH, WIDTH // 2, 4, 2, 1, bias=False),
            nn.BatchNorm2d(WIDTH // 2),
            nn.ReLU(),
            nn.ConvTranspose2d(WIDTH // 2, channels, 4, 2, 1),
            nn.Tanh(),
        )

    def forward(self, z: Tensor, text: Tensor) -> Tensor:
        h = self.project(torch.cat([z, self.text(text)], dim=1))
        return self.up(h.view(-1, WIDTH, self.base, self.base))


class TextConditionedDiscriminator(nn.Module):
    """(images N x C x S x S, text N x T) -> logits (N,)."""

    def __init__(self, text_dim: int, channels: int, image_size: int) -> None:
        super().__init__()
        base = image_size // 4
        self.image = nn.Sequential(
            nn.Conv2d(channels, WIDTH // 2, 4, 2, 1),
            nn.LeakyReLU(0.2),
            nn.Conv2d(WIDTH // 2, WIDTH, 4, 2, 1, bias=False),
            nn.BatchNorm2d(WIDTH),
            nn.LeakyReLU(0.2),
        )
        self.text = TextProjection(text_dim)
        self.joint = nn.Sequential(
            nn.Conv2d(WIDTH + TEXT_PROJECTION, WIDTH, 1),
            nn.LeakyReLU(0.2),
            nn.Conv2d(WIDTH, 1, base),
        )

    def forward(self, x: Tensor, text: Tensor) -> Tensor:
        h = self.image(x)
        # Replicate the text code over the feature map's positions (section 4).
        code = self.text(text)[:, :, None, None].expand(-1, -1, h.shape[2], h.shape[3])
        return self.joint(torch.cat([h, code], dim=1)).flatten()


class TinyGanIntCls(GANModel):
    """Text-conditional G and matching-aware D (GAN-CLS)."""

    task = TaskKind.TEXT_TO_IMAGE
    latent_dim = LATENT_DIM
    loss = "non-saturating"  # the G loss generator_step uses

    def __init__(self, info: DataInfo) -> None:
        super().__init__()
        assert info.text_dim is not None
        channels, size = info.shape[0], info.shape[-1]
        self.generator = TextConditionedGenerator(info.text_dim, channels, size)
        self.discriminator = TextConditionedDiscriminator(info.text_dim, channels, size)

    @staticmethod
    def _text(cond: Batch) -> Tensor:
        assert cond.text is not None, "GAN-INT-CLS needs text embeddings in the batch"
        return cond.text

    def generate(self, z: Tensor | None, cond: Batch) -> Tensor:
        assert z is not None
        return self.generator(z, self._text(cond))

    def discriminate(self, x: Tensor, cond: Batch) -> Tensor:
        return self.discriminator(x, self._text(cond))

    def configure_optimizers(self) -> tuple[torch.optim.Optimizer, torch.optim.Optimizer]:
        return self.adam_optimizers()

    def matching_aware_d_step(self, batch: Batch, ctx: StepContext) -> Tensor:
        """One GAN-CLS discriminator update; returns the (detached) D loss.

        Hook points in the order of the standard D step: ``sample_latent``,
        ``transform_d_input`` (real, fake), ``targets``, ``transform_loss``
        ("d"), ``after_d_step``. The mismatched pair reuses the transformed
        real input: it is the same real image, only its caption changes.
        """
        hooks = ctx.hooks
        z = hooks.sample_latent(self.sample_latent(len(batch), ctx.device), ctx)
        with torch.no_grad():
            fake = self.generate(z, batch)
        real_in = hooks.transform_d_input(batch.x, "real", ctx)
        fake_in = hooks.transform_d_input(fake, "fake", ctx)
        wrong_text, mismatched = mismatched_text(self._text(batch))
        real_logits = self.discriminate(real_in, batch)
        fake_logits = self.discriminate(fake_in, batch)
        wrong_logits = self.discriminate(real_in, replace(batch, text=wrong_text))
        real_t, fake_t = hooks.targets(
            torch.ones_like(real_logits), torch.zeros_like(fake_logits), ctx
        )
        # Mismatched pairs are negatives: they take the fake targets (after any smoothing).
        wrong_terms = F.binary_cross_entropy_with_logits(wrong_logits, fake_t, reduction="none")
        wrong_loss = (wrong_terms * mismatched).sum() / mismatched.sum().clamp(min=1)
        loss_d = F.binary_cross_entropy_with_logits(real_logits, real_t) + 0.5 * (
            F.binary_cross_entropy_with_logits(fake_logits, fake_t) + wrong_loss
        )
        loss_d = hooks.transform_loss(loss_d, "d", ctx)
        ctx.opt_d.zero_grad(set_to_none=True)
        loss_d.backward()
        ctx.opt_d.step()
        hooks.after_d_step(self, ctx)
        return loss_d.detach()

    def train_step(self, batch: Batch, ctx: StepContext) -> dict[str, Tensor]:
        """``ctx.d_steps`` matching-aware D updates, then the standard G update."""
        # G's objective is unchanged by GAN-CLS: fool D with the right caption.
        loss_d, loss_g = alternating_updates(
            batch, ctx, self.matching_aware_d_step, lambda b, c: generator_step(self, b, c)
        )
        return {"loss_d": loss_d, "loss_g": loss_g}


@ganbench.hookimpl
def ganbench_register_models(register: Callable[[ModelSpec], None]) -> None:
    """Register ``tiny-gan-int-cls``."""
    register(
        ModelSpec(
            name="tiny-gan-int-cls",
            build=TinyGanIntCls,
            task=TaskKind.TEXT_TO_IMAGE,
            data_kinds=("image",),
            paper="Reed et al. 2016, Generative Adversarial Text to Image Synthesis, "
            "sections 4-4.1 (GAN-CLS), scaled down (test-only)",
            description="test-only tiny GAN-INT-CLS with a matching-aware discriminator",
            check=check_fits,
        )
    )
