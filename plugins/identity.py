"""``identity``: the translation that changes nothing, the floor row of
unpaired-translation tables.

G(a) = a. It scores what the source domain already shares with the target:
the target-domain FID of untranslated images, and how well the target
domain's classifier reads them (label preservation), which a translation
model must keep while it moves the FID toward the target. Its inverse is the
identity too, so its cycle error is 0 by construction. CycleGAN (Zhu et al. 2017) has no such row; it is ours, as
``bicubic`` is for super-resolution. A fixed model (``trains=False``): one
run, no steps, shown for scale.
"""

from __future__ import annotations

from collections.abc import Callable

from torch import Tensor

import ganbench
from ganbench.api import Batch, DataInfo, FixedModel, GanbenchError, ModelSpec, TaskKind


def check_fits(info: DataInfo) -> str | None:
    """Why the identity cannot map ``source`` to ``x``, or None."""
    if info.source_shape is None or tuple(info.source_shape) != tuple(info.shape):
        return f"identity needs source and x of one shape, got source {info.source_shape} and x {info.shape}"
    return None


class Identity(FixedModel):
    """G(a) = a."""

    task = TaskKind.UNPAIRED_TRANSLATION

    def __init__(self, info: DataInfo) -> None:
        super().__init__()

    def generate(self, z: Tensor | None, cond: Batch) -> Tensor:
        if cond.source is None:
            raise GanbenchError("identity needs source-domain images (source) in the batch")
        return cond.source.clone()

    def generate_inverse(self, x: Tensor) -> Tensor:
        """F(b) = b: the cycle closes exactly, so the row's cycle error is 0."""
        return x.clone()


@ganbench.hookimpl
def ganbench_register_models(register: Callable[[ModelSpec], None]) -> None:
    """Register ``identity``."""
    register(
        ModelSpec(
            name="identity",
            build=Identity,
            task=TaskKind.UNPAIRED_TRANSLATION,
            data_kinds=("image",),
            paper="the floor of translation tables: G(a) = a (no paper; ours)",
            description="the identity translation G(a) = a: the floor row, no training",
            check=check_fits,
            trains=False,
        )
    )
