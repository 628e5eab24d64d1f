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
they are. The paper's own set-up is ``--batch-size`` m x B: G draws m x B
samples a step and D judges B packs (the published ring8 and grid25 tables
train both).
"""

from __future__ import annotations

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
from ganbench.blocks.packing import PackedDiscriminator
from ganbench_plugins._bodies import BODIES, body_problem, build_body


class PacGAN(UnconditionalGAN):
    """A GAN whose D sees packs of ``packing`` samples."""

    loss = "non-saturating"

    def __init__(self, info: DataInfo, params: Mapping[str, Any]) -> None:
        super().__init__()
        self.packing = int(params["packing"])
        if self.packing < 1:
            raise IncompatibleError(f"model 'pacgan': packing must be >= 1, got {self.packing}")
        body = build_body("pacgan", info, str(params["body"]))
        self.body, self.latent_dim, self.generator = body.name, body.latent_dim, body.generator
        self.discriminator = PackedDiscriminator(
            body.discriminator(self.packing, "batch"), self.packing
        )
        self.lr, self.betas, self.init = body.lr, body.betas, body.init

    def init_weights(self) -> None:
        self.apply(self.init)

    def configure_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        """The body's Adam: (1e-4, beta1 0.8) for gan2d, (2e-4, beta1 0.5) for dcgan."""
        return self.adam_optimizers(lr=self.lr, betas=self.betas)


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
            check=body_problem,
            params=(
                Param("packing", int, 2, "samples per pack (m; the paper: 2, 3, 4)"),
                Param("body", str, "auto", "networks: gan2d, dcgan, or auto", choices=BODIES),
            ),
        )
    )
