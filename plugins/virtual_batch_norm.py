"""Virtual batch normalisation of G: Salimans et al. 2016, "Improved Techniques
for Training GANs" (NeurIPS), section 3.4.

BatchNorm makes each generated example depend on the other examples of its
mini-batch. Virtual batch normalisation (VBN) normalises every example with
the statistics of a *reference batch*, chosen once and fixed at the start of
training, combined with the example itself. The reference batch's
statistics are recomputed with the current weights at every forward pass,
and gradients flow through them. The paper uses VBN in the generator only,
because of the second forward pass it costs; so does this trick.

What this trick does, at build time (``transform_model``, so run, resume,
``ganbench score RUN`` and check-plugin build the same model):

* every ``nn.BatchNorm1d/2d/3d`` of ``model.generator`` becomes a
  :class:`VirtualBatchNorm` that keeps the layer's affine scale and shift
  (the same parameters, so checkpoint names do not move) and its epsilon
  (PyTorch's 1e-5, the authors' value too); the BatchNorm running statistics
  go, VBN has none;
* a forward pre-hook on G runs, before every call of G, the reference batch
  through G with the VBN layers collecting: each normalises the reference
  activations with their own statistics (plain batch norm, biased variance)
  and keeps their per-channel mean and variance, with gradient; then the
  real call normalises each example with the mixture of the authors' code
  (openai/improved-gan, ``imagenet/model.py``, class ``VBNL``)

      mean    = 1/(N+1) own_mean    + N/(N+1) ref_mean
      mean_sq = 1/(N+1) own_mean_sq + N/(N+1) ref_mean_sq,  var = mean_sq - mean**2

  where N is the reference batch size and ``own`` are the example's means
  over its own positions (the example itself for a BatchNorm1d on (N, C)
  features): the statistics of the reference batch with the example added
  to it. The variance is computed in the equal pooled form
  1/(N+1) own_var + N/(N+1) ref_var + N/(N+1)**2 (own_mean - ref_mean)**2,
  which cannot round below zero as a difference of squares can;
* the reference batch is ``reference_size`` z drawn from the model's latent
  prior (the final one, after every trick's ``latent_prior``) with
  ``torch.Generator().manual_seed(REFERENCE_SEED)`` on the CPU, at the first
  call of G; it is not saved in the checkpoint: the same seed gives the same
  z on every build path and device. Default size 64: the paper does not say;
  the authors' ImageNet code keeps one batch (64) of z fixed as a
  non-trainable variable (``imagenet/generator.py``, ``is_ref``).

Evaluation (``model.eval()``) normalises the same way (there are no running
statistics), so a sample does not depend on the other samples of its
evaluation batch, nor on the batch size.

Cost: one extra G forward on the reference batch per call of G (each D step
and the G step, and every evaluation batch), and in the G update its
backward too. The statistics are elementwise autograd operations, slower
than PyTorch's fused BatchNorm kernel, so the cost is above the
``reference_size / batch_size`` the extra examples alone would suggest: on
one CPU thread, DCGAN's G for the 8x8 digits at batch 64 takes about 3x as
long per forward and 2.6x per forward and backward; gan2d's G at batch 256,
1.7x and 2.2x. D's work is unchanged.

Deviations, and why:

* the scale is BatchNorm's own (``weight``), not the authors' log-scale
  ``exp(gamma)`` of ``VBNL``: the trick replaces a model's BatchNorm and
  keeps its parameters and their initialisation;
* conditional models are refused: the reference pass would need
  conditioning for the reference batch, which ``model.generator`` is not
  given in one known way (cGAN passes labels, AC-GAN concatenates them).
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Mapping
from typing import Any

import torch
from torch import Tensor, nn

import ganbench
from ganbench.api import GANModel, IncompatibleError, Param, TaskKind, Trick, TrickSpec

NAME = "virtual-batch-norm"
#: Seed of the reference z: part of the trick's definition, the same for every run.
REFERENCE_SEED = 0
#: The reference batch size of the authors' code (one batch of 64 z).
REFERENCE_SIZE = 64
BATCH_NORMS = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d)
#: Attribute of ``model.generator`` holding its :class:`ReferenceBatch`.
REFERENCE_ATTR = "vbn_reference"


class VirtualBatchNorm(nn.Module):
    """A BatchNorm layer's affine map over reference-batch-plus-example statistics.

    ``collecting`` True (the reference pass): normalise the input, the
    reference batch (N, C, *), with its own statistics and keep them.
    Otherwise: normalise each example (1, C, *) with the kept statistics
    mixed with its own, weights N/(N+1) and 1/(N+1). Input and output shapes
    are those of the replaced layer: (N, C) or (N, C, L) for 1d, (N, C, H, W)
    for 2d, (N, C, D, H, W) for 3d.
    """

    def __init__(self, source: nn.BatchNorm1d | nn.BatchNorm2d | nn.BatchNorm3d) -> None:
        super().__init__()
        self.num_features = source.num_features
        self.eps = source.eps
        # The same Parameter objects: the layer's initialisation, its checkpoint
        # names and any optimizer already holding them stay valid.
        self.weight = source.weight
        self.bias = source.bias
        self.collecting = False
        self._reference: tuple[Tensor, Tensor, int] | None = None

    def forward(self, x: Tensor) -> Tensor:
        if x.dim() < 2 or x.shape[1] != self.num_features:
            raise ValueError(
                f"VirtualBatchNorm of {self.num_features} channels got shape {tuple(x.shape)}"
            )
        if self.collecting:
            mean, var = _moments(x, [0, *range(2, x.dim())])
            # Kept with gradient: the paper back-propagates through the reference statistics.
            self._reference = (mean, var, x.shape[0])
            return self._affine((x - mean) * torch.rsqrt(var + self.eps))
        if self._reference is None:
            raise RuntimeError(
                "VirtualBatchNorm has no reference statistics: it runs only inside a call "
                "of the generator the virtual-batch-norm trick wrapped"
            )
        ref_mean, ref_var, n = self._reference
        new, old = 1.0 / (n + 1), n / (n + 1)
        if x.dim() == 2:
            # Features (N, C): each example is its own mean, with no spread. Then
            # x - mean = old * d and var = old * ref_var + new * old * d**2, d = x - ref_mean,
            # so the output is d / sqrt(var / old**2 + eps / old**2): few full-size operations.
            d = x - ref_mean
            denom = torch.addcmul(ref_var / old + self.eps / old**2, d, d, value=new / old)
            return self._affine(d * torch.rsqrt(denom))
        own_mean, own_var = _moments(x, list(range(2, x.dim())))
        mean = new * own_mean + old * ref_mean
        # The pooled variance: new * own_mean_sq + old * ref_mean_sq - mean**2, rearranged so
        # that no difference of large squares can round below zero.
        var = new * own_var + old * ref_var + new * old * (own_mean - ref_mean).square()
        return self._affine((x - mean) * torch.rsqrt(var + self.eps))

    def release(self) -> None:
        """Forget the reference statistics (and the graph they hold) after a call of G."""
        self._reference = None

    def _affine(self, normalised: Tensor) -> Tensor:
        if self.weight is None:
            return normalised
        shape = (1, -1) + (1,) * (normalised.dim() - 2)
        return torch.addcmul(self.bias.view(shape), normalised, self.weight.view(shape))

    def extra_repr(self) -> str:
        return f"{self.num_features}, eps={self.eps}, affine={self.weight is not None}"


def _moments(x: Tensor, dims: list[int]) -> tuple[Tensor, Tensor]:
    """Mean and biased variance of ``x`` over ``dims``, kept as size-1 dimensions.

    Two means rather than ``torch.var_mean``, whose CPU kernel is several
    times slower on the many tiny reductions of per-example statistics.
    """
    mean = x.mean(dim=dims, keepdim=True)
    return mean, (x - mean).square().mean(dim=dims, keepdim=True)


class ReferenceBatch:
    """The fixed reference z of one generator, drawn on first use from the model's prior.

    Drawn lazily because the prior is final only after every trick's
    ``latent_prior``, which the core applies after ``transform_model``.
    Holds the model weakly: G is the model's child, and a strong reference
    would make a cycle and make a deep copy of G alone copy the whole model.
    (A copy made before the first draw reads the original's prior, the same one.)
    """

    def __init__(self, model: GANModel, size: int, seed: int) -> None:
        self.size, self.seed = size, seed
        self._model = weakref.ref(model)
        self._cpu: Tensor | None = None
        self._placed: dict[tuple[torch.device, torch.dtype], Tensor] = {}
        #: True while the reference batch itself is going through G.
        self.active = False

    def latent(self, device: torch.device, dtype: torch.dtype) -> Tensor:
        """The reference z, (size, latent width), on ``device`` in ``dtype``."""
        if self._cpu is None:
            model = self._model()
            if model is None:
                raise RuntimeError("the model of this virtual-batch-norm generator is gone")
            gen = torch.Generator().manual_seed(self.seed)
            z = model.sample_latent(self.size, "cpu", generator=gen)
            if z is None:
                raise IncompatibleError(f"trick {NAME!r}: the model's G takes no noise")
            self._cpu = z
        key = (device, dtype)
        if key not in self._placed:
            # Cached per device: a copy to the GPU at every call of G would be waste.
            self._placed[key] = self._cpu.to(device=device, dtype=dtype)
        return self._placed[key]


def vbn_layers(generator: nn.Module) -> list[VirtualBatchNorm]:
    """The :class:`VirtualBatchNorm` layers under ``generator``."""
    return [m for m in generator.modules() if isinstance(m, VirtualBatchNorm)]


def generator_batch_norms(model: nn.Module) -> list[tuple[nn.Module, str, nn.Module]]:
    """(parent, child name, layer) for every BatchNorm under ``model.generator``."""
    g = getattr(model, "generator", None)
    if not isinstance(g, nn.Module):
        return []
    return [
        (parent, name, child)
        for parent in g.modules()
        for name, child in parent.named_children()
        if isinstance(child, BATCH_NORMS)
    ]


def _latent_argument(args: tuple[Any, ...]) -> Tensor:
    """G's z, checked to be one (N, width) tensor the reference batch can stand in for."""
    if len(args) != 1 or not isinstance(args[0], Tensor) or args[0].dim() != 2:
        got = ", ".join(
            f"shape {tuple(a.shape)}" if isinstance(a, Tensor) else type(a).__name__ for a in args
        )
        raise IncompatibleError(
            f"trick {NAME!r}: the generator must be called as generator(z) with z of "
            f"shape (N, width), got ({got})"
        )
    return args[0]


def _reference_pass(generator: nn.Module, args: tuple[Any, ...]) -> None:
    """Forward pre-hook of G: run the reference batch, so the VBN layers hold its statistics."""
    reference: ReferenceBatch = getattr(generator, REFERENCE_ATTR)
    if reference.active:
        return  # this call is the reference pass itself
    z = _latent_argument(args)
    ref_z = reference.latent(z.device, z.dtype)
    if ref_z.shape[1] != z.shape[1]:
        raise IncompatibleError(
            f"trick {NAME!r}: the generator got z of width {z.shape[1]}, but the latent "
            f"prior draws {ref_z.shape[1]}: the reference batch cannot stand in for its input"
        )
    layers = vbn_layers(generator)
    reference.active = True
    for layer in layers:
        layer.collecting = True
    try:
        generator(ref_z)  # its output is not needed, only the statistics it leaves
    finally:
        reference.active = False
        for layer in layers:
            layer.collecting = False


def _release(generator: nn.Module, args: tuple[Any, ...], output: Any) -> None:
    """Forward hook of G: drop the reference statistics once the real call is done."""
    if not getattr(generator, REFERENCE_ATTR).active:
        for layer in vbn_layers(generator):
            layer.release()


class VirtualBatchNormTrick(Trick):
    """Replaces G's BatchNorm layers by virtual batch normalisation over a fixed reference batch."""

    name = NAME
    hook_points = ("transform_model",)

    def __init__(self, params: Mapping[str, Any]) -> None:
        self.reference_size = int(params["reference_size"])
        if self.reference_size < 2:
            raise ValueError(f"reference_size must be at least 2, got {self.reference_size}")

    def transform_model(self, model: GANModel) -> None:
        reason = _check(model)
        if reason is not None:
            raise IncompatibleError(f"trick {NAME!r}: {reason}")
        for parent, name, layer in generator_batch_norms(model):
            setattr(parent, name, VirtualBatchNorm(layer))
        g = model.generator
        setattr(g, REFERENCE_ATTR, ReferenceBatch(model, self.reference_size, REFERENCE_SEED))
        g.register_forward_pre_hook(_reference_pass)
        g.register_forward_hook(_release)


def _check(model: GANModel) -> str | None:
    if model.task != TaskKind.UNCONDITIONAL:
        return (
            f"it supports unconditional models only (this one is {model.task.value}): "
            "the reference batch would need conditioning G is given in a model-specific way"
        )
    if model.latent_dim <= 0 or model.latent_prior is None:
        return "its generator takes no noise, so there is no reference z to fix"
    if not generator_batch_norms(model):
        return "its generator has no BatchNorm layer to replace"
    return None


@ganbench.hookimpl
def ganbench_register_tricks(register: Callable[[TrickSpec], None]) -> None:
    register(
        TrickSpec(
            name=NAME,
            build=VirtualBatchNormTrick,
            hook_points=VirtualBatchNormTrick.hook_points,
            params=(
                Param(
                    "reference_size",
                    int,
                    REFERENCE_SIZE,
                    "reference batch size (the authors' code: one batch of 64)",
                ),
            ),
            description="virtual batch norm in G over a fixed reference batch (Salimans et al. 2016)",
            check=_check,
        )
    )
