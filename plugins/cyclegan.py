"""CycleGAN: Zhu, Park, Isola and Efros 2017, "Unpaired Image-to-Image Translation
using Cycle-Consistent Adversarial Networks" (ICCV).

Two translators, G: A -> B and F: B -> A, and two discriminators, D_B (judges
B images: real ones and G(a)) and D_A (real A images and F(b)), trained with
cycle consistency, F(G(a)) ~ a and G(F(b)) ~ b. Domain A is the batch's
``source`` and domain B its ``x``: :meth:`CycleGAN.generate` is G,
:meth:`CycleGAN.generate_inverse` is F, and :meth:`CycleGAN.discriminate` is
D_B. The pair (G, D_B) is what the evaluation scores.

Networks, from the paper's section 4 and appendix 7.2 and the authors' code
(junyanz/pytorch-CycleGAN-and-pix2pix, ``models/networks.py``):

* **G and F** (``ResnetGenerator``, after Johnson et al. 2016): reflection
  padding 3 and a 7x7 convolution to 64 maps; 2 stride-2 3x3 convolutions
  (128, 256 maps); n residual blocks (reflection pad 1, 3x3 conv, IN, ReLU,
  reflection pad 1, 3x3 conv, IN, plus the input); 2 stride-2 3x3
  transposed convolutions back (128, 64); reflection padding 3, a 7x7
  convolution to the image's channels, tanh. Every convolution but the last
  is followed by InstanceNorm (no affine parameters, no running statistics)
  and ReLU, and has a bias (the authors' ``use_bias`` under InstanceNorm).
  n is 6 for 128 x 128 images and 9 for 256 x 256 and larger (section 4).
* **D_A and D_B** (``NLayerDiscriminator``, the 70 x 70 PatchGAN): 4x4
  convolutions C64 (no norm), C128, C256 with stride 2, C512 with stride 1,
  each with LeakyReLU 0.2 and all but the first with InstanceNorm, then a
  4x4 convolution to one logit per patch (padding 1 throughout).
* **Initialisation**: weights N(0, 0.02), biases 0 (appendix 7.1; the
  authors' ``init_type=normal``, ``init_gain=0.02``).

Objective and training (sections 3-4, appendix 7.1, the authors'
``cycle_gan_model.py`` and ``train_options.py``):

* least-squares adversarial losses (``gan_mode=lsgan``): D minimises
  0.5 x [(D(real) - 1)^2 + D(fake)^2], G minimises (D(G(a)) - 1)^2, each a
  mean over D's patches; the authors' G term has no factor 0.5, so the terms
  are written out here rather than taken from the core's ``least-squares``
  loss (whose D loss is the same, and whose G loss has the 0.5);
* cycle consistency lambda x (|F(G(a)) - a|_1 + |G(F(b)) - b|_1), lambda = 10
  (``cycle``);
* identity loss 0.5 x lambda x (|G(b) - b|_1 + |F(a) - a|_1) (section 5.2;
  the authors' default ``lambda_identity=0.5``, ``identity`` here, a share of
  lambda);
* each D sees, in place of the newest fakes, an image pool of the last 50
  generated images (Shrivastava et al. 2017; the authors' ``ImagePool``):
  while the pool is filling each fake passes through and is stored; then
  each fake, with probability 0.5, is swapped for a random stored one
  (which the new fake replaces), else passes through;
* Adam, learning rate 2e-4, betas (0.5, 0.999), one optimizer over G and F
  and one over D_A and D_B; the rate is constant for the first half of
  training and decays linearly to 0 over the second (the paper: 100 epochs
  and 100 more; here ``decay_from`` = 0.5 of the step budget, by generator
  step). The rate each optimizer had when training started (after the
  tricks' ``configure_optimizers``, TTUR say) is the one decayed; it is kept
  in the optimizer's state (``initial_lr``), so a resumed run decays it the
  same way. A resume that extends ``--steps`` decays over the new budget;
* the update order is the authors': G and F in one step (D frozen), then
  D_A and D_B in one step on the same step's fakes, through the pools.
  ``--d-steps N`` adds N - 1 D updates on fresh batches.

Sized down for small images (parameters; ``auto`` takes the paper's values
where the image is large enough):

* ``downsamplings`` (the paper: 2): auto is 2 while that leaves a
  bottleneck of at least 4 x 4 pixels (16 px images and up), 1 for 8 px:
  the 8 x 8 digits-m images go down to 4 x 4, not 2 x 2;
* ``blocks`` (residual blocks): auto is 9 from 256 px, 6 from 128 px (the
  paper), and for smaller images 6 down to 32 px and 3 below: at a 4 x 4
  bottleneck, 3 blocks (six 3x3 convolutions) already see the whole
  bottleneck, and a digits-m step costs about half of what 6 blocks cost;
* ``d_layers`` (the PatchGAN's stride-2 convolutions; the paper: 3, a 70 x 70
  receptive field): auto is 3 from 32 px and otherwise the most that leave
  2 x 2 patch logits (1 for 8 px: a 16 x 16 receptive field, 2 x 2 patches,
  each seeing most of the image);
* ``width`` (ngf = ndf, 64 in the paper): kept at 64 by default.

Deviations, and why:

* Batch size and step budget are the benchmark protocol's (digits-m: batch
  64, 2,000 steps); the paper trains at batch 1 for 200 epochs. The decay
  follows the budget, by generator step rather than by epoch.
* :meth:`CycleGAN.discriminate` returns one logit per image, the mean of
  D_B's patch logits: the ganbench interface (and the attack metric, whose
  decision threshold is the least-squares 0.5) wants (N,). The losses use
  the patch logits themselves (``discriminator_outputs``' ``patch_logits``);
  a trick that moves the per-image ``logits`` (output noise) moves each
  image's patch logits by the same amount, and the targets (label smoothing,
  label flips) are per image, shared by its patches.
* One trick ``loss_terms`` call per update, on the (G, D_B) pair's tensors,
  as the core's update makes it: a trick's D penalty (gradient penalty, R1)
  regularises D_B only; D_A's inputs and outputs go through
  ``transform_d_input`` and ``transform_d_output`` too, with their own
  ``targets``. Tricks that act on D's head (feature matching) act on D_B's
  (``discriminator_head_name``).
* No dropout in G, as the authors' CycleGAN (``no_dropout=True``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
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
    StepContext,
    StepTensors,
    TaskKind,
    discriminator_tensors,
    generator_tensors,
    logged_losses,
    step_optimizers,
)

GANBENCH_API_VERSION = 2

NAME = "cyclegan"
#: lambda, the weight of the cycle-consistency loss (section 4).
CYCLE_WEIGHT = 10.0
#: The identity loss's weight as a share of lambda (the authors' lambda_identity).
IDENTITY_SHARE = 0.5
#: Images in each discriminator's history (section 4; the authors' pool_size).
POOL_SIZE = 50
#: Adam (section 4; the authors' lr and beta1).
LR, BETAS = 2e-4, (0.5, 0.999)
#: Share of the budget at the base learning rate before the linear decay to 0.
DECAY_FROM = 0.5
#: ngf = ndf (the authors' defaults).
WIDTH = 64
#: Weights are drawn from N(0, INIT_STD) (appendix 7.1).
INIT_STD = 0.02
#: The paper's sizes: downsamplings of G, stride-2 layers of the PatchGAN.
PAPER_DOWNSAMPLINGS, PAPER_D_LAYERS = 2, 3
#: The smallest side the networks are sized for (the PatchGAN's first
#: convolution must leave 4 x 4 for two more 4x4 convolutions to give 2 x 2).
MIN_SIZE = 8
AUTO = "auto"


# -- sizing ------------------------------------------------------------------------------
def auto_downsamplings(size: int) -> int:
    """The paper's 2 stride-2 convolutions, fewer when the bottleneck would be under 4 x 4."""
    n = PAPER_DOWNSAMPLINGS
    while n > 0 and size // 2**n < 4:
        n -= 1
    return n


def auto_blocks(size: int) -> int:
    """Residual blocks: 9 from 256 px, 6 from 128 px (section 4); 6 from 32 px, else 3."""
    if size >= 256:
        return 9
    return 6 if size >= 32 else 3


def auto_d_layers(size: int) -> int:
    """The PatchGAN's 3 stride-2 layers, fewer when fewer than 2 x 2 patches would be left."""
    n = PAPER_D_LAYERS
    while n > 1 and patch_side(size, n) < 2:
        n -= 1
    return n


def patch_side(size: int, d_layers: int) -> int:
    """Side of the PatchGAN's logit map: ``d_layers`` halvings, then two 4x4 convolutions (-1 each)."""
    side = size
    for _ in range(d_layers):
        side = (side + 2 - 4) // 2 + 1
    return side - 2


def check_fits(info: DataInfo) -> str | None:
    """Why CycleGAN cannot be sized for ``info``, or None."""
    if info.kind != "image" or len(info.shape) != 3:
        return f"CycleGAN translates images, got {info.kind} data of shape {info.shape}"
    if info.source_shape is None or tuple(info.source_shape) != tuple(info.shape):
        return (
            "CycleGAN needs both domains (source and x) the same shape, for its identity loss "
            f"and its two translators: got x {info.shape} and source {info.source_shape}"
        )
    _, height, width = info.shape
    if height != width or height < MIN_SIZE:
        return f"CycleGAN needs square images of at least {MIN_SIZE} px, got {height}x{width}"
    halvings = auto_downsamplings(height)
    if height % 2**halvings:
        return (
            f"CycleGAN's generator halves {height} px images {halvings} times: needs a side "
            f"divisible by {2**halvings}, got {height}"
        )
    return None


def _size_param(params: Mapping[str, Any], name: str, auto: int, low: int) -> int:
    """A sizing parameter: ``auto`` (the value for this image size) or a whole number >= ``low``."""
    raw = str(params[name]).strip()
    if raw == AUTO:
        return auto
    try:
        value = int(raw)
    except ValueError:
        value = low - 1
    if value < low:
        raise GanbenchError(
            f"model {NAME!r}: {name}={raw!r} is not valid; valid choices: {AUTO} or a whole "
            f"number >= {low}"
        )
    return value


# -- networks ------------------------------------------------------------------------------
def _norm(maps: int) -> nn.Module:
    # The authors' instance norm: no affine parameters, no running statistics.
    return nn.InstanceNorm2d(maps, affine=False, track_running_stats=False)


class ResnetBlock(nn.Module):
    """Reflection pad, 3x3 conv, IN, ReLU, reflection pad, 3x3 conv, IN; plus the input."""

    def __init__(self, maps: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.ReflectionPad2d(1),
            nn.Conv2d(maps, maps, 3),
            _norm(maps),
            nn.ReLU(True),
            nn.ReflectionPad2d(1),
            nn.Conv2d(maps, maps, 3),
            _norm(maps),
        )

    def forward(self, x: Tensor) -> Tensor:
        return x + self.body(x)


class ResnetGenerator(nn.Module):
    """Images of one domain (N x C x S x S) -> the other's, in [-1, 1] (appendix 7.2)."""

    def __init__(
        self, channels: int, width: int = WIDTH, downsamplings: int = 2, blocks: int = 9
    ) -> None:
        super().__init__()
        layers: list[nn.Module] = [
            nn.ReflectionPad2d(3),
            nn.Conv2d(channels, width, 7),
            _norm(width),
            nn.ReLU(True),
        ]
        maps = width
        for _ in range(downsamplings):
            layers += [nn.Conv2d(maps, maps * 2, 3, stride=2, padding=1), _norm(maps * 2)]
            layers.append(nn.ReLU(True))
            maps *= 2
        layers += [ResnetBlock(maps) for _ in range(blocks)]
        for _ in range(downsamplings):
            layers.append(
                nn.ConvTranspose2d(maps, maps // 2, 3, stride=2, padding=1, output_padding=1)
            )
            layers += [_norm(maps // 2), nn.ReLU(True)]
            maps //= 2
        layers += [nn.ReflectionPad2d(3), nn.Conv2d(maps, channels, 7), nn.Tanh()]
        self.model = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        return self.model(x)


class PatchDiscriminator(nn.Module):
    """Images (N x C x S x S) -> patch logits (N x 1 x P x P): the PatchGAN (appendix 7.2)."""

    def __init__(self, channels: int, width: int = WIDTH, layers: int = 3) -> None:
        super().__init__()
        body: list[nn.Module] = [
            nn.Conv2d(channels, width, 4, stride=2, padding=1),
            nn.LeakyReLU(0.2, True),
        ]
        maps = width
        for n in range(1, layers + 1):
            out = width * min(2**n, 8)
            stride = 2 if n < layers else 1  # the last of these keeps the size (C512, stride 1)
            body += [nn.Conv2d(maps, out, 4, stride=stride, padding=1), _norm(out)]
            body.append(nn.LeakyReLU(0.2, True))
            maps = out
        self.body = nn.Sequential(*body)
        self.head = nn.Conv2d(maps, 1, 4, stride=1, padding=1)

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.body(x))


def init_normal(module: nn.Module) -> None:
    """Convolution weights N(0, 0.02), biases 0 (the authors' ``init_weights``)."""
    if isinstance(module, nn.Conv2d | nn.ConvTranspose2d):
        nn.init.normal_(module.weight, 0.0, INIT_STD)
        if module.bias is not None:
            nn.init.zeros_(module.bias)


# -- the image pool -------------------------------------------------------------------------
class ImagePool(nn.Module):
    """A history of generated images for D (Shrivastava et al. 2017, section 2.3).

    The images and their count are buffers: they move with the model and are
    in its ``state_dict``, so a checkpoint holds the pool and a resumed run
    draws the same images. ``size`` 0 disables it (every fake passes).
    """

    def __init__(self, size: int, shape: tuple[int, ...]) -> None:
        super().__init__()
        self.size = int(size)
        self.register_buffer("images", torch.zeros(self.size, *shape))
        self.register_buffer("count", torch.zeros((), dtype=torch.long))

    @torch.no_grad()
    def query(self, fakes: Tensor, generator: torch.Generator | None = None) -> Tensor:
        """What D sees in place of ``fakes`` (detached), updating the pool.

        Image by image, as the authors' ``ImagePool.query``: while the pool
        has room, the image is stored and passes; once full, with probability
        0.5 a random stored image is returned and the new one takes its slot,
        otherwise the new one passes. The draws come from ``generator``
        (default: torch's global CPU generator, which checkpoints restore).
        """
        out = fakes.detach().clone()
        if self.size == 0:
            return out
        n = len(fakes)
        swap = (torch.rand(n, generator=generator) > 0.5).tolist()
        slot = torch.randint(self.size, (n,), generator=generator).tolist()
        filled = int(self.count)
        for i in range(n):
            if filled < self.size:
                self.images[filled] = out[i]
                filled += 1
            elif swap[i]:
                kept = self.images[slot[i]].clone()
                self.images[slot[i]] = out[i]
                out[i] = kept
        self.count.fill_(filled)
        return out


# -- the learning-rate schedule -------------------------------------------------------------
def lr_factor(step: int, total_steps: int, decay_from: float = DECAY_FROM) -> float:
    """The share of the base learning rate at generator step ``step`` of ``total_steps``.

    1 until ``decay_from`` of the budget, then linear to 0 at ``total_steps``
    (the authors' ``lr_policy=linear``, by step instead of epoch).
    """
    start = int(round(total_steps * decay_from))
    if step < start or total_steps <= start:
        return 1.0
    return max(0.0, (total_steps - step) / (total_steps - start))


def set_decayed_lr(ctx: StepContext, names: tuple[str, ...], factor: float) -> None:
    """Each named optimizer's rate = its rate when training started x ``factor``."""
    for name in names:
        for group in ctx.optimizers[name].param_groups:
            # Kept in the optimizer's state_dict: a resumed run decays the same rate.
            group.setdefault("initial_lr", group["lr"])
            group["lr"] = group["initial_lr"] * factor


@contextmanager
def frozen(module: nn.Module) -> Iterator[None]:
    """No gradients for ``module``'s weights inside (the authors freeze D for G's update)."""
    params = [p for p in module.parameters() if p.requires_grad]
    for p in params:
        p.requires_grad_(False)
    try:
        yield
    finally:
        for p in params:
            p.requires_grad_(True)


# -- the model ------------------------------------------------------------------------------
def patch_logits(out: Mapping[str, Tensor]) -> Tensor:
    """D's patch logits (N x P), moved by whatever the tricks did to the per-image logit."""
    shift = out["logits"] - out["patch_mean"]  # exactly 0 when no trick moved it
    return out["patch_logits"] + shift.unsqueeze(1)


def _g_adversarial(out: Mapping[str, Tensor]) -> Tensor:
    """(D(fake) - 1)^2 over the patches: the authors' least-squares G loss (no 0.5)."""
    patches = patch_logits(out)
    return F.mse_loss(patches, torch.ones_like(patches))


class CycleGAN(GANModel):
    """G: A -> B and F: B -> A with PatchGAN discriminators D_B and D_A."""

    task = TaskKind.UNPAIRED_TRANSLATION
    latent_dim = 0  # the translators are deterministic functions of their input
    loss = "least-squares"
    #: D_B's logit layer: what tricks acting on "D's head" act on.
    discriminator_head_name = "b.head"

    def __init__(self, info: DataInfo, params: Mapping[str, Any]) -> None:
        super().__init__()
        channels, size, _ = info.shape
        self.cycle_weight = float(params["cycle"])
        self.identity_weight = float(params["identity"]) * self.cycle_weight
        self.decay_from = float(params["decay_from"])
        width = int(params["width"])
        pool = int(params["pool"])
        if width < 1 or pool < 0 or min(self.cycle_weight, self.identity_weight) < 0:
            raise GanbenchError(
                f"model {NAME!r}: width must be >= 1 and pool, cycle and identity >= 0; got "
                f"width={width}, pool={pool}, cycle={params['cycle']}, identity={params['identity']}"
            )
        if not 0.0 <= self.decay_from <= 1.0:
            raise GanbenchError(
                f"model {NAME!r}: decay_from={self.decay_from} is not a share of the budget; "
                "valid choices: a number from 0 to 1"
            )
        self.downsamplings = _size_param(params, "downsamplings", auto_downsamplings(size), 0)
        self.blocks = _size_param(params, "blocks", auto_blocks(size), 0)
        self.d_layers = _size_param(params, "d_layers", auto_d_layers(size), 1)
        if size % 2**self.downsamplings or size >> self.downsamplings < 2:
            raise GanbenchError(
                f"model {NAME!r}: downsamplings={self.downsamplings} halves {size} px images "
                f"to a fraction or below 2 px; valid choices: auto or at most "
                f"{min(int(math.log2(size & -size)), int(math.log2(size)) - 1)}"
            )
        if patch_side(size, self.d_layers) < 1:
            raise GanbenchError(
                f"model {NAME!r}: d_layers={self.d_layers} leaves no patch of {size} px images; "
                f"valid choices: auto or at most {auto_d_layers(size)}"
            )

        def translator() -> ResnetGenerator:
            return ResnetGenerator(channels, width, self.downsamplings, self.blocks)

        # Containers, so that parameters(), state_dict(), the optimizers and the
        # tricks acting on G or D (EMA, spectral norm) see both networks of each role.
        self.generator = nn.ModuleDict({"a_to_b": translator(), "b_to_a": translator()})
        self.discriminator = nn.ModuleDict(
            {
                "b": PatchDiscriminator(channels, width, self.d_layers),
                "a": PatchDiscriminator(channels, width, self.d_layers),
            }
        )
        self.fake_b_pool = ImagePool(pool, tuple(info.shape))
        self.fake_a_pool = ImagePool(pool, tuple(info.shape))

    # -- the interface -------------------------------------------------------------
    @staticmethod
    def _source(cond: Batch) -> Tensor:
        if cond.source is None:
            raise GanbenchError(f"{NAME} needs domain-A images (source) in the batch")
        return cond.source

    def generate(self, z: Tensor | None, cond: Batch) -> Tensor:
        """G(a): the batch's domain-A images (``source``) translated to domain B."""
        return self.generator["a_to_b"](self._source(cond))

    def generate_inverse(self, x: Tensor) -> Tensor:
        """F(b): domain-B images translated back to domain A."""
        return self.generator["b_to_a"](x)

    def discriminate(self, x: Tensor, cond: Batch) -> Tensor:
        """D_B's logit per image: the mean of its patch logits (N,)."""
        return self.discriminator["b"](x).mean(dim=(1, 2, 3))

    def discriminator_outputs(self, x: Tensor, cond: Batch) -> dict[str, Tensor]:
        """D_B's ``logits`` (N,), and its ``patch_logits`` (N x P) the losses use."""
        return self._judge(self.discriminator["b"], x)

    @staticmethod
    def _judge(d: nn.Module, x: Tensor) -> dict[str, Tensor]:
        patches = d(x).flatten(1)
        mean = patches.mean(dim=1)
        # ``patch_mean`` keeps the logit as D made it: a trick's change to
        # ``logits`` is told from it and carried to the patches.
        return {"logits": mean, "patch_logits": patches, "patch_mean": mean}

    def configure_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        """Adam 2e-4, betas (0.5, 0.999): ``g`` over G and F, ``d`` over D_B and D_A."""
        return self.adam_optimizers(lr=LR, betas=BETAS)

    def init_weights(self) -> None:
        self.apply(init_normal)

    # -- the losses -----------------------------------------------------------------
    def _d_adversarial(
        self,
        real_out: Mapping[str, Tensor],
        fake_out: Mapping[str, Tensor],
        real_t: Tensor,
        fake_t: Tensor,
    ) -> Tensor:
        """0.5 x [(D(real) - t_real)^2 + (D(fake) - t_fake)^2] over the patches."""
        real, fake = patch_logits(real_out), patch_logits(fake_out)
        # Per-image targets, shared by the image's patches.
        return self.adversarial_loss.d_loss(
            real, fake, real_t.unsqueeze(1).expand_as(real), fake_t.unsqueeze(1).expand_as(fake)
        )

    def _d_a_term(self, step: StepTensors, fake_a: Tensor) -> Tensor:
        """D_A's loss on the batch's A images and ``fake_a``, through the D-side hooks."""
        ctx, hooks, d_a = step.ctx, step.ctx.hooks, self.discriminator["a"]
        real_in = hooks.transform_d_input(self._source(step.batch), "real", ctx)
        fake_in = hooks.transform_d_input(fake_a, "fake", ctx)
        real_out = hooks.transform_d_output(self._judge(d_a, real_in), "real", ctx)
        fake_out = hooks.transform_d_output(self._judge(d_a, fake_in), "fake", ctx)
        real_t, fake_t = hooks.targets(
            torch.ones_like(real_out["logits"]), torch.zeros_like(fake_out["logits"]), ctx
        )
        return self._d_adversarial(real_out, fake_out, real_t, fake_t)

    def _d_terms(self, step: StepTensors, fake_a: Tensor) -> dict[str, Tensor]:
        assert step.real_out is not None and step.real_targets is not None
        assert step.fake_targets is not None
        return {
            "adversarial": self._d_adversarial(
                step.real_out, step.fake_out, step.real_targets, step.fake_targets
            ),
            "adversarial_a": self._d_a_term(step, fake_a),
        }

    def d_loss_terms(self, step: StepTensors) -> dict[str, Tensor]:
        """D_B's loss on the step's tensors and D_A's on F(b) (no pool: the standard update's)."""
        with torch.no_grad():
            fake_a = self.generate_inverse(step.batch.x)
        return self._d_terms(step, fake_a)

    def _g_terms(self, step: StepTensors) -> tuple[dict[str, Tensor], Tensor]:
        """G's and F's terms (section 3.3 and 5.2), and F(b)."""
        ctx, hooks = step.ctx, step.ctx.hooks
        a, b = self._source(step.batch), step.batch.x
        g, f = self.generator["a_to_b"], self.generator["b_to_a"]
        fake_b = step.fake  # G(a), with gradients
        fake_a = f(b)
        fake_a_in = hooks.transform_d_input(fake_a, "fake", ctx)
        out_a = hooks.transform_d_output(
            self._judge(self.discriminator["a"], fake_a_in), "fake", ctx
        )
        terms = {
            "adversarial": _g_adversarial(step.fake_out),  # D_B(G(a))
            "adversarial_a": _g_adversarial(out_a),  # D_A(F(b))
            "cycle_a": self.cycle_weight * F.l1_loss(f(fake_b), a),
            "cycle_b": self.cycle_weight * F.l1_loss(g(fake_a), b),
        }
        if self.identity_weight:
            terms["identity_b"] = self.identity_weight * F.l1_loss(g(b), b)
            terms["identity_a"] = self.identity_weight * F.l1_loss(f(a), a)
        return terms, fake_a

    def g_loss_terms(self, step: StepTensors) -> dict[str, Tensor]:
        """Both adversarial terms, lambda x both cycles, 0.5 lambda x both identities."""
        return self._g_terms(step)[0]

    # -- the update -----------------------------------------------------------------
    def _generator_update(
        self, batch: Batch, ctx: StepContext
    ) -> tuple[dict[str, Tensor], Tensor, Tensor]:
        """G and F in one step with D frozen; the losses, and G(a) and F(b) (detached)."""
        with frozen(self.discriminator):
            tensors = generator_tensors(self, batch, ctx)
            terms, fake_a = self._g_terms(tensors)
            terms = ctx.hooks.loss_terms(terms, tensors)
            total = step_optimizers(ctx, self.g_optimizers, terms)
        ctx.hooks.after_g_step(self, ctx)
        return logged_losses("loss_g", total, terms), tensors.fake.detach(), fake_a.detach()

    def _discriminator_update(
        self, batch: Batch, ctx: StepContext, fake_b: Tensor, fake_a: Tensor
    ) -> dict[str, Tensor]:
        """D_B and D_A in one step, each on its pool's answer to the new fakes."""
        tensors = discriminator_tensors(self, batch, ctx, fake=self.fake_b_pool.query(fake_b))
        terms = self._d_terms(tensors, self.fake_a_pool.query(fake_a))
        terms = ctx.hooks.loss_terms(terms, tensors)
        total = step_optimizers(ctx, self.d_optimizers, terms)
        self.after_d_update(ctx)
        ctx.hooks.after_d_step(self, ctx)
        return logged_losses("loss_d", total, terms)

    def train_step(self, batch: Batch, ctx: StepContext) -> dict[str, Tensor]:
        """The authors' order: G and F, then D_A and D_B on the same fakes; the decayed rate."""
        factor = lr_factor(ctx.step, ctx.total_steps, self.decay_from)
        set_decayed_lr(ctx, (*self.g_optimizers, *self.d_optimizers), factor)
        losses_g, fake_b, fake_a = self._generator_update(batch, ctx)
        losses_d = self._discriminator_update(batch, ctx, fake_b, fake_a)
        for _ in range(ctx.d_steps - 1):
            extra = ctx.next_batch()
            with torch.no_grad():
                fakes = self.generate(None, extra), self.generate_inverse(extra.x)
            losses_d = self._discriminator_update(extra, ctx, *fakes)
        return {**losses_d, **losses_g}


PARAMS = (
    Param("cycle", float, CYCLE_WEIGHT, "lambda, the cycle-consistency weight (section 4: 10)"),
    Param(
        "identity",
        float,
        IDENTITY_SHARE,
        "identity loss weight as a share of lambda (section 5.2; authors' code: 0.5)",
    ),
    Param("pool", int, POOL_SIZE, "generated images in each D's history (section 4: 50; 0: none)"),
    Param(
        "blocks", str, AUTO, "G's residual blocks: auto (9 from 256 px, 6 from 32 px, else 3) or N"
    ),
    Param(
        "downsamplings",
        str,
        AUTO,
        "G's stride-2 convolutions: auto (the paper's 2, 1 below 16 px) or N",
    ),
    Param(
        "d_layers",
        str,
        AUTO,
        "PatchGAN's stride-2 layers: auto (the paper's 3 from 32 px, 1 at 8 px) or N",
    ),
    Param("width", int, WIDTH, "ngf = ndf, G's and D's first maps (paper: 64)"),
    Param(
        "decay_from",
        float,
        DECAY_FROM,
        "share of the budget before the learning rate decays linearly to 0 (paper: 0.5)",
    ),
)


@ganbench.hookimpl
def ganbench_register_models(register: Callable[[ModelSpec], None]) -> None:
    """Register ``cyclegan``."""
    register(
        ModelSpec(
            name=NAME,
            build=CycleGAN,
            task=TaskKind.UNPAIRED_TRANSLATION,
            data_kinds=("image",),
            paper="Zhu et al. 2017, CycleGAN, sections 3-4 and appendix 7, the authors' code",
            description=(
                "CycleGAN: two ResNet translators, two PatchGAN Ds, least squares, cycle 10, "
                "identity 5, image pool 50"
            ),
            check=check_fits,
            params=PARAMS,
        )
    )
