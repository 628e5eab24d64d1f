"""The two time-scale update rule: separate learning rates for D and G.

Heusel et al. 2017 ("GANs Trained by a Two Time-Scale Update Rule Converge
to a Local Nash Equilibrium") prove convergence when D and G learn at
different rates; the pair used here, D 4e-4 and G 1e-4, is the one Zhang
et al. 2019 (SAGAN, section 5) made standard with TTUR. The trick sets the
learning rate of every parameter group of the model's ``"d"`` and ``"g"``
optimizers and keeps the rest of each optimizer (betas, momentum) as the
model chose; a resumed run restores the optimizers with these rates.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import torch

import ganbench
from ganbench.api import GANModel, Param, Trick, TrickSpec

NAME = "ttur"


class TTUR(Trick):
    """D learns at ``d_lr``, G at ``g_lr``."""

    name = NAME
    hook_points = ("configure_optimizers",)

    def __init__(self, params: Mapping[str, Any]) -> None:
        self.rates = {"d": float(params["d_lr"]), "g": float(params["g_lr"])}
        for net, rate in self.rates.items():
            if rate <= 0.0:
                raise ValueError(f"ttur {net}_lr must be > 0, got {rate}")

    def configure_optimizers(
        self, model: GANModel, optimizers: dict[str, torch.optim.Optimizer]
    ) -> dict[str, torch.optim.Optimizer]:
        for net, rate in self.rates.items():
            for group in optimizers[net].param_groups:
                group["lr"] = rate
        return optimizers


def _check(model: GANModel) -> str | None:
    names = set(model.configure_optimizers())
    if not {"d", "g"} <= names:
        return f"it needs optimizers named 'd' and 'g', and the model has {sorted(names)}"
    return None


@ganbench.hookimpl
def ganbench_register_tricks(register: Callable[[TrickSpec], None]) -> None:
    register(
        TrickSpec(
            name=NAME,
            build=TTUR,
            hook_points=TTUR.hook_points,
            params=(
                Param("d_lr", float, 4e-4, "D's learning rate (SAGAN's TTUR: 4e-4)"),
                Param("g_lr", float, 1e-4, "G's learning rate (SAGAN's TTUR: 1e-4)"),
            ),
            description="separate D and G learning rates (Heusel et al. 2017; SAGAN's 4e-4/1e-4)",
            check=_check,
        )
    )
