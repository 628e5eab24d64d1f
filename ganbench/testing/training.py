"""Short runs of the real train loop for the checks, and weight comparisons."""

from __future__ import annotations

import functools
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

import torch
from torch import Tensor

from ganbench.data.types import Batch
from ganbench.model import GANModel
from ganbench.model_build import shape_model
from ganbench.train.checkpoint import load_checkpoint
from ganbench.train.loop import LAST_CHECKPOINT, Trainer, TrainOutcome, TrainSettings, Validator
from ganbench.train.trick_chain import TrickChain
from ganbench.trick import Trick

CPU = torch.device("cpu")
P = ParamSpec("P")
R = TypeVar("R")


@contextmanager
def isolated_rng(seed: int = 0) -> Iterator[None]:
    """Seed torch's global RNG for the block and restore the caller's state afterwards."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        yield


def keeps_rng(check: Callable[P, R]) -> Callable[P, R]:
    """Run a ``check_*`` function from seed 0 and give the caller back its RNG state.

    Checks are then reproducible, and a test that calls one is not disturbed.
    """

    @functools.wraps(check)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        with isolated_rng(0):
            return check(*args, **kwargs)

    return wrapper


def snapshot(module: torch.nn.Module) -> dict[str, Tensor]:
    """A detached copy of ``module``'s parameters and buffers."""
    return {name: t.detach().clone() for name, t in module.state_dict().items()}


def params_changed(before: Mapping[str, Tensor], module: torch.nn.Module) -> bool:
    """Whether any parameter of ``module`` differs from ``before`` (a snapshot of it)."""
    return any(
        name not in before or not torch.equal(before[name], p.detach())
        for name, p in module.named_parameters()
    )


def differs(a: Any, b: Any) -> bool:
    """Whether two hook values differ (tensors by value, tuples element-wise)."""
    if isinstance(a, Tensor) and isinstance(b, Tensor):
        return a.shape != b.shape or not torch.equal(a.detach(), b.detach())
    if isinstance(a, tuple | list) and isinstance(b, tuple | list):
        return len(a) != len(b) or any(differs(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        return set(a) != set(b) or any(differs(a[k], b[k]) for k in a)
    return a != b


class _InitialWeights(Trick):
    """Keeps the weights training starts from: the loop calls this after all init hooks."""

    name = "kit-initial-weights"
    hook_points = ("configure_optimizers",)

    def __init__(self) -> None:
        self.generator: dict[str, Tensor] = {}
        self.discriminator: dict[str, Tensor] = {}

    def configure_optimizers(self, model, optimizers):  # type: ignore[no-untyped-def]
        self.generator = {n: p.detach().clone() for n, p in model.generator.named_parameters()}
        d = model.discriminator  # None for a generator-only model
        self.discriminator = (
            {} if d is None else {n: p.detach().clone() for n, p in d.named_parameters()}
        )
        return optimizers


@dataclass
class ShortRun:
    """What a short training run left: outcome, start weights, its last checkpoint.

    ``evaluated`` is the model's state as an evaluation sees it (the tricks'
    evaluation weights swapped in: an EMA of G, say).
    """

    outcome: TrainOutcome
    start_generator: dict[str, Tensor]
    start_discriminator: dict[str, Tensor]
    checkpoint: dict[str, Any] = field(default_factory=dict)
    evaluated: dict[str, Tensor] = field(default_factory=dict)


def short_run(
    model: GANModel,
    train: Batch,
    tricks: Sequence[Trick] = (),
    *,
    steps: int = 1,
    batch_size: int = 8,
    seed: int = 0,
    paired: bool = True,
    validator: Validator | None = None,
) -> ShortRun:
    """Train ``model`` for ``steps`` generator steps with the standard loop, on the CPU.

    The model is shaped as every build path shapes it (initialised, then the
    tricks' build hooks), the loop builds the optimizers, steps and writes
    its checkpoint, exactly as ``ganbench run`` does; the checkpoint is read
    back with ganbench's reader, and the weights are read as an evaluation
    would see them. ``paired`` is
    the dataset's ``info.paired`` (unpaired translation draws the domains
    independently), as the runner passes it. With a ``validator`` (the
    model -> a value, lower is better) the loop validates after every step.
    """
    spy = _InitialWeights()
    settings = TrainSettings(
        steps=steps,
        batch_size=min(batch_size, len(train)),
        seed=seed,
        checkpoint_every=1 if validator is not None else max(1, steps),
        log_every=1,
    )
    chain = TrickChain([*tricks, spy])
    shape_model(model, chain, fresh=True)
    with tempfile.TemporaryDirectory(prefix="ganbench-check-") as tmp:
        folder = Path(tmp)
        trainer = Trainer(
            model, train, chain, settings, CPU, folder, paired=paired, validator=validator
        )
        outcome = trainer.run()
        path = folder / LAST_CHECKPOINT
        checkpoint = load_checkpoint(path) if path.exists() else {}
    with chain.evaluated(model):
        evaluated = snapshot(model)
    return ShortRun(outcome, spy.generator, spy.discriminator, checkpoint, evaluated)
