"""PacGAN: Lin, Khetan, Fanti and Oh 2018, "PacGAN: The power of two samples in
generative adversarial networks" (NeurIPS).

D judges packs of m samples (all real or all generated) instead of single
samples (section 3): a collapsed generator's packs look alike, so packing
penalises mode collapse. Any body works; two are provided:

* ``body=gan2d`` (vector data): the 2-D networks of section 5 (see the
  ``gan2d`` plugin), D's input widened to m x 2;
* ``body=dcgan`` (images): DCGAN's networks with D's input channels
  multiplied by m, as the paper's stacked-MNIST experiments pack DCGAN
  (section 5.2).
* ``body=auto`` (default) picks gan2d for vectors and dcgan for images.

``packing`` (m) defaults to 2; the paper reports m = 2, 3 and 4. G, the
loss, the initialisation and the optimizers are the body's.

Deviation: the paper's code draws m mini-batches per D step, so a packed D
sees m times the samples of the unpacked one; here a batch of B samples
makes B / m packs (see :mod:`ganbench.blocks.packing`), so packed and
unpacked runs train on the same samples per step and budgets compare as
they are.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

import torch

import ganbench
from ganbench.api import (
    DataInfo,
    IncompatibleError,
    ModelSpec,
    Param,
    TaskKind,
    UnconditionalGAN,
)
from ganbench.blocks.dcgan import (
    DCGANDiscriminator,
    DCGANGenerator,
    check_image_size,
    dcgan_init,
)
from ganbench.blocks.mlp import normal_init
from ganbench.blocks.packing import PackedDiscriminator
from ganbench_plugins.gan2d import BETAS, LATENT_DIM, Gan2dDiscriminator, Gan2dGenerator

BODIES = ("auto", "gan2d", "dcgan")


def _body(info: DataInfo, body: str) -> str:
    if body == "auto":
        return "dcgan" if info.kind == "image" else "gan2d"
    return body


class PacGAN(UnconditionalGAN):
    """A GAN whose D sees packs of ``packing`` samples."""

    loss = "non-saturating"

    def __init__(self, info: DataInfo, params: Mapping[str, Any]) -> None:
        super().__init__()
        self.packing = int(params["packing"])
        if self.packing < 1:
            raise IncompatibleError(f"model 'pacgan': packing must be >= 1, got {self.packing}")
        reason = _check(info, str(params["body"]))
        if reason is not None:
            raise IncompatibleError(
                f"model 'pacgan' with body {params['body']!r} does not fit {info.name!r}: {reason}"
            )
        self.body = _body(info, str(params["body"]))
        if self.body == "gan2d":
            self.latent_dim = LATENT_DIM
            self.generator = Gan2dGenerator(tuple(info.shape))
            d = Gan2dDiscriminator(self.packing * math.prod(info.shape))
            self.lr, self.betas, self.init = 1e-4, BETAS, normal_init(0.02)
        else:
            self.latent_dim = 100
            channels, size = info.shape[0], info.shape[-1]
            self.generator = DCGANGenerator(self.latent_dim, channels, size)
            d = DCGANDiscriminator(self.packing * channels, size)
            self.lr, self.betas, self.init = 2e-4, (0.5, 0.999), dcgan_init
        self.discriminator = PackedDiscriminator(d, self.packing)

    def init_weights(self) -> None:
        self.apply(self.init)

    def configure_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        """The body's Adam: (1e-4, beta1 0.8) for gan2d, (2e-4, beta1 0.5) for dcgan."""
        return self.adam_optimizers(lr=self.lr, betas=self.betas)


def _check(info: DataInfo, body: str = "auto") -> str | None:
    chosen = _body(info, body)
    if chosen == "dcgan":
        return check_image_size(info)
    if info.kind != "vector":
        return "body gan2d takes vector data"
    return None


@ganbench.hookimpl
def ganbench_register_models(register: Callable[[ModelSpec], None]) -> None:
    register(
        ModelSpec(
            name="pacgan",
            build=PacGAN,
            task=TaskKind.UNCONDITIONAL,
            data_kinds=("image", "vector"),
            paper="Lin et al. 2018, PacGAN, sections 3 and 5",
            description="D judges packs of m samples (packing=2..4) on a gan2d or dcgan body",
            check=_check,
            params=(
                Param("packing", int, 2, "samples per pack (m; the paper: 2, 3, 4)"),
                Param("body", str, "auto", "networks: gan2d, dcgan, or auto", choices=BODIES),
            ),
        )
    )
