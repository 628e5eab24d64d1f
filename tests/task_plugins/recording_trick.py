"""A test-only trick that overrides every hook point and records each call.

Its defaults change nothing, so a run with it is the run without it; its
parameters let each hook visibly change training, one at a time:

* ``real_target`` (positional, float, 1.0): ``targets`` multiplies D's real
  targets by it (one-sided label smoothing, Salimans et al. 2016, at 0.9);
* ``noise`` (float, 0.0): ``transform_d_input`` adds N(0, noise^2) to every D
  input (instance noise, Sønderby et al. 2016);
* ``d_steps`` (int, 0 = keep): ``d_steps_schedule`` returns a schedule with that base;
* ``freeze`` (bool): ``configure_optimizers`` swaps in SGD with learning rate 0;
* ``stop_after`` (int, 0 = never): ``end_of_step`` requests a stop once that
  many generator steps are done.

The module registers the trick as ``recording`` (for ``--plugins-dir``);
tests that need the built trick objects register a :class:`RecordingPlugin`
instance instead, which keeps every trick it builds.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping
from typing import Any

import torch
from torch import Tensor

import ganbench
from ganbench.api import (
    HOOK_POINTS,
    Batch,
    DBatches,
    DStepSchedule,
    GANModel,
    LatentPrior,
    StepContext,
    StepFunction,
    StepTensors,
    Trick,
    TrickParam,
    TrickSpec,
    Validation,
)

NAME = "recording"

PARAMS = (
    TrickParam("real_target", float, 1.0, "multiply D's real targets by this"),
    TrickParam("noise", float, 0.0, "std of Gaussian noise added to every D input"),
    TrickParam("d_steps", int, 0, "D steps per G step (0: keep the model's)"),
    TrickParam("freeze", bool, False, "replace both optimizers by SGD with learning rate 0"),
    TrickParam("stop_after", int, 0, "stop training after this many G steps (0: never)"),
)

#: One recorded call: (hook name, with ":real"/":fake"/":d"/":g" where the hook
#: takes that argument; ctx.step, or None for the hooks called before training).
Call = tuple[str, int | None]


class RecordingTrick(Trick):
    """Records ``(hook, step)`` for every hook call; optionally acts (see module)."""

    name = NAME
    hook_points = HOOK_POINTS

    def __init__(self, params: Mapping[str, Any] | None = None) -> None:
        values = {p.name: p.default for p in PARAMS} | dict(params or {})
        self.real_target = float(values["real_target"])
        self.noise = float(values["noise"])
        self.d_steps = int(values["d_steps"])
        self.freeze = bool(values["freeze"])
        self.stop_after = int(values["stop_after"])
        self.calls: list[Call] = []
        #: Calls per hook point, checkpointed (shows trick state survives a resume).
        self.counts: Counter[str] = Counter()

    def _record(self, hook: str, ctx: StepContext | None, detail: str | None = None) -> None:
        self.calls.append(
            (hook if detail is None else f"{hook}:{detail}", None if ctx is None else ctx.step)
        )
        self.counts[hook] += 1

    def transform_model(self, model: GANModel) -> None:
        self._record("transform_model", None)

    def latent_prior(self, prior: LatentPrior, model: GANModel) -> LatentPrior:
        self._record("latent_prior", None)
        return prior

    def init_weights(self, model: GANModel) -> None:
        self._record("init_weights", None)

    def configure_optimizers(
        self, model: GANModel, optimizers: dict[str, torch.optim.Optimizer]
    ) -> dict[str, torch.optim.Optimizer]:
        self._record("configure_optimizers", None)
        if self.freeze:
            return {
                "g": torch.optim.SGD(model.generator.parameters(), lr=0.0),
                "d": torch.optim.SGD(model.discriminator.parameters(), lr=0.0),
            }
        return optimizers

    def d_steps_schedule(self, schedule: DStepSchedule) -> DStepSchedule:
        self._record("d_steps_schedule", None)
        return schedule.with_base(self.d_steps) if self.d_steps else schedule

    def d_batches(self, mode: DBatches) -> DBatches:
        self._record("d_batches", None)
        return mode

    def before_training(self, model: GANModel, ctx: StepContext) -> None:
        self._record("before_training", None)

    def train_step(
        self, model: GANModel, batch: Batch, ctx: StepContext, step: StepFunction
    ) -> dict[str, Tensor]:
        self._record("train_step", ctx)
        return step(batch, ctx)

    def targets(self, real: Tensor, fake: Tensor, ctx: StepContext) -> tuple[Tensor, Tensor]:
        self._record("targets", ctx)
        # Multiplying (not filling) composes with a trick earlier in the chain.
        return real * self.real_target, fake

    def transform_d_input(self, x: Tensor, which: str, ctx: StepContext) -> Tensor:
        self._record("transform_d_input", ctx, which)
        return x + self.noise * torch.randn_like(x) if self.noise > 0 else x

    def transform_d_output(
        self, out: dict[str, Tensor], which: str, ctx: StepContext
    ) -> dict[str, Tensor]:
        self._record("transform_d_output", ctx, which)
        return out

    def loss_terms(self, terms: dict[str, Tensor], step: StepTensors) -> dict[str, Tensor]:
        self._record("loss_terms", step.ctx, step.net)
        return terms

    def after_d_step(self, model: GANModel, ctx: StepContext) -> None:
        self._record("after_d_step", ctx)

    def after_g_step(self, model: GANModel, ctx: StepContext) -> None:
        self._record("after_g_step", ctx)

    def end_of_step(self, model: GANModel, ctx: StepContext) -> None:
        self._record("end_of_step", ctx)
        if self.stop_after and ctx.step + 1 >= self.stop_after:
            ctx.stop_requested = True

    def after_validation(self, validation: Validation, ctx: StepContext) -> None:
        self._record("after_validation", ctx)

    def evaluation_weights(self, model: GANModel) -> dict[str, Tensor]:
        self._record("evaluation_weights", None)
        return {}

    def state_dict(self) -> dict[str, Any]:
        return {"counts": dict(self.counts)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.counts = Counter(state["counts"])


def trick_spec(build: Callable[[Mapping[str, Any]], Trick]) -> TrickSpec:
    """The ``recording`` trick's registration, building tricks with ``build``."""
    return TrickSpec(
        name=NAME,
        build=build,
        hook_points=HOOK_POINTS,
        params=PARAMS,
        description="test-only: records every hook call; parameters exercise each hook",
    )


class RecordingPlugin:
    """A plugin object registering ``recording``; ``built`` lists the tricks it made."""

    def __init__(self) -> None:
        self.built: list[RecordingTrick] = []

    def build(self, params: Mapping[str, Any]) -> RecordingTrick:
        trick = RecordingTrick(params)
        self.built.append(trick)
        return trick

    @ganbench.hookimpl
    def ganbench_register_tricks(self, register: Callable[[TrickSpec], None]) -> None:
        register(trick_spec(self.build))


@ganbench.hookimpl
def ganbench_register_tricks(register: Callable[[TrickSpec], None]) -> None:
    """Register ``recording`` when this file is loaded as a plugin module."""
    register(trick_spec(RecordingTrick))
