"""Minibatch discrimination: Salimans et al. 2016, "Improved Techniques for Training GANs".

Section 3.2: D looks at each sample together with the rest of its
minibatch, so that a generator collapsing onto few outputs is easy to
tell apart. With f(x_i) in R^A the features entering D's head (its input,
flattened), a learned tensor T in R^{A x B x C} gives M_i = f(x_i) T in
R^{B x C}; kernel b compares two samples by
c_b(x_i, x_j) = exp(-||M_{i,b} - M_{j,b}||_1), and
o(x_i)_b = sum over j != i of c_b(x_i, x_j) is appended to the features the
head sees. The sum leaves out j = i, as the authors' code does (openai/
improved-gan, ``MinibatchLayer`` in ``nn.py`` adds 1e6 to the diagonal of
the distances): identical samples give o = N - 1 per kernel, N the
minibatch. The defaults are those of the authors' code
(``train_cifar_minibatch_discrimination.py``: ``num_kernels=100`` and the
layer's ``dim_per_kernel=5``): ``kernels`` B = 100 and ``dims`` C = 5. The core's standard step sends reals and fakes through D
in separate passes, so o compares fakes with fakes and reals with reals, as
the paper computes it ("separately for samples from the generator and from
the training data").

How it is built: at build time the head (:func:`ganbench.api.discriminator_head`)
is replaced by a :class:`MinibatchDiscriminationHead` computing
head(x) + proj(o(x)), proj a new bias-free linear map from the B kernels to
the head's output channels, broadcast over any trailing (spatial) dims of
the head's output. For an affine head this is exactly the head applied to
[f(x), o(x)], its weight widened by proj's columns: exact for a ``Linear``
head and for a convolution whose kernel covers its whole input map without
padding (DCGAN's and AC-GAN's last layer, a 1x1 output). A convolution
with padding is refused (it never sees the whole map); one whose input map
is larger than its kernel fails on its first batch with the sizes, since T
is sized from the kernel (the model does not tell its head's input size at
build time). T and proj are parameters under ``model.discriminator``, so
D's optimizer (built after the build hooks) trains them and checkpoints
hold them; every build path (run, resume, score) wraps the head again, so
a run's checkpoint loads into the model that made it.

Initialisation: T ~ N(0, 1/A), so that each of T's (b, c) columns has norm
about 1, the scale of the authors' weight-normalised T (a much smaller T
makes every c_b about 1 and o about N - 1 for any batch, a feature that
tells nothing); proj ~ N(0, 1e-3^2), so that the wrapped D starts close
to the plain D and learns how much to use o: with the defaults the extra
term has a std of about 1e-3 x sqrt(100) x o, under 1 even for a fully
collapsed batch of 64 (o = 63 per kernel). Not zero: ``spectral-norm``
after this trick also normalises proj, and a zero matrix has no spectral
norm to divide by (NaN).

Deviations from the authors' code, and why: T is a plain parameter (no
weight normalisation, no data-dependent initialisation: ganbench's models
initialise without data); their learned offset per kernel added to o
(initialised to -1) is left out: through the head it only adds a constant
to each output, and leaving it out keeps the wrapper exactly the head on
[f, o]. In their code the layer sits before D's last dense layer too. o
depends on the batch D is given in evaluation as in training (as
BatchNorm in training mode does), e.g. for metrics that use D.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

import torch
from torch import Tensor, nn

import ganbench
from ganbench.api import GANModel, IncompatibleError, Param, Trick, TrickSpec, discriminator_head

NAME = "minibatch-discrimination"
KERNELS = 100  # B, the paper's and the authors' code's
KERNEL_DIMS = 5  # C, the paper's and the authors' code's
PROJ_STD = 1e-3  # small, and not zero (see the module docstring)
CONVS = (nn.Conv1d, nn.Conv2d, nn.Conv3d)


def weight_layer(module: nn.Module) -> nn.Module:
    """The Linear or convolution under any head wrappers (each keeps it as ``head``).

    A second trick that wraps a head named by the model (InfoGAN's ``d_head``)
    is handed the first trick's wrapper, which keeps the layer's sizes.
    """
    while not isinstance(module, (nn.Linear, *CONVS)) and isinstance(
        getattr(module, "head", None), nn.Module
    ):
        module = module.head
    return module


def head_sizes(head: nn.Module) -> tuple[int, int] | str:
    """(A, outputs) of a head: features it reads per sample, channels it makes; or why not.

    A is ``in_features`` of a Linear and in_channels x kernel area of a
    convolution (its input map is taken to be its kernel's size).
    """
    layer = weight_layer(head)
    if isinstance(layer, nn.Linear):
        return layer.in_features, layer.out_features
    if isinstance(layer, CONVS):
        padding = layer.padding
        if padding != "valid" and (isinstance(padding, str) or any(p != 0 for p in padding)):
            return f"its head {type(layer).__name__} pads its input, so it never sees the whole map"
        return layer.in_channels * math.prod(layer.kernel_size), layer.out_channels
    return f"its head is a {type(layer).__name__}, not a Linear or a convolution"


def minibatch_features(f: Tensor, kernels: Tensor) -> Tensor:
    """o (N, B): for each sample, each kernel's closeness to the other samples.

    Args:
        f: features (N, A).
        kernels: T (A, B, C).

    Returns:
        o[i, b] = sum over j != i of exp(-||M_{i,b} - M_{j,b}||_1), in [0, N - 1].
    """
    n = f.shape[0]
    _, b, c = kernels.shape
    m = (f @ kernels.reshape(kernels.shape[0], b * c)).reshape(n, b, c).transpose(0, 1)
    closeness = torch.exp(-torch.cdist(m, m, p=1))  # (B, N, N); L1 over the C dims
    others = 1.0 - torch.eye(n, dtype=f.dtype, device=f.device)  # j = i left out
    return (closeness * others).sum(-1).transpose(0, 1)


class MinibatchDiscriminationHead(nn.Module):
    """head(x) + proj(o(x)): the head, as if it also read the B minibatch features.

    ``proj`` is registered before ``head``, so that D's last weight layer in
    module order (what :func:`ganbench.api.discriminator_head` finds when the
    model names none) is still the original head.
    """

    def __init__(self, head: nn.Module, kernels: int, dims: int) -> None:
        super().__init__()
        sizes = head_sizes(head)
        if isinstance(sizes, str):
            raise IncompatibleError(f"trick {NAME!r}: {sizes}")
        features, outputs = sizes
        weight = weight_layer(head).weight
        self.features = features
        self.proj = nn.Linear(
            kernels, outputs, bias=False, device=weight.device, dtype=weight.dtype
        )
        nn.init.normal_(self.proj.weight, 0.0, PROJ_STD)
        self.head = head
        self.kernels = nn.Parameter(
            torch.randn(features, kernels, dims, device=weight.device, dtype=weight.dtype)
            / math.sqrt(features)
        )
        self.train(head.training)  # a new module starts in training mode

    def forward(self, x: Tensor) -> Tensor:
        out = self.head(x)
        f = x.flatten(1)
        if f.shape[1] != self.features:
            raise IncompatibleError(
                f"trick {NAME!r}: the head reads {f.shape[1]} features per sample "
                f"(input {tuple(x.shape[1:])}), T was sized for {self.features}: a convolution "
                "head must cover its whole input map"
            )
        extra = self.proj(minibatch_features(f, self.kernels))  # (N, outputs)
        return out + extra.reshape(*extra.shape, *([1] * (out.dim() - 2)))


class MinibatchDiscrimination(Trick):
    """Wraps D's head so that it also reads the minibatch features o(x)."""

    name = NAME
    hook_points = ("transform_model",)

    def __init__(self, params: Mapping[str, Any]) -> None:
        self.kernels = int(params["kernels"])
        self.dims = int(params["dims"])
        if self.kernels < 1 or self.dims < 1:
            raise ValueError(
                f"{NAME}: kernels and dims must be at least 1, got {self.kernels}, {self.dims}"
            )

    def transform_model(self, model: GANModel) -> None:
        found = discriminator_head(model)
        if found is None:
            raise IncompatibleError(f"trick {NAME!r}: the model has no discriminator head")
        name, head = found
        wrapper = MinibatchDiscriminationHead(head, self.kernels, self.dims)
        model.discriminator.set_submodule(name, wrapper)


def _check(model: GANModel) -> str | None:
    found = discriminator_head(model)
    if found is None:
        return "it has no discriminator head (a Linear or convolution making D's logits)"
    sizes = head_sizes(found[1])
    return sizes if isinstance(sizes, str) else None


@ganbench.hookimpl
def ganbench_register_tricks(register: Callable[[TrickSpec], None]) -> None:
    register(
        TrickSpec(
            name=NAME,
            build=MinibatchDiscrimination,
            hook_points=MinibatchDiscrimination.hook_points,
            params=(
                Param("kernels", int, KERNELS, "B, the number of kernels (paper: 100)"),
                Param("dims", int, KERNEL_DIMS, "C, dimensions per kernel (paper: 5)"),
            ),
            description="minibatch discrimination at D's head (Salimans et al. 2016, sec. 3.2)",
            check=_check,
        )
    )
