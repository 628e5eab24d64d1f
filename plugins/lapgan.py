"""LAPGAN: Denton, Chintala, Szlam and Fergus 2015, "Deep Generative Image Models
using a Laplacian Pyramid of Adversarial Networks" (NeurIPS).

An image is generated coarse to fine through a Laplacian pyramid (the paper's
"Approach" section, LAPGAN subsection): the coarsest level's G_0 makes a small
image from noise; each finer level's G_k takes the coarser image upsampled,
l_k = u(x_{k-1}), with a noise plane, and makes the band-pass residual
h_k = x_k - u(d(x_k)), so that x_k = l_k + h_k. Each level's D_k judges the
residual together with its coarse image (the paper adds l_k to h_k "before the
first convolution layer", as the authors' ``nn.CAddTable``); D_0 judges the
coarsest image. Training follows the same section: the levels are independent
GANs on the *real* pyramid, G_k conditioned on the real l_k, real and fake
residuals of the same l_k shown to D_k. Sampling runs the pyramid coarse to
fine (:meth:`PyramidGenerator.pyramid`).

Where the numbers come from (the paper's "Model Architecture & Training"
section, CIFAR-10, called section 4 in our issue, and the authors' Torch code,
``facebook/eyescream``, ``cifar/scripts/train_cifar.lua`` for the coarse
level and ``train_cifar_coarse_to_fine.lua`` for the finer ones):

* levels: the image side is halved until it is at most ``coarsest`` (8, the
  paper's CIFAR-10 initial scale), at least once: 32 px gives 8 -> 16 -> 32,
  16 px 8 -> 16, and the 8 x 8 ``digits`` 4 -> 8 (every level keeps a
  factor of two; an odd side before ``coarsest`` is reached is refused).
* G_0 / D_0: fully connected, two hidden layers of ReLU, 1,200 units in G_0
  and 600 with dropout (0.5, Torch's default) in D_0; z_0 has 100 dimensions.
  Initialisation as ``train_cifar.lua``: weights N(0, 0.05) in G_0, N(0,
  0.005) in D_0, biases 0 (``g_init`` / ``d_init`` = ``paper``; ``default``
  keeps PyTorch's U(+-1/sqrt(fan-in)), also Torch7's ``nn.Linear`` default).
* G_k (k >= 1): the noise plane and l_k joined as channels (noise first, a
  "4th colour plane" for RGB), then three "same" convolutions, 7x7 and 7x7 to
  ``planes`` (64) maps with ReLU and 5x5 to the image's channels, linear: the
  residual.
* D_k (k >= 1): l_k + h_k, then a 5x5 convolution to ``planes`` maps, ReLU,
  a 5x5 convolution with stride 2, ReLU, dropout 0.5 and one logit (the
  sigmoid is folded into the loss). Finer levels keep PyTorch's initialisation,
  which is Torch7's default (uniform +- 1/sqrt(fan-in)) that the script keeps.
* d(.) is a 2 x 2 average (what bilinear down-scaling by two computes) and
  u(.) bilinear up-sampling; both keep images in [-1, 1].
* loss: cross-entropy for D, non-saturating for G (the code's targets of 1
  for G), one D update per G update (``--K 1``).
* optimiser: SGD, learning rate 0.02, momentum 0.5 (the paper, and the
  coarse-to-fine script's defaults), for every level.

How the levels train in one ganbench step, and why: one D update over every
level, then one G update over every level (``ctx.d_steps`` D updates first,
as every model's step), each with its own per-level forward half and hook
calls (``transform_d_input`` on the residual a D sees, ``transform_d_output``,
``targets``, ``loss_terms``) and one optimizer step over all levels: ``"d"``
holds every D_k, ``"g"`` every G_k. The levels share no parameter and SGD
acts on each parameter alone, so the joint step is exactly the paper's
independent per-level updates; it keeps one D and one G optimizer step per
step, so tricks that act after a step (``ema``, ``historical-averaging``)
count steps as for any other model. Terms are logged per level
(``loss_d.level0.adversarial``...). A ``loss_terms`` trick sees one level at
a time: its ``step`` is a :class:`LevelStepTensors`, whose ``real_in`` /
``fake_in`` are the level's residuals (the coarsest level's images) and whose
``discriminate`` is that level's D_k on the same l_k, so ``gradient-penalty``
and ``r1`` penalise every level's D; ``step.batch.x`` is the level's real image.
D's last features pass, at every level, through one parameter-free module
(``discriminator.last_features``, the model's ``discriminator_head_name``), so
``feature-matching`` matches each level's features; tricks that rewrite the
head layer (minibatch discrimination, minibatch stddev) find no single layer
that makes every level's logits, and refuse the model. Two tricks act on the
whole model rather than on one level: ``historical-averaging`` adds its
whole-network term at every level, so its weight counts once per level, and
``d-pretrain`` pretrains D with the core's standard update (the whole-image D
below, on pyramid samples), not level by level.

The whole-image D (``discriminate``, what evaluation-time metrics read) is the
sum of the levels' logits on the image's own pyramid: the pyramid is
invertible and p(x) factors into p(x_0) and the p(h_k | l_k), so the log
density ratios the D_k estimate add up to the image's.

Measured on ``digits`` (4 -> 8; 2,000 steps, batch 64, seed 0, one thread;
test fid[digits-evaluator] of the checkpoint chosen on validation):

* paper init (the default): 203.8. D_0 stays at chance for the whole run
  (its loss within 0.011 of 2 ln 2 = 1.386 at every step): with N(0, 0.005)
  weights and 16 inputs in [-1, 1] (the authors' CIFAR-10 D_0 read 192
  standardised pixels) its logits start with a spread of 2e-4 (PyTorch's
  init: 0.12) and G_0's gradients are 100-500 times smaller than under
  PyTorch's init. G_0 still learns the mean 4 x 4 image (mean error 0.06 at
  step 2000) and keeps spread (mean pairwise distance 1.7, real 2.0); the
  finer level does the rest: G_1 on the *real* coarse images scores 33.6 with
  the same checkpoint, the full sample 195, so the coarsest level is what
  limits LAPGAN here.
* ``g_init=default,d_init=default``: 535.8. D_0 learns at once, but G_0
  collapses (its samples' pairwise distance 0.2, 6 classes covered, recall
  0.02), and validation FID rises after step 600.
* ``g_init=paper,d_init=default``: 362.0; G_0 keeps spread but drifts off the
  data (mean error 0.2); the validation FID swings 360-930.

* seed 1, paper init: 227.6 (D_0's loss again within 0.032 of 1.386).
* level 0 alone (levels train independently; scored with run seed 0's G_1),
  paper settings 229: Adam (2e-4, beta1 0.5) 2066 and D_0 at learning rate
  0.2 1536 (D_0 wins, G_0 collapses); D_0 reading per-pixel standardised
  4 x 4 images (the authors' data scale) 703.

So nothing tried trains the coarse level better than the paper's settings,
which stay the defaults.

Deviations, and why:

* ganbench images lie in [-1, 1]; the authors standardise each pixel. G_0 ends
  in tanh (the code's last layer is linear), and each level's sample is
  clamped to [-1, 1] before it is upsampled for the next level and at the
  output (sampling only: training never clamps, so no gradient is lost).
* noise: N(0, I), z_0 and the noise planes alike, like every other ganbench
  model; the authors draw U(-1, 1) (``--trick uniform-latent`` gives that).
  z is one vector: z_0, then each finer level's plane, flattened, coarse to
  fine (``latent_dim`` 100 + 64 for 8 px data, 100 + 16^2 + 32^2 for 32 px).
* G_0's second hidden layer uses ReLU, as the paper says; ``train_cifar.lua``
  uses a sigmoid there.
* D_k's convolutions are unpadded, as the authors', when the level's side
  is at least 10; a smaller level (the 8 x 8 finest level of ``digits``)
  pads them by 2, since two unpadded 5x5 convolutions leave no map there.
* the paper's schedule (learning rate divided by 1 + 4e-5 and momentum + 0.0008
  per epoch, up to 0.8) is left out: per CIFAR-10 epoch (about 700 updates)
  it changes momentum by less than 0.003 over a 2,000-step budget.
* the paper trains each level for as long as it improves (a Parzen-window
  estimate, separate runs); here every level trains for the run's budget,
  batch size and validation of the protocol, so runs compare across models.
* CIFAR-10 in the paper is 28 x 28 crops (8 -> 14 -> 28); the issue asks for
  8 -> 16 -> 32 on 32 px data, which the halving rule gives.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

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
    logged_losses,
    step_optimizers,
)

GANBENCH_API_VERSION = 2
NAME = "lapgan"
#: Section 4: CIFAR-10's initial scale is 8 x 8, z_0 is 100-d.
COARSEST, NOISE_DIM = 8, 100
#: Section 4: hidden units of G_0 and of D_0.
G0_HIDDEN, D0_HIDDEN = 1200, 600
#: Feature maps of G_k and D_k (the coarse-to-fine script's --hidden_G / --hidden_D).
PLANES = 64
#: SGD (the paper's training section; train_cifar_coarse_to_fine.lua).
LR, MOMENTUM = 0.02, 0.5
#: train_cifar.lua's setWeights: N(0, std) weights, zero biases, for G_0 and D_0.
G0_INIT_STD, D0_INIT_STD = 0.05, 0.005
#: G_0's and D_0's initialisations: "paper" (train_cifar.lua's N(0, std)) or "default" (PyTorch's).
INITS = ("paper", "default")
DEFAULT_G_INIT, DEFAULT_D_INIT = "paper", "paper"
#: D_k's 5x5 convolutions are unpadded from this side up (the authors'), padded by 2 below.
UNPADDED_FROM = 10


# -- the pyramid ---------------------------------------------------------------------------------
def downsample(x: Tensor) -> Tensor:
    """d(.): N x C x 2s x 2s -> N x C x s x s, the mean of each 2 x 2 block."""
    return F.avg_pool2d(x, 2)


def upsample(x: Tensor) -> Tensor:
    """u(.): N x C x s x s -> N x C x 2s x 2s, bilinear (convex weights: the range is kept)."""
    return F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)


def pyramid_sides(side: int, coarsest: int = COARSEST) -> tuple[int, ...]:
    """The levels' sides, coarse to fine: ``side`` halved until at most ``coarsest``, at least once.

    Raises:
        IncompatibleError: ``coarsest`` < 1, or a side to halve is odd.
    """
    if coarsest < 1:
        raise IncompatibleError(f"model {NAME!r}: coarsest must be >= 1, got {coarsest}")
    sides = [side]
    while len(sides) == 1 or sides[-1] > coarsest:
        if sides[-1] % 2:
            raise IncompatibleError(
                f"model {NAME!r}: the pyramid halves the image side until it is at most "
                f"coarsest={coarsest}, and side {sides[-1]} (of a {side} px image) is odd; "
                "use another --image-size or coarsest"
            )
        sides.append(sides[-1] // 2)
    return tuple(reversed(sides))


@dataclass(frozen=True)
class PyramidLevel:
    """One level of an image's Laplacian pyramid (all N x C x s x s).

    Attributes:
        image: x_k, the image at this level's side.
        coarse: l_k = u(x_{k-1}), the coarser image upsampled (None at the coarsest level).
        residual: h_k = x_k - l_k (the image itself at the coarsest level).
    """

    image: Tensor
    coarse: Tensor | None
    residual: Tensor


def laplacian_pyramid(x: Tensor, levels: int) -> list[PyramidLevel]:
    """The ``levels``-level pyramid of ``x`` (N x C x S x S), coarse to fine.

    x_{k-1} = d(x_k) from x_K = x; h_k = x_k - u(x_{k-1}); level 0 is x_0 itself.
    """
    images = [x]
    for _ in range(levels - 1):
        images.append(downsample(images[-1]))
    images.reverse()
    out = [PyramidLevel(images[0], None, images[0])]
    for k in range(1, levels):
        coarse = upsample(images[k - 1])
        out.append(PyramidLevel(images[k], coarse, images[k] - coarse))
    return out


def reconstruct(coarsest: Tensor, residuals: Sequence[Tensor]) -> Tensor:
    """Inverse of :func:`laplacian_pyramid`: x_k = u(x_{k-1}) + h_k from x_0 up."""
    x = coarsest
    for h in residuals:
        x = upsample(x) + h
    return x


# -- networks ------------------------------------------------------------------------------------
class CoarseGenerator(nn.Module):
    """G_0: z_0 (N x noise) -> N x C x s x s in [-1, 1]; two ReLU layers (the paper)."""

    def __init__(self, noise: int, shape: tuple[int, int, int], hidden: int) -> None:
        super().__init__()
        self.shape = shape
        self.net = nn.Sequential(
            nn.Linear(noise, hidden),
            nn.ReLU(),
            nn.Linear(hidden, hidden),
            nn.ReLU(),
            nn.Linear(hidden, math.prod(shape)),
            nn.Tanh(),
        )

    def forward(self, z: Tensor) -> Tensor:
        return self.net(z).view(z.shape[0], *self.shape)


class ResidualGenerator(nn.Module):
    """G_k: (noise plane N x 1 x s x s, l_k N x C x s x s) -> the residual, N x C x s x s."""

    def __init__(self, channels: int, planes: int) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(channels + 1, planes, 7, padding=3),
            nn.ReLU(),
            nn.Conv2d(planes, planes, 7, padding=3),
            nn.ReLU(),
            nn.Conv2d(planes, channels, 5, padding=2),
        )

    def forward(self, noise: Tensor, coarse: Tensor) -> Tensor:
        # The authors' JoinTable puts the noise plane before the image's channels.
        return self.net(torch.cat([noise, coarse], dim=1))


class CoarseDiscriminator(nn.Module):
    """D_0's body: x_0 -> its last features (N x hidden); two ReLU layers with dropout."""

    def __init__(self, shape: tuple[int, int, int], hidden: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Flatten(),
            nn.Linear(math.prod(shape), hidden),
            nn.ReLU(),
            nn.Dropout(),
            nn.Linear(hidden, hidden),
            nn.ReLU(),
            nn.Dropout(),
        )
        self.head = nn.Linear(hidden, 1)

    def features(self, residual: Tensor, coarse: Tensor | None) -> Tensor:
        return self.body(residual)


class ResidualDiscriminator(nn.Module):
    """D_k's body: (h_k, l_k) -> the last features of h_k + l_k; two 5x5 convolutions."""

    def __init__(self, channels: int, side: int, planes: int) -> None:
        super().__init__()
        pad = 0 if side >= UNPADDED_FROM else 2
        inner = side - 4 + 2 * pad
        out = (inner + 2 * pad - 5) // 2 + 1
        self.body = nn.Sequential(
            nn.Conv2d(channels, planes, 5, padding=pad),
            nn.ReLU(),
            nn.Conv2d(planes, planes, 5, stride=2, padding=pad),
            nn.ReLU(),
            nn.Flatten(),
            nn.Dropout(),
        )
        self.head = nn.Linear(planes * out * out, 1)

    def features(self, residual: Tensor, coarse: Tensor | None) -> Tensor:
        assert coarse is not None
        return self.body(residual + coarse)  # l_k is added before the first convolution


class LastFeatures(nn.Module):
    """Identity: every level's last features pass here, on their way to the level's head.

    The model's ``discriminator_head_name``, so that tricks reading D's last
    features (feature matching) read those of the level that just ran.
    """

    def forward(self, features: Tensor) -> Tensor:
        return features


class PyramidGenerator(nn.Module):
    """Every level's G and the coarse-to-fine sampler: z (N x latent_dim) -> images."""

    def __init__(
        self, channels: int, sides: tuple[int, ...], noise: int, hidden: int, planes: int
    ) -> None:
        super().__init__()
        self.sides, self.noise = sides, noise
        coarse: nn.Module = CoarseGenerator(noise, (channels, sides[0], sides[0]), hidden)
        self.levels = nn.ModuleList(
            [coarse, *(ResidualGenerator(channels, planes) for _ in sides[1:])]
        )

    @property
    def latent_dim(self) -> int:
        """z_0's width plus one noise plane per finer level."""
        return self.noise + sum(s * s for s in self.sides[1:])

    def split_latent(self, z: Tensor) -> list[Tensor]:
        """z -> [z_0 (N x noise), then each finer level's plane (N x 1 x s x s)]."""
        sizes = [self.noise, *(s * s for s in self.sides[1:])]
        parts = list(torch.split(z, sizes, dim=1))
        return [
            parts[0],
            *(p.reshape(-1, 1, s, s) for p, s in zip(parts[1:], self.sides[1:], strict=True)),
        ]

    def level(self, k: int, noise: Tensor, coarse: Tensor | None) -> Tensor:
        """Level k's output: x_0 from z_0 (k = 0), else the residual for l_k = ``coarse``."""
        return self.levels[0](noise) if k == 0 else self.levels[k](noise, coarse)

    def pyramid(self, z: Tensor) -> list[PyramidLevel]:
        """Sampling, coarse to fine: x_0 = G_0(z_0), x_k = clamp(u(x_{k-1}) + G_k(z_k, u(x_{k-1})))."""
        noises = self.split_latent(z)
        x = self.level(0, noises[0], None)
        out = [PyramidLevel(x, None, x)]
        for k in range(1, len(self.sides)):
            coarse = upsample(x)
            residual = self.level(k, noises[k], coarse)
            x = (coarse + residual).clamp(-1.0, 1.0)
            out.append(PyramidLevel(x, coarse, residual))
        return out

    def forward(self, z: Tensor) -> Tensor:
        return self.pyramid(z)[-1].image


class PyramidDiscriminator(nn.Module):
    """Every level's D; ``forward(x)`` sums their logits on x's own pyramid."""

    def __init__(self, channels: int, sides: tuple[int, ...], hidden: int, planes: int) -> None:
        super().__init__()
        self.sides = sides
        coarse: nn.Module = CoarseDiscriminator((channels, sides[0], sides[0]), hidden)
        self.levels = nn.ModuleList(
            [coarse, *(ResidualDiscriminator(channels, s, planes) for s in sides[1:])]
        )
        self.last_features = LastFeatures()

    def level_logits(self, k: int, residual: Tensor, coarse: Tensor | None) -> Tensor:
        """D_k's logits (N,) on the residual ``residual`` of l_k = ``coarse`` (x_0 at k = 0)."""
        level = self.levels[k]
        return level.head(self.last_features(level.features(residual, coarse))).squeeze(1)

    def forward(self, x: Tensor) -> Tensor:
        """Logits (N,): the sum over levels 0..j of D_k on x's pyramid (x's side is s_j)."""
        side = x.shape[-1]
        if side not in self.sides:
            raise ValueError(f"{NAME}: D takes images of side {self.sides}, got {side}")
        levels = laplacian_pyramid(x, self.sides.index(side) + 1)
        return torch.stack(
            [self.level_logits(k, lv.residual, lv.coarse) for k, lv in enumerate(levels)]
        ).sum(0)


# -- the update ----------------------------------------------------------------------------------
@dataclass
class LevelStepTensors(StepTensors):
    """A :class:`StepTensors` of one pyramid level.

    ``fake``, ``fake_in``, ``real_in`` are the level's residuals (images at
    level 0), ``batch.x`` its real image x_k; ``discriminate`` is D_k on l_k.

    Attributes:
        level: k, 0 the coarsest.
        coarse: l_k (None at level 0).
    """

    level: int = 0
    coarse: Tensor | None = None

    def discriminate(self, x: Tensor) -> Tensor:
        """D_k's logits on residuals ``x`` of this level's l_k (e.g. on interpolates)."""
        return self.model.discriminator.level_logits(self.level, x, self.coarse)


# -- the model -----------------------------------------------------------------------------------
class LAPGAN(UnconditionalGAN):
    """A Laplacian pyramid of GANs, trained level by level on the real pyramid."""

    loss = "non-saturating"
    discriminator_head_name = "last_features"

    def __init__(self, info: DataInfo, params: Mapping[str, Any]) -> None:
        super().__init__()
        reason = check_fits(info)
        if reason is not None:
            raise IncompatibleError(f"model {NAME!r}: {reason}")
        widths = {k: int(params[k]) for k in ("planes", "g_hidden", "d_hidden")}
        if min(widths.values()) < 1:
            raise IncompatibleError(f"model {NAME!r}: widths must be >= 1, got {widths}")
        channels, side = info.shape[0], info.shape[-1]
        self.sides = pyramid_sides(side, int(params["coarsest"]))
        self.generator = PyramidGenerator(
            channels, self.sides, NOISE_DIM, widths["g_hidden"], widths["planes"]
        )
        self.discriminator = PyramidDiscriminator(
            channels, self.sides, widths["d_hidden"], widths["planes"]
        )
        self.latent_dim = self.generator.latent_dim
        self.inits = {k: str(params[k]) for k in ("g_init", "d_init")}
        for key, value in self.inits.items():
            if value not in INITS:
                raise IncompatibleError(
                    f"model {NAME!r}: {key} cannot be {value!r}; valid choices: {', '.join(INITS)}"
                )

    def init_weights(self) -> None:
        """``g_init=paper``: G_0's weights N(0, 0.05), ``d_init=paper``: D_0's N(0, 0.005),
        zero biases (train_cifar.lua); ``default`` keeps PyTorch's initialisation."""
        pairs = (
            (self.generator.levels[0], G0_INIT_STD, self.inits["g_init"]),
            (self.discriminator.levels[0], D0_INIT_STD, self.inits["d_init"]),
        )
        for net, std, init in pairs:
            if init == "default":
                continue
            for m in net.modules():
                if isinstance(m, nn.Linear):
                    nn.init.normal_(m.weight, 0.0, std)
                    nn.init.zeros_(m.bias)

    def configure_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        """SGD(0.02, momentum 0.5) over every level's G and every level's D (the paper)."""
        return {
            "g": torch.optim.SGD(self.generator.parameters(), lr=LR, momentum=MOMENTUM),
            "d": torch.optim.SGD(self.discriminator.parameters(), lr=LR, momentum=MOMENTUM),
        }

    def _level_inputs(self, batch: Batch, ctx: StepContext) -> tuple[Tensor | None, list]:
        """z, and per level (the real pyramid's level, that level's noise)."""
        z = self.sample_latent(len(batch), ctx.device)
        assert z is not None
        real = laplacian_pyramid(batch.x, len(self.sides))
        return z, list(zip(real, self.generator.split_latent(z), strict=True))

    def _d_update(self, batch: Batch, ctx: StepContext) -> dict[str, Tensor]:
        """Every level's D on real and fake residuals of the real l_k, one optimizer step."""
        hooks, d = ctx.hooks, self.discriminator
        z, levels = self._level_inputs(batch, ctx)
        terms: dict[str, Tensor] = {}
        for k, (real, noise) in enumerate(levels):
            with torch.no_grad():
                fake = self.generator.level(k, noise, real.coarse)
            real_in = hooks.transform_d_input(real.residual, "real", ctx)
            fake_in = hooks.transform_d_input(fake, "fake", ctx)
            real_out = {"logits": d.level_logits(k, real_in, real.coarse)}
            fake_out = {"logits": d.level_logits(k, fake_in, real.coarse)}
            real_out = hooks.transform_d_output(real_out, "real", ctx)
            fake_out = hooks.transform_d_output(fake_out, "fake", ctx)
            real_t, fake_t = hooks.targets(
                torch.ones_like(real_out["logits"]), torch.zeros_like(fake_out["logits"]), ctx
            )
            step = LevelStepTensors(
                "d", self, batch.with_x(real.image), z, fake, fake_in, fake_out, ctx,
                real_in, real_out, real_t, fake_t, level=k, coarse=real.coarse,
            )  # fmt: skip
            level_terms = hooks.loss_terms(dict(self.d_loss_terms(step)), step)
            terms.update({f"level{k}.{name}": t for name, t in level_terms.items()})
        total = step_optimizers(ctx, self.d_optimizers, terms)
        self.after_d_update(ctx)
        hooks.after_d_step(self, ctx)
        return logged_losses("loss_d", total, terms)

    def _g_update(self, batch: Batch, ctx: StepContext) -> dict[str, Tensor]:
        """Every level's G against its D, conditioned on the real l_k, one optimizer step."""
        hooks, d = ctx.hooks, self.discriminator
        z, levels = self._level_inputs(batch, ctx)
        terms: dict[str, Tensor] = {}
        for k, (real, noise) in enumerate(levels):
            fake = self.generator.level(k, noise, real.coarse)
            fake_in = hooks.transform_d_input(fake, "fake", ctx)
            fake_out = {"logits": d.level_logits(k, fake_in, real.coarse)}
            fake_out = hooks.transform_d_output(fake_out, "fake", ctx)
            step = LevelStepTensors(
                "g", self, batch.with_x(real.image), z, fake, fake_in, fake_out, ctx,
                level=k, coarse=real.coarse,
            )  # fmt: skip
            # Right after the level's D pass: a trick reading D's last features reads this level's.
            level_terms = hooks.loss_terms(dict(self.g_loss_terms(step)), step)
            terms.update({f"level{k}.{name}": t for name, t in level_terms.items()})
        total = step_optimizers(ctx, self.g_optimizers, terms)
        hooks.after_g_step(self, ctx)
        return logged_losses("loss_g", total, terms)

    def train_step(self, batch: Batch, ctx: StepContext) -> dict[str, Tensor]:
        """``ctx.d_steps`` joint D updates of every level, then one joint G update."""
        return alternating_updates(batch, ctx, self._d_update, self._g_update)


def check_fits(info: DataInfo) -> str | None:
    """Why LAPGAN cannot be built for ``info`` (any ``coarsest``), or None."""
    if info.kind != "image" or len(info.shape) != 3:
        return "LAPGAN's pyramid needs image data"
    if info.shape[1] != info.shape[2]:
        return f"LAPGAN needs square images, got {info.shape[1]}x{info.shape[2]}"
    if info.shape[2] % 2:
        return f"the pyramid halves the image at least once: the side must be even, got {info.shape[2]}"
    return None


@ganbench.hookimpl
def ganbench_register_models(register: Callable[[ModelSpec], None]) -> None:
    register(
        ModelSpec(
            name=NAME,
            build=LAPGAN,
            task=TaskKind.UNCONDITIONAL,
            data_kinds=("image",),
            paper=(
                "Denton et al. 2015, LAPGAN: Approach and Model Architecture & Training (CIFAR-10); "
                "facebook/eyescream"
            ),
            description=(
                "Laplacian pyramid of GANs: MLP G_0/D_0 at the coarsest level, conv G_k making "
                "residuals of the upsampled coarser image; SGD 0.02, momentum 0.5"
            ),
            check=check_fits,
            params=(
                Param("coarsest", int, COARSEST, "halve the side until at most this (paper: 8)"),
                Param("planes", int, PLANES, "feature maps of G_k and D_k (authors' code: 64)"),
                Param("g_hidden", int, G0_HIDDEN, "hidden units of G_0 (paper: 1200)"),
                Param("d_hidden", int, D0_HIDDEN, "hidden units of D_0 (paper: 600)"),
                Param(
                    "g_init",
                    str,
                    DEFAULT_G_INIT,
                    "G_0's weights: paper (N(0, 0.05), train_cifar.lua) or default (PyTorch's)",
                    choices=INITS,
                ),
                Param(
                    "d_init",
                    str,
                    DEFAULT_D_INIT,
                    "D_0's weights: paper (N(0, 0.005), train_cifar.lua) or default (PyTorch's)",
                    choices=INITS,
                ),
            ),
        )
    )
