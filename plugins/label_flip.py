"""Label flipping: each of D's targets is swapped (t -> 1 - t) with probability p.

From the practitioners' lists the articles draw on (Chintala et al. 2016,
"How to train a GAN", trick 6: "occasionally flip the labels when training
the discriminator"); p = 0.05 is the value commonly quoted with it. The
draws come from torch's generator, which the run seeds and checkpoints, so
a run and its resumed twin flip the same targets. Only losses that read
D's targets can be flipped (``check``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import torch
from torch import Tensor

import ganbench
from ganbench.api import Param, StepContext, Trick, TrickSpec
from ganbench_plugins.label_smoothing import targets_problem

NAME = "label-flip"


class LabelFlip(Trick):
    """Swaps each real and fake target with probability ``p``."""

    name = NAME
    hook_points = ("targets",)

    def __init__(self, params: Mapping[str, Any]) -> None:
        self.p = float(params["p"])
        if not 0.0 <= self.p <= 1.0:
            raise ValueError(f"label-flip p must be in [0, 1], got {self.p}")

    def targets(self, real: Tensor, fake: Tensor, ctx: StepContext) -> tuple[Tensor, Tensor]:
        return self._flip(real), self._flip(fake)

    def _flip(self, target: Tensor) -> Tensor:
        flipped = torch.rand(target.shape, device=target.device) < self.p
        return torch.where(flipped, 1.0 - target, target)


@ganbench.hookimpl
def ganbench_register_tricks(register: Callable[[TrickSpec], None]) -> None:
    register(
        TrickSpec(
            name=NAME,
            build=LabelFlip,
            hook_points=LabelFlip.hook_points,
            params=(Param("p", float, 0.05, "probability that a target is swapped"),),
            description="swap D's real/fake targets with probability p (ganhacks trick 6)",
            check=lambda model: targets_problem(model, NAME),
        )
    )
