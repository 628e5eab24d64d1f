"""What a training step can see and use: the step context."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import torch

if TYPE_CHECKING:
    from ganbench.data.types import Batch
    from ganbench.train.trick_chain import TrickChain


@dataclass
class StepContext:
    """Per-run state handed to ``GANModel.train_step`` and to every trick hook.

    Attributes:
        step: index of the generator step being taken (0-based).
        total_steps: the run's budget in generator steps.
        device: where tensors live.
        opt_g, opt_d: the optimizers, after the tricks' ``configure_optimizers``.
        hooks: the tricks' hook points, composed in the user's order.
        d_steps: discriminator steps per generator step, after tricks.
        next_batch: draws the next real training batch (for extra D steps).
        stop_requested: set by an ``end_of_step`` hook to end training early.
        scratch: free space for tricks and custom steps (not checkpointed).
    """

    step: int
    total_steps: int
    device: torch.device
    opt_g: torch.optim.Optimizer
    opt_d: torch.optim.Optimizer
    hooks: TrickChain
    d_steps: int
    next_batch: Callable[[], Batch]
    stop_requested: bool = False
    scratch: dict[str, Any] = field(default_factory=dict)
