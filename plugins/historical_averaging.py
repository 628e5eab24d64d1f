"""Historical averaging: Salimans et al. 2016, "Improved Techniques for
Training GANs", section 3.3.

Each player's cost gets the term ||theta - (1/t) sum_i theta_i||^2, the
distance of its parameters from their average over past steps, which damps
the orbits gradient descent can fall into. The paper writes the term
without a weight, so ``weight`` defaults to 1. The averages run over the
parameters after each optimizer step of that network (``after_d_step``,
``after_g_step``), start at the first step (so step 0 adds no term), and
are checkpointed, so a resumed run averages over the same history.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import torch
from torch import Tensor, nn

import ganbench
from ganbench.api import GANModel, Param, StepContext, StepTensors, Trick, TrickSpec

NAME = "historical-averaging"
NETS = {"d": "discriminator", "g": "generator"}


def _network(model: GANModel, net: str) -> nn.Module:
    return getattr(model, NETS[net])


class HistoricalAveraging(Trick):
    """Pulls D and G towards the running average of their past parameters."""

    name = NAME
    hook_points = ("loss_terms", "after_d_step", "after_g_step")

    def __init__(self, params: Mapping[str, Any]) -> None:
        self.weight = float(params["weight"])
        if self.weight < 0.0:
            raise ValueError(f"historical-averaging weight must be >= 0, got {self.weight}")
        self.averages: dict[str, list[Tensor]] = {}
        self.counts: dict[str, int] = {"d": 0, "g": 0}

    def loss_terms(self, terms: dict[str, Tensor], step: StepTensors) -> dict[str, Tensor]:
        averages = self.averages.get(step.net)
        if averages:
            current = _network(step.model, step.net).parameters()
            distance = sum((p - a).pow(2).sum() for p, a in zip(current, averages, strict=True))
            terms["historical_average"] = self.weight * distance
        return terms

    def after_d_step(self, model: GANModel, ctx: StepContext) -> None:
        self._update("d", model)

    def after_g_step(self, model: GANModel, ctx: StepContext) -> None:
        self._update("g", model)

    @torch.no_grad()
    def _update(self, net: str, model: GANModel) -> None:
        current = [p.detach() for p in _network(model, net).parameters()]
        self.counts[net] += 1
        if net not in self.averages:
            self.averages[net] = [p.clone() for p in current]
            return
        rate = 1.0 / self.counts[net]
        for average, p in zip(self.averages[net], current, strict=True):
            average.add_(p - average, alpha=rate)

    def state_dict(self) -> dict[str, Any]:
        return {"averages": self.averages, "counts": dict(self.counts)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.averages = {net: list(tensors) for net, tensors in state["averages"].items()}
        self.counts = {net: int(count) for net, count in state["counts"].items()}


def _check(model: GANModel) -> str | None:
    missing = [
        attr for attr in NETS.values() if not isinstance(getattr(model, attr, None), nn.Module)
    ]
    if missing:
        return f"it averages model.generator and model.discriminator, and the model has no {missing[0]}"
    return None


@ganbench.hookimpl
def ganbench_register_tricks(register: Callable[[TrickSpec], None]) -> None:
    register(
        TrickSpec(
            name=NAME,
            build=HistoricalAveraging,
            hook_points=HistoricalAveraging.hook_points,
            params=(Param("weight", float, 1.0, "the term's weight (the paper writes none: 1)"),),
            description="||theta - mean of past theta||^2 on D and G (Salimans et al. 2016, 3.3)",
            check=_check,
        )
    )
