"""EMA: evaluate an exponential moving average of the generator's weights.

Averaging G's weights over training (Yazici et al. 2019, "The Unusual
Effectiveness of Averaging in GAN Training"; used by Karras et al. 2018 and
Brock et al. 2019) smooths out the oscillation of the adversarial game. The
live weights train as usual; validation, ``best.pt`` and the evaluation use
the average, so ``ganbench score RUN`` scores what the run scored.

The average starts from zero and is divided by ``1 - decay**t`` after ``t``
updates (the bias correction of Adam, Kingma and Ba 2015): without it, the
first weights would keep a share of ``decay**t`` of the average, 13% after
2,000 steps at decay 0.999, and short budgets would evaluate a blend with
the untrained generator. BatchNorm statistics are G's live ones (they are
buffers, not averaged), as in Yazici et al.'s implementation.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import torch
from torch import Tensor

import ganbench
from ganbench.api import GANModel, Param, StepContext, Trick, TrickSpec

NAME = "ema"


class GeneratorEMA(Trick):
    """Keeps a bias-corrected exponential moving average of G's parameters."""

    name = NAME
    hook_points = ("after_g_step", "evaluation_weights")

    def __init__(self, params: Mapping[str, Any]) -> None:
        self.decay = float(params["decay"])
        if not 0.0 <= self.decay < 1.0:
            raise ValueError(f"ema decay must lie in [0, 1), got {self.decay}")
        self.updates = 0
        self.average: dict[str, Tensor] = {}

    def after_g_step(self, model: GANModel, ctx: StepContext) -> None:
        with torch.no_grad():
            for name, p in model.generator.named_parameters():
                avg = self.average.get(name)
                if avg is None:
                    avg = self.average[name] = torch.zeros_like(p)
                avg.mul_(self.decay).add_(p.detach(), alpha=1.0 - self.decay)
        self.updates += 1

    def evaluation_weights(self, model: GANModel) -> dict[str, Tensor]:
        if self.updates == 0:
            return {}  # nothing averaged yet: the live weights
        correction = 1.0 - self.decay**self.updates
        return {f"generator.{name}": avg / correction for name, avg in self.average.items()}

    def state_dict(self) -> dict[str, Any]:
        return {"updates": self.updates, "average": dict(self.average)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.updates = int(state["updates"])
        self.average = {name: t.clone() for name, t in state["average"].items()}


def _check(model: GANModel) -> str | None:
    if not any(True for _ in model.generator.parameters()):
        return "the generator has no parameters to average"
    return None


@ganbench.hookimpl
def ganbench_register_tricks(register: Callable[[TrickSpec], None]) -> None:
    register(
        TrickSpec(
            name=NAME,
            build=GeneratorEMA,
            hook_points=GeneratorEMA.hook_points,
            params=(Param("decay", float, 0.999, "weight of the old average per G step"),),
            description="evaluate an exponential moving average of G (Yazici et al. 2019)",
            check=_check,
        )
    )
