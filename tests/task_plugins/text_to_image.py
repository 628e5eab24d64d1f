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
  ``L_D = log D(x, h) + (log(1 - D(x, h_wrong)) + log(1 - D(G(z, h), h))) / 2``,
  i.e. half the adversarial loss on (real, fake) pairs plus half of it on
  (real, mismatched) pairs: the two D loss terms of
  :meth:`TinyGanIntCls.d_loss_terms`; the update itself is the core's. G's
  objective is unchanged. Mismatched captions are the batch's captions rolled
  by one; rows whose rolled caption equals their own (same class) are left
  out, as a same-class caption is not a mismatch.
* Section 5: Adam, learning rate 2e-4, beta1 0.5.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

import torch
from torch import Tensor, nn

import ganbench
from ganbench.api import Batch, DataInfo, GANModel, ModelSpec, StepTensors, TaskKind

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
    loss = "non-saturating"

    def __init__(self, info: DataInfo, params: Mapping[str, Any] | None = None) -> None:
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

    def configure_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        return self.adam_optimizers()

    def d_loss_terms(self, step: StepTensors) -> dict[str, Tensor]:
        """GAN-CLS: half the loss on (real, fake), half on (real, mismatched text).

        The mismatched pair reuses what D saw of the reals (after
        ``transform_d_input``): the same real images, only their captions change;
        mismatched pairs are negatives, so they take the fake targets.
        """
        loss, real = self.adversarial_loss, step.real_logits
        real_t, fake_t = step.real_targets, step.fake_targets
        wrong_text, mismatched = mismatched_text(self._text(step.batch))
        wrong = self.discriminate(step.real_in, replace(step.batch, text=wrong_text))
        m = mismatched.nonzero().squeeze(1)
        # A batch of one class has no mismatched pair: the term is zero (still logged).
        if len(m):
            wrong_loss = loss.d_loss(real[m], wrong[m], real_t[m], fake_t[m])
        else:
            wrong_loss = wrong.sum() * 0
        return {
            "adversarial": 0.5 * loss.d_loss(real, step.fake_logits, real_t, fake_t),
            "mismatched": 0.5 * wrong_loss,
        }


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
