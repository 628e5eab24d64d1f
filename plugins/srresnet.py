"""SRResNet: SRGAN's generator trained on the pixel MSE alone, without a
discriminator. Ledig et al. 2017, "Photo-Realistic Single Image
Super-Resolution Using a Generative Adversarial Network" (CVPR), §2.2.1 and
§3.2: the paper's PSNR-oriented baseline (SRResNet-MSE, Table 2: 32.05 dB on
Set5 at x4, against SRGAN's 29.40).

* **Network.** The generator of figure 4, shared with ``srgan``: 16
  residual blocks of 64 maps, sub-pixel x2 blocks, 9 x 9 input and output
  convolutions.
* **Loss.** The pixel MSE between G(x_LR) and x_HR (eq. 4's content loss
  with no adversarial term).
* **Optimiser.** Adam, learning rate 1e-4, beta1 0.9 (§3.2).

There is no discriminator, so the update is the generator's alone and
tricks that act on D do not apply to it. Deviations are ``srgan``'s: random
initialisation, a tanh output for ganbench's [-1, 1] images, and the
laptop-sized budget; the paper trains 10^6 steps on 96 x 96 ImageNet crops.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

import ganbench
from ganbench.api import (
    Batch,
    DataInfo,
    GanbenchError,
    GANModel,
    ModelSpec,
    Param,
    StepContext,
    TaskKind,
    logged_losses,
    step_optimizers,
)
from ganbench_plugins.srgan import SRResNet, check_fits, upscale_factor


class SRResNetModel(GANModel):
    """G alone, trained to minimise the pixel MSE to the high-resolution image."""

    task = TaskKind.SUPER_RESOLUTION
    latent_dim = 0
    d_optimizers: tuple[str, ...] = ()
    g_optimizers: tuple[str, ...] = ("g",)
    #: No discriminator: the MSE is the whole objective.
    discriminator = None  # type: ignore[assignment]

    def __init__(self, info: DataInfo, params: Mapping[str, Any]) -> None:
        super().__init__()
        factor = upscale_factor(info)
        assert factor is not None  # check_fits
        self.generator = SRResNet(info.shape[0], factor, blocks=int(params["blocks"]))

    def generate(self, z: Tensor | None, cond: Batch) -> Tensor:
        if cond.source is None:
            raise GanbenchError("srresnet needs low-resolution images (source) in the batch")
        return self.generator(cond.source)

    def discriminate(self, x: Tensor, cond: Batch) -> Tensor:
        raise GanbenchError("srresnet has no discriminator: it trains on the MSE alone")

    def configure_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        return {"g": torch.optim.Adam(self.generator.parameters(), lr=1e-4, betas=(0.9, 0.999))}

    def train_step(self, batch: Batch, ctx: StepContext) -> dict[str, Tensor]:
        """One G step on the MSE, then the ``after_g_step`` hook point (EMA of G).

        Without D there are no logits, so the D-side hook points are never
        reached and the tricks that use them are refused before training.
        """
        fake = self.generate(None, batch)
        terms = {"content": F.mse_loss(fake, batch.x)}
        total = step_optimizers(ctx, self.g_optimizers, terms)
        ctx.hooks.after_g_step(self, ctx)
        return logged_losses("loss_g", total, terms)


@ganbench.hookimpl
def ganbench_register_models(register: Callable[[ModelSpec], None]) -> None:
    """Register ``srresnet``."""
    register(
        ModelSpec(
            name="srresnet",
            build=SRResNetModel,
            task=TaskKind.SUPER_RESOLUTION,
            data_kinds=("image",),
            paper="Ledig et al. 2017, SRResNet-MSE, sections 2.2.1 and 3.2",
            description="SRGAN's 16-block generator trained on the pixel MSE only (no D)",
            check=check_fits,
            params=(Param("blocks", int, 16, "residual blocks in G"),),
        )
    )
