"""WGAN-GP: Gulrajani, Ahmed, Arjovsky, Dumoulin and Courville 2017,
"Improved Training of Wasserstein GANs" (NeurIPS).

A Wasserstein critic (the core's ``wasserstein`` loss) kept 1-Lipschitz by
a gradient penalty instead of clipping (section 4, Algorithm 1): lambda =
10 times E[(||grad D(x_hat)|| - 1)^2] on random interpolates of real and
generated samples (:func:`ganbench.blocks.penalties.gradient_penalty`), as
a D loss term of its own. No BatchNorm in the critic (section 4: the
penalty is per sample; ``norm=layer`` gives their suggested layer
normalisation instead). Adam with learning rate 1e-4 and betas (0, 0.9),
5 critic steps per generator step (Algorithm 1's defaults). The networks
are DCGAN's (their DCGAN experiments, section 5.1), sized from the image
size as the ``dcgan`` plugin is; G keeps its BatchNorm.

For vector data (the 2-D mixtures of the mode-collapse tables) the networks
are PacGAN's 2-D ones (see the ``gan2d`` plugin) with a linear critic
output, since the paper's own toy networks (3 ReLU layers of 512 units)
would make the comparison one of network sizes, not of losses.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import torch
from torch import Tensor

import ganbench
from ganbench.api import (
    DataInfo,
    ModelSpec,
    Param,
    StepTensors,
    TaskKind,
    UnconditionalGAN,
)
from ganbench.blocks.penalties import gradient_penalty
from ganbench_plugins._bodies import body_problem, build_body


class WGANGP(UnconditionalGAN):
    """A gradient-penalised Wasserstein critic and its generator."""

    loss = "wasserstein"
    d_steps = 5

    def __init__(self, info: DataInfo, params: Mapping[str, Any]) -> None:
        super().__init__()
        self.penalty = float(params["penalty"])
        body = build_body("wgan-gp", info, "auto")
        self.latent_dim, self.generator = body.latent_dim, body.generator
        self.discriminator = body.discriminator(1, str(params["norm"]))
        self.init = body.init

    def init_weights(self) -> None:
        self.apply(self.init)

    def d_loss_terms(self, step: StepTensors) -> dict[str, Tensor]:
        """The Wasserstein critic loss and lambda x the gradient penalty."""
        return {
            **super().d_loss_terms(step),
            "gradient_penalty": self.penalty * gradient_penalty(step),
        }

    def configure_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        """Adam(1e-4, betas (0, 0.9)) for both networks (Algorithm 1)."""
        return self.adam_optimizers(lr=1e-4, betas=(0.0, 0.9))


@ganbench.hookimpl
def ganbench_register_models(register: Callable[[ModelSpec], None]) -> None:
    register(
        ModelSpec(
            name="wgan-gp",
            build=WGANGP,
            task=TaskKind.UNCONDITIONAL,
            data_kinds=("image", "vector"),
            paper="Gulrajani et al. 2017, WGAN-GP, Algorithm 1 and sections 4-5",
            description="Wasserstein critic with gradient penalty 10, Adam 1e-4 (0, 0.9), 5 steps",
            check=body_problem,
            params=(
                Param("penalty", float, 10.0, "lambda, the gradient penalty's weight"),
                Param("norm", str, "none", "critic normalisation (images)", ("none", "layer")),
            ),
        )
    )
