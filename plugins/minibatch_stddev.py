"""Minibatch standard deviation: Karras et al. 2018, "Progressive Growing of GANs", section 3.

A parameter-free summary of the minibatch's variety, given to D so that a
generator whose samples vary less than the data's is easy to spot: the
standard deviation of each feature (and position) over a group of
samples, averaged over features and positions to one scalar per group,
appended to D's features as one more constant feature map (or feature).
As in the authors' code (tkarras/progressive_growing_of_gans,
``minibatch_stddev_layer`` in ``networks.py``): groups of ``group_size``
= 4 samples (their default), sample i in group i mod (N / group size)
(their reshape of the batch to [group, N / group, ...]), the biased
variance over the group, and sqrt(variance + 1e-8), so identical samples
give 1e-4 rather than exactly 0 (the square root's gradient is infinite at
0). The group size must divide the batch: when ``group_size`` does not
divide it, the largest divisor of N between 2 and ``group_size`` is used,
and the whole batch when there is none (N prime and larger than
``group_size``); a batch no larger than ``group_size`` is one group, as
``min(group_size, N)`` in the authors' code. The core's standard step
sends reals and fakes through D in separate passes, so every group is all
real or all fake, the paper's setting.

How it is built: at build time D's head (:func:`ganbench.api.discriminator_head`)
is replaced by a :class:`MinibatchStddevHead` computing head(x) + w * s,
s the group's scalar and w a learned weight per output channel, broadcast
over any trailing (spatial) dims of the head's output. That is exactly the
head applied to [x, s] with s a constant extra channel (or feature) and w
the sum of its kernel over that channel, for a ``Linear`` head and for a
convolution covering its whole input map without padding (DCGAN's and
AC-GAN's last layer); for a padded convolution, or one whose kernel is
smaller than its input map, the extra term is a per-output constant where
the concatenated layer's would vary with position near the borders. w is
a parameter under ``model.discriminator``, so D's optimizer (built after
the build hooks) trains it and checkpoints hold it; every build path
(run, resume, score) wraps the head again.

Deviations, and why: the paper inserts the feature before D's last block
(a 3x3 and a 4x4 convolution and a dense layer), here it enters the head
itself, the one layer every model plugin names; w starts at zero (the
paper's layers draw N(0, 1) scaled at run time), so that the wrapped D
first computes what the plain D computes. Like BatchNorm in training mode,
D's output depends on the batch it is given, in evaluation too.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import torch
from torch import Tensor, nn

import ganbench
from ganbench.api import GANModel, IncompatibleError, Param, Trick, TrickSpec, discriminator_head

NAME = "minibatch-stddev"
GROUP_SIZE = 4  # the authors' code's default
EPS = 1e-8  # inside the square root, as in the authors' code
CONVS = (nn.Conv1d, nn.Conv2d, nn.Conv3d)


def weight_layer(module: nn.Module) -> nn.Module:
    """The Linear or convolution under any head wrappers (each keeps it as ``head``)."""
    while not isinstance(module, (nn.Linear, *CONVS)) and isinstance(
        getattr(module, "head", None), nn.Module
    ):
        module = module.head
    return module


def head_outputs(head: nn.Module) -> int | str:
    """The channels (or features) a head makes; or why it is not a head this trick extends."""
    layer = weight_layer(head)
    if isinstance(layer, nn.Linear):
        return layer.out_features
    if isinstance(layer, CONVS):
        return layer.out_channels
    return f"its head is a {type(layer).__name__}, not a Linear or a convolution"


def group_size_for(n: int, group_size: int) -> int:
    """The group size used on a batch of ``n``: a divisor of ``n`` (see the module docstring)."""
    if n <= group_size:
        return n
    for size in range(group_size, 1, -1):
        if n % size == 0:
            return size
    return n


def minibatch_stddev(x: Tensor, group_size: int = GROUP_SIZE) -> Tensor:
    """Each sample's group statistic (N,): the mean over features of their std in the group.

    Args:
        x: features (N, ...), any trailing shape (channels, positions).
        group_size: samples per group; adjusted by :func:`group_size_for`.

    Returns:
        s (N,), >= sqrt(1e-8): sample i gets the value of group i mod (N / g).
    """
    n = x.shape[0]
    size = group_size_for(n, group_size)
    y = x.reshape(size, n // size, -1)  # [group member, group, feature]
    y = y - y.mean(0, keepdim=True)
    std = torch.sqrt(y.square().mean(0) + EPS)  # (groups, features)
    return std.mean(1).repeat(size)


class MinibatchStddevHead(nn.Module):
    """head(x) + w * s(x): the head, as if it also read the constant map s."""

    def __init__(self, head: nn.Module, group_size: int) -> None:
        super().__init__()
        outputs = head_outputs(head)
        if isinstance(outputs, str):
            raise IncompatibleError(f"trick {NAME!r}: {outputs}")
        weight = weight_layer(head).weight
        self.head = head
        self.group_size = group_size
        self.stddev_weight = nn.Parameter(
            torch.zeros(outputs, device=weight.device, dtype=weight.dtype)
        )
        self.train(head.training)  # a new module starts in training mode

    def forward(self, x: Tensor) -> Tensor:
        out = self.head(x)
        extra = minibatch_stddev(x, self.group_size)[:, None] * self.stddev_weight  # (N, outputs)
        return out + extra.reshape(*extra.shape, *([1] * (out.dim() - 2)))


class MinibatchStddev(Trick):
    """Wraps D's head so that it also reads the minibatch standard deviation."""

    name = NAME
    hook_points = ("transform_model",)

    def __init__(self, params: Mapping[str, Any]) -> None:
        self.group_size = int(params["group_size"])
        if self.group_size < 2:
            raise ValueError(f"{NAME}: group_size must be at least 2, got {self.group_size}")

    def transform_model(self, model: GANModel) -> None:
        found = discriminator_head(model)
        if found is None:
            raise IncompatibleError(f"trick {NAME!r}: the model has no discriminator head")
        name, head = found
        model.discriminator.set_submodule(name, MinibatchStddevHead(head, self.group_size))


def _check(model: GANModel) -> str | None:
    found = discriminator_head(model)
    if found is None:
        return "it has no discriminator head (a Linear or convolution making D's logits)"
    outputs = head_outputs(found[1])
    return outputs if isinstance(outputs, str) else None


@ganbench.hookimpl
def ganbench_register_tricks(register: Callable[[TrickSpec], None]) -> None:
    register(
        TrickSpec(
            name=NAME,
            build=MinibatchStddev,
            hook_points=MinibatchStddev.hook_points,
            params=(
                Param("group_size", int, GROUP_SIZE, "samples per group (the authors' code: 4)"),
            ),
            description="minibatch stddev feature at D's head (Karras et al. 2018, sec. 3)",
            check=_check,
        )
    )
