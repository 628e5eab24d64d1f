"""Instance noise: Gaussian noise on everything D sees, annealed to zero.

Sønderby et al. 2016 ("Amortised MAP Inference for Image Super-resolution",
section 3.2) and Arjovsky and Bottou 2017 ("Towards Principled Methods for
Training GANs", section 4) add noise to D's real and generated inputs
alike, so that the two distributions overlap and D's gradient stays
informative; the noise is annealed to zero so that the game ends on the
real data. Here the standard deviation falls linearly from ``sigma`` at
step 0 to 0 at step ``anneal_steps``, by default the end of the budget (so
a run resumed with a longer ``--steps`` anneals over the longer budget from
then on; give ``anneal_steps`` to fix the horizon). Neither paper fixes a start value
for all data; 0.1 (a twentieth of the [-1, 1] data range) is ganbench's
default, to be set per dataset.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import torch
from torch import Tensor

import ganbench
from ganbench.api import Param, StepContext, Trick, TrickSpec

NAME = "instance-noise"


class InstanceNoise(Trick):
    """Adds N(0, sigma_t^2) to D's inputs, sigma_t = sigma (1 - step / steps)."""

    name = NAME
    hook_points = ("transform_d_input",)

    def __init__(self, params: Mapping[str, Any]) -> None:
        self.sigma = float(params["sigma"])
        self.anneal_steps = int(params["anneal_steps"])
        if self.sigma < 0.0:
            raise ValueError(f"instance-noise sigma must be >= 0, got {self.sigma}")
        if self.anneal_steps < 0:
            raise ValueError(f"instance-noise anneal_steps must be >= 0, got {self.anneal_steps}")

    def std_at(self, step: int, total_steps: int) -> float:
        """The noise's standard deviation at generator step ``step`` of a ``total_steps`` run."""
        return annealed_std(self.sigma, self.anneal_steps, step, total_steps)

    def transform_d_input(self, x: Tensor, which: str, ctx: StepContext) -> Tensor:
        std = self.std_at(ctx.step, ctx.total_steps)
        if std == 0.0 or not x.is_floating_point():
            return x
        return x + std * torch.randn_like(x)


def annealed_std(sigma: float, anneal_steps: int, step: int, total_steps: int) -> float:
    """``sigma`` falling linearly to 0 at ``anneal_steps`` (0: at ``total_steps``), then 0."""
    horizon = anneal_steps or total_steps
    return sigma * max(0.0, 1.0 - step / max(horizon, 1))


@ganbench.hookimpl
def ganbench_register_tricks(register: Callable[[TrickSpec], None]) -> None:
    register(
        TrickSpec(
            name=NAME,
            build=InstanceNoise,
            hook_points=InstanceNoise.hook_points,
            params=(
                Param("sigma", float, 0.1, "noise std at step 0, annealed to 0"),
                Param("anneal_steps", int, 0, "steps to reach 0 (0: the run's budget)"),
            ),
            description="annealed Gaussian noise on D's inputs (Sønderby et al. 2016)",
        )
    )
