"""D pretraining: n discriminator updates before the first generator step.

The GAN game assumes D near its optimum for the current G (Goodfellow et
al. 2014, section 4: "D is maintained near its optimal solution"), and WGAN
(Arjovsky et al. 2017) trains its critic 100 times per generator step for
the first 25 steps for that reason. This trick isolates the idea: ``steps``
standard D updates (the model's own D loss terms, every trick hook of the
run reached as in training), on fresh real batches, before generator step 0
of a fresh run. The default of 100 is WGAN's warm-up count. A resumed run
does not pretrain again: its checkpoint holds the pretrained D.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import ganbench
from ganbench.api import GANModel, Param, StepContext, Trick, TrickSpec

NAME = "d-pretrain"


class DPretrain(Trick):
    """Runs ``steps`` D updates before training starts."""

    name = NAME
    hook_points = ("before_training",)

    def __init__(self, params: Mapping[str, Any]) -> None:
        self.steps = int(params["steps"])
        if self.steps < 0:
            raise ValueError(f"d-pretrain steps must be >= 0, got {self.steps}")

    def before_training(self, model: GANModel, ctx: StepContext) -> None:
        for _ in range(self.steps):
            ctx.d_update()


@ganbench.hookimpl
def ganbench_register_tricks(register: Callable[[TrickSpec], None]) -> None:
    register(
        TrickSpec(
            name=NAME,
            build=DPretrain,
            hook_points=DPretrain.hook_points,
            params=(Param("steps", int, 100, "D updates before G step 0 (WGAN's warm-up: 100)"),),
            description="n D updates before the first G step (Goodfellow et al. 2014, sec. 4)",
        )
    )
