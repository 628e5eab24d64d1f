"""GAN-CLS, GAN-INT and GAN-INT-CLS: Reed et al. 2016, "Generative Adversarial
Text to Image Synthesis" (ICML), with the authors' code (reedscot/icml2016,
``main_cls_int.lua`` and ``scripts/train_cub.sh``) for what the paper leaves open.

Networks (section 4, figure 2):

* **G.** The text embedding phi(t) goes through a fully connected layer to
  128 units (``nt``) with LeakyReLU(0.2), is concatenated to z (100-d,
  N(0, 1)), and a DCGAN generator follows: a transposed convolution to the
  base map, then stride-2 transposed convolutions with BatchNorm and ReLU,
  tanh at the output. Widths as the code's ``ngf = 128``: ``ngf * 8`` maps
  at 4 x 4 for 64 px, halving per doubling.
* **D.** Stride-2 convolutions with BatchNorm (none on the first) and
  LeakyReLU(0.2), widths from ``ndf = 64`` doubling per halving. The text
  embedding gets its own fully connected layer to 128 units (BatchNorm and
  LeakyReLU, as the code's ``fcD``; the paper says "followed by
  rectification"), is replicated over D's coarsest map and depth-
  concatenated; a 1 x 1 convolution (BatchNorm, LeakyReLU) and a
  convolution over the whole map give the logit (the code's sigmoid is in
  the loss).
* **Sizing.** The paper's 64 px networks concatenate at 4 x 4, D's coarsest
  map. Here the depth follows the image size with DCGAN's plan
  (``ganbench.blocks.dcgan.upsampling_plan``) and the concatenation stays at
  the coarsest map: at 32 px (``--image-size 32``) that is 4 x 4, as in the
  paper (G 512@4 -> 256@8 -> 128@16 -> 32; D 64@16 -> 128@8 -> 256@4); at
  the digits' 8 px it is 2 x 2 (G 256@2 -> 128@4 -> 8; D 64@4 -> 128@2),
  the same depth as ``dcgan`` on the digits.
* **Init.** N(0, 0.02) convolutions, BatchNorm scales N(1, 0.02), no conv
  biases (the code zeroes them every step); linear layers keep PyTorch's
  default, as the code's ``weights_init`` leaves Torch's.

Objectives (section 4.1-4.2, algorithm 1, and the code's weights):

* **GAN-CLS** (matching-aware D): D's loss is
  ``BCE(D(x, t), 1) + 0.5 BCE(D(x, t_wrong), 0) + 0.5 BCE(D(G(z, t), t), 0)``
  (``cls_weight = 0.5``: the wrong pair gets it, the fake pair ``1 -
  cls_weight``), logged as ``adversarial`` (real + fake) and ``mismatched``.
  The wrong caption of a row is the caption of the nearest earlier row in
  the batch (cyclically) whose embedding differs: a real image with a text
  that does not describe it. (The code draws a real image of another CUB
  class for the right text; here a caption that differs may differ in an
  attribute only, which is a mismatch too. Two phrasings of the same
  caption count as different, a rare false negative.)
* **GAN-INT**: G also trains on interpolated embeddings
  ``beta t1 + (1 - beta) t2`` (``beta = 0.5``, the paper's value and the
  code's ``interp_type = 1``), t1 the first half of the batch's captions and
  t2 the second, with fresh z; D never sees them as reals (no D term). The
  code appends them to G's batch with weight ``interp_weight = 1`` in one
  weighted BCE over 1.5 N rows; the term ``interpolated`` here is that
  share, ``0.5 x`` the mean BCE of the N/2 interpolated fakes next to the
  mean over the N fakes (the common 1/1.5 factor is dropped: Adam does not
  see it).
* ``gan-int-cls`` is both, ``gan-cls`` CLS only, ``gan-int`` INT only (its
  D: ``BCE(real, 1) + BCE(fake, 0)``).

Optimiser (section 5): Adam, learning rate 2e-4, beta1 0.5, batch 64.

Deviations, with reasons:

* The code's residual blocks (a 1x1-3x3-3x3 bottleneck added at G's 4 x 4
  and 8 x 8 maps and D's 4 x 4 map) are left out: the paper's section 4
  does not describe them, and the digits' maps are 2 x 2 to 8 x 8.
* The interpolated fakes go through G and D in their own passes, so
  BatchNorm normalises them apart from the N fakes (the code runs all 1.5 N
  in one pass); the trick hooks of the core's update (``transform_d_input``
  and the like) do not see that pass.
* No learning-rate decay (the code halves it every 100 epochs of CUB, far
  beyond the digits' 2,000-step budget).
* The text encoder is the dataset's (``digits-captions``: a small word-level
  encoder trained with the symmetric structured loss, 64-d), not the
  pre-trained 1,024-d char-CNN-RNN.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import partial
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

import ganbench
from ganbench.api import (
    Batch,
    DataInfo,
    GanbenchError,
    GANModel,
    ModelSpec,
    Param,
    StepTensors,
    TaskKind,
)
from ganbench.blocks.dcgan import check_image_size, dcgan_init, upsampling_plan

PAPER = "Reed et al. 2016, Generative Adversarial Text to Image Synthesis, sections 4-5"
LATENT_DIM = 100
TEXT_PROJECTION = 128
#: The code's ``cls_weight`` (train_cub.sh): the wrong pair's share of D's negatives.
CLS_WEIGHT = 0.5
#: The code's ``interp_weight`` (train_cub.sh).
INT_WEIGHT = 1.0


def check_fits(info: DataInfo) -> str | None:
    """Why these models cannot be sized for ``info``, or None."""
    if not info.text_dim:
        return "GAN-INT-CLS needs text embeddings (DataInfo.text_dim)"
    return check_image_size(info)


def mismatched_text(text: Tensor) -> tuple[Tensor, Tensor]:
    """(wrong captions N x T, mask N of rows that found one).

    Row i takes the caption of row i - s for the smallest shift s >= 1
    (cyclically) whose embedding differs from its own; a batch of one
    caption has none (mask False).
    """
    n = len(text)
    rows = torch.arange(n, device=text.device)
    pick = torch.full((n,), -1, dtype=torch.long, device=text.device)
    for shift in range(1, n):
        if bool((pick >= 0).all()):
            break
        other = (rows - shift) % n
        free = (pick < 0) & (text[other] != text).any(dim=1)
        pick = torch.where(free, other, pick)
    found = pick >= 0
    return text[torch.where(found, pick, rows)], found


def interpolated_text(text: Tensor, beta: float) -> Tensor:
    """``beta * t1 + (1 - beta) * t2`` of the batch's first and second halves (N // 2 x T)."""
    half = len(text) // 2
    return beta * text[:half] + (1.0 - beta) * text[half : 2 * half]


class TextGenerator(nn.Module):
    """(z N x 100, text N x T) -> images N x C x S x S in [-1, 1]."""

    def __init__(self, text_dim: int, channels: int, image_size: int, ngf: int) -> None:
        super().__init__()
        base, doublings = upsampling_plan(image_size)
        width = ngf * 2 ** (doublings - 1)
        self.text = nn.Sequential(nn.Linear(text_dim, TEXT_PROJECTION), nn.LeakyReLU(0.2))
        layers: list[nn.Module] = [
            nn.ConvTranspose2d(LATENT_DIM + TEXT_PROJECTION, width, base, 1, 0, bias=False),
            nn.BatchNorm2d(width),
            nn.ReLU(True),
        ]
        for _ in range(doublings - 1):
            layers += [
                nn.ConvTranspose2d(width, width // 2, 4, 2, 1, bias=False),
                nn.BatchNorm2d(width // 2),
                nn.ReLU(True),
            ]
            width //= 2
        layers += [nn.ConvTranspose2d(width, channels, 4, 2, 1, bias=False), nn.Tanh()]
        self.net = nn.Sequential(*layers)

    def forward(self, z: Tensor, text: Tensor) -> Tensor:
        h = torch.cat([z, self.text(text)], dim=1)
        return self.net(h[:, :, None, None])


class TextDiscriminator(nn.Module):
    """(images N x C x S x S, text N x T) -> logits (N,)."""

    def __init__(self, text_dim: int, channels: int, image_size: int, ndf: int) -> None:
        super().__init__()
        base, doublings = upsampling_plan(image_size)
        width = ndf
        layers: list[nn.Module] = [
            nn.Conv2d(channels, width, 4, 2, 1, bias=False),
            nn.LeakyReLU(0.2, True),
        ]
        for _ in range(doublings - 1):
            layers += [
                nn.Conv2d(width, width * 2, 4, 2, 1, bias=False),
                nn.BatchNorm2d(width * 2),
                nn.LeakyReLU(0.2, True),
            ]
            width *= 2
        self.image = nn.Sequential(*layers)
        self.text = nn.Sequential(
            nn.Linear(text_dim, TEXT_PROJECTION),
            nn.BatchNorm1d(TEXT_PROJECTION),
            nn.LeakyReLU(0.2, True),
        )
        self.joint = nn.Sequential(
            nn.Conv2d(width + TEXT_PROJECTION, width, 1, bias=False),
            nn.BatchNorm2d(width),
            nn.LeakyReLU(0.2, True),
            nn.Conv2d(width, 1, base, bias=False),
        )

    def forward(self, x: Tensor, text: Tensor) -> Tensor:
        h = self.image(x)
        # Replicated over the coarsest map and depth-concatenated (section 4).
        code = self.text(text)[:, :, None, None].expand(-1, -1, h.shape[2], h.shape[3])
        return self.joint(torch.cat([h, code], dim=1)).flatten()


class GanIntCls(GANModel):
    """Text-conditional DCGAN with the matching-aware D (CLS) and/or interpolation (INT)."""

    task = TaskKind.TEXT_TO_IMAGE
    latent_dim = LATENT_DIM
    loss = "non-saturating"

    def __init__(
        self, info: DataInfo, params: Mapping[str, Any], *, cls: bool, interpolate: bool
    ) -> None:
        super().__init__()
        reason = check_fits(info)
        if reason is not None:
            raise GanbenchError(reason)
        assert info.text_dim is not None
        channels, size = info.shape[0], info.shape[-1]
        ngf, ndf = int(params["ngf"]), int(params["ndf"])
        if ngf < 1 or ndf < 1:
            raise GanbenchError(f"ngf and ndf must be positive, got ngf={ngf}, ndf={ndf}")
        self.generator = TextGenerator(info.text_dim, channels, size, ngf)
        self.discriminator = TextDiscriminator(info.text_dim, channels, size, ndf)
        self.cls_weight = CLS_WEIGHT if cls else 0.0
        self.int_weight = INT_WEIGHT if interpolate else 0.0
        self.beta = float(params.get("beta", 0.5))
        if not 0.0 <= self.beta <= 1.0:
            raise GanbenchError(f"beta must lie in [0, 1], got {self.beta}")

    @staticmethod
    def _text(cond: Batch) -> Tensor:
        if cond.text is None:
            raise GanbenchError("GAN-INT-CLS needs text embeddings in the batch (field 'text')")
        return cond.text

    def generate(self, z: Tensor | None, cond: Batch) -> Tensor:
        assert z is not None
        return self.generator(z, self._text(cond))

    def discriminate(self, x: Tensor, cond: Batch) -> Tensor:
        return self.discriminator(x, self._text(cond))

    def init_weights(self) -> None:
        """The code's ``weights_init``: convolutions and BatchNorm only."""
        for module in self.modules():
            if not isinstance(module, nn.Linear):
                dcgan_init(module)

    def configure_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        return self.adam_optimizers(lr=2e-4, betas=(0.5, 0.999))

    def d_loss_terms(self, step: StepTensors) -> dict[str, Tensor]:
        """Real pair, fake pair (weight 1 - cls_weight) and, for CLS, the wrong pair."""
        real_t, fake_t = step.real_targets, step.fake_targets
        assert real_t is not None and fake_t is not None
        bce = F.binary_cross_entropy_with_logits
        terms = {
            "adversarial": bce(step.real_logits, real_t)
            + (1.0 - self.cls_weight) * bce(step.fake_logits, fake_t)
        }
        if self.cls_weight:
            assert step.real_in is not None
            wrong_text, found = mismatched_text(self._text(step.batch))
            # The same real images D just saw, each with a caption that is not its own.
            wrong = self.discriminator(step.real_in, wrong_text)
            wrong_loss = bce(wrong[found], fake_t[found]) if bool(found.any()) else wrong.sum() * 0
            terms["mismatched"] = self.cls_weight * wrong_loss
        return terms

    def g_loss_terms(self, step: StepTensors) -> dict[str, Tensor]:
        """The adversarial term and, for INT, the interpolated captions' share."""
        terms = {"adversarial": self.adversarial_loss.g_loss(step.fake_logits)}
        text = self._text(step.batch)
        if self.int_weight and len(text) >= 2:
            mixed = interpolated_text(text, self.beta)
            z = self.sample_latent(len(mixed), text.device)
            logits = self.discriminator(self.generator(z, mixed), mixed)
            share = len(mixed) / len(text)  # the code's weighted BCE over N + N/2 rows
            terms["interpolated"] = self.int_weight * share * self.adversarial_loss.g_loss(logits)
        return terms


def _build(info: DataInfo, params: Mapping[str, Any], *, cls: bool, interpolate: bool) -> GanIntCls:
    return GanIntCls(info, params, cls=cls, interpolate=interpolate)


_WIDTHS = (
    Param("ngf", int, 128, "G's width at half the image size (the code's ngf)"),
    Param("ndf", int, 64, "D's width at half the image size (the code's ndf)"),
)
_BETA = Param("beta", float, 0.5, "interpolation weight of the first caption (the paper's 0.5)")

SPECS = (
    ModelSpec(
        name="gan-int-cls",
        build=partial(_build, cls=True, interpolate=True),
        task=TaskKind.TEXT_TO_IMAGE,
        data_kinds=("image",),
        paper=PAPER + " (GAN-INT-CLS)",
        description="text-to-image DCGAN, matching-aware D and interpolated captions",
        check=check_fits,
        params=(_BETA, *_WIDTHS),
    ),
    ModelSpec(
        name="gan-cls",
        build=partial(_build, cls=True, interpolate=False),
        task=TaskKind.TEXT_TO_IMAGE,
        data_kinds=("image",),
        paper=PAPER + " (GAN-CLS, section 4.1)",
        description="text-to-image DCGAN with the matching-aware discriminator",
        check=check_fits,
        params=_WIDTHS,
    ),
    ModelSpec(
        name="gan-int",
        build=partial(_build, cls=False, interpolate=True),
        task=TaskKind.TEXT_TO_IMAGE,
        data_kinds=("image",),
        paper=PAPER + " (GAN-INT, section 4.2)",
        description="text-to-image DCGAN trained on interpolated captions too",
        check=check_fits,
        params=(_BETA, *_WIDTHS),
    ),
)


@ganbench.hookimpl
def ganbench_register_models(register: Callable[[ModelSpec], None]) -> None:
    """Register ``gan-int-cls``, ``gan-cls`` and ``gan-int``."""
    for spec in SPECS:
        register(spec)
