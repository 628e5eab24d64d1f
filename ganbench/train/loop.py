"""The standard train loop: steps, trick hooks, validation, checkpoints, resume."""

from __future__ import annotations

import json
import math
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from threadpoolctl import threadpool_limits

from ganbench.data.types import Batch
from ganbench.errors import CheckpointError, PluginContractError
from ganbench.model import GANModel
from ganbench.progress import TrainingProgress
from ganbench.train.batches import BatchStream
from ganbench.train.checkpoint import load_checkpoint, restore_rng_state, rng_state, save_checkpoint
from ganbench.train.schedule import DStepSchedule, as_schedule
from ganbench.train.step import StepContext
from ganbench.train.trick_chain import TrickChain
from ganbench.trick import Validation

#: Validation callback: the model -> the selection metric on the validation split.
Validator = Callable[[GANModel], float]
#: Called after each checkpoint with the training curves so far (a run folder's
#: ``curves.csv`` is rewritten from it, so a long run can be watched).
CurvesListener = Callable[[list[dict[str, float]]], None]

LAST_CHECKPOINT = "last.pt"
#: The checkpoint before ``last.pt``, kept so that a damaged ``last.pt`` costs
#: one checkpoint interval, not the run.
PREVIOUS_CHECKPOINT = "previous.pt"
BEST_CHECKPOINT = "best.pt"


@dataclass(frozen=True)
class TrainSettings:
    """The training half of the protocol.

    Attributes:
        steps: budget in generator steps.
        batch_size: real samples per batch.
        seed: seeds model init, latents and batch order.
        d_steps: D steps of an ordinary G step before tricks (None: the model's
            schedule as it is; a number replaces the schedule's base).
        checkpoint_every: steps between checkpoints (and validations).
        select_lower_is_better: direction of the validation metric.
        log_every: steps averaged into one row of the training curves.
    """

    steps: int
    batch_size: int
    seed: int
    d_steps: int | None = None
    checkpoint_every: int = 200
    select_lower_is_better: bool = True
    log_every: int = 10


@dataclass
class TrainOutcome:
    """How training ended."""

    status: str  # "completed" or "diverged"
    steps_done: int
    diverged_at_step: int | None
    selected_step: int | None
    curves: list[dict[str, float]] = field(default_factory=list)
    schedule: DStepSchedule = field(default_factory=DStepSchedule)
    wall_time_s: float = 0.0
    #: A trick ended training (``ctx.stop_requested``), before or at the budget.
    stopped_early: bool = False
    #: How the standard D update fed D (``ctx.d_batches``).
    d_batches: str = "separate"

    @property
    def d_steps_total(self) -> int:
        """D steps the schedule gave the generator steps trained (pretraining excluded)."""
        return self.schedule.total(self.steps_done)


class Trainer:
    """Runs the standard train protocol for one model on one training split.

    The model comes shaped by :func:`ganbench.build.shape_model` (initialised
    when fresh, transformed by the tricks). Checkpoints go to ``checkpoint_dir/last.pt`` every ``checkpoint_every``
    steps and at the end; the generator state that scores best on the
    validation split goes to ``best.pt``. Both are replaced atomically.
    """

    def __init__(
        self,
        model: GANModel,
        train_split: Batch,
        tricks: TrickChain,
        settings: TrainSettings,
        device: torch.device,
        checkpoint_dir: Path,
        *,
        paired: bool = True,
        validator: Validator | None = None,
        progress: TrainingProgress | None = None,
        on_checkpoint: CurvesListener | None = None,
        model_name: str | None = None,
    ) -> None:
        self.model = model
        self.tricks = tricks
        self.settings = settings
        self.device = device
        self.checkpoint_dir = checkpoint_dir
        self.validator = validator
        self.progress = progress
        self.on_checkpoint = on_checkpoint
        self.model_name = model_name or type(model).__name__
        self.stream = BatchStream(train_split, settings.batch_size, settings.seed, paired=paired)

    # -- set-up ---------------------------------------------------------------
    def _optimizers(self) -> dict[str, torch.optim.Optimizer]:
        """The model's named optimizers, after the tricks' ``configure_optimizers``."""
        optimizers = self.model.configure_optimizers()
        if not isinstance(optimizers, Mapping) or not all(
            isinstance(o, torch.optim.Optimizer) for o in optimizers.values()
        ):
            raise PluginContractError(
                f"model {self.model_name!r}: configure_optimizers() must return a dict of "
                f"named optimizers (API 2), got {type(optimizers).__name__}"
            )
        optimizers = self.tricks.configure_optimizers(self.model, dict(optimizers))
        needed = set(self.model.d_optimizers) | set(self.model.g_optimizers)
        missing = sorted(needed - set(optimizers))
        if missing:
            raise PluginContractError(
                f"model {self.model_name!r}: no optimizer named {', '.join(map(repr, missing))} "
                f"(it has: {', '.join(sorted(optimizers)) or 'none'})"
            )
        return optimizers

    def schedule(self) -> DStepSchedule:
        """The D-steps schedule: the model's, ``--d-steps`` as its base, then the tricks'."""
        schedule = as_schedule(self.model.d_steps)
        if self.settings.d_steps is not None:
            schedule = schedule.with_base(self.settings.d_steps)
        return self.tricks.d_steps_schedule(schedule)

    def _context(
        self, optimizers: dict[str, torch.optim.Optimizer], schedule: DStepSchedule
    ) -> StepContext:
        return StepContext(
            step=0,
            total_steps=self.settings.steps,
            device=self.device,
            model=self.model,
            optimizers=optimizers,
            hooks=self.tricks,
            schedule=schedule,
            d_steps=schedule.at(0),
            next_batch=self.stream.next,
            d_batches=self.tricks.d_batches(),
        )

    # -- checkpoints -----------------------------------------------------------
    def _save(self, ctx: StepContext, step: int, state: dict[str, Any]) -> None:
        last = self.checkpoint_dir / LAST_CHECKPOINT
        if last.exists():
            # A rename, atomic: at every instant one intact full state is on disk.
            last.replace(self.checkpoint_dir / PREVIOUS_CHECKPOINT)
        save_checkpoint(
            last,
            {
                "step": step,
                "model": self.model.state_dict(),
                "optimizers": {name: opt.state_dict() for name, opt in ctx.optimizers.items()},
                "tricks": [t.state_dict() for t in self.tricks.tricks],
                "rng": rng_state(self.device),
                "stream_position": self.stream.position,
                "curves": state["curves"],
                # The partial loss window, so a resumed run logs the same rows.
                "window": state["window"],
                "window_n": state["window_n"],
                "window_counts": state["window_counts"],
                "best_step": state["best_step"],
                "best_value": state["best_value"],
                "wall_time_s": state["wall_time_s"],
                "status": state["status"],
                "diverged_at_step": state["diverged_at_step"],
                "stopped_early": state["stopped_early"],
            },
        )

    def _restore(self, ctx: StepContext, payload: dict[str, Any]) -> dict[str, Any]:
        load_model_state(self.model, payload["model"], self.checkpoint_dir / LAST_CHECKPOINT)
        saved = payload.get("optimizers")
        if not isinstance(saved, dict) or set(saved) != set(ctx.optimizers):
            raise CheckpointError(
                "checkpoint optimizers do not match the model's "
                f"({', '.join(sorted(ctx.optimizers))}): was it written by another model or API?"
            )
        for name, opt in ctx.optimizers.items():
            opt.load_state_dict(saved[name])
        for trick, trick_state in zip(self.tricks.tricks, payload["tricks"], strict=True):
            trick.load_state_dict(trick_state)
        restore_rng_state(payload["rng"], self.device)
        self.stream.position = int(payload["stream_position"])
        return {
            "curves": list(payload["curves"]),
            "window": dict(payload.get("window", {})),
            "window_n": int(payload.get("window_n", 0)),
            "window_counts": dict(
                payload.get("window_counts")
                or {k: int(payload.get("window_n", 0)) for k in payload.get("window", {})}
            ),
            "best_step": payload["best_step"],
            "best_value": payload["best_value"],
            "wall_time_s": float(payload["wall_time_s"]),
            "status": payload["status"],
            "diverged_at_step": payload["diverged_at_step"],
            "stopped_early": bool(payload.get("stopped_early", False)),
            "step": int(payload["step"]),
        }

    def _resume_payload(self) -> dict[str, Any] | None:
        """The newest intact full state: ``last.pt``, else ``previous.pt``; None before any.

        Raises:
            CheckpointError: checkpoints exist but none can be read; the
                message says what is still recoverable (the selected generator).
        """
        last = self.checkpoint_dir / LAST_CHECKPOINT
        previous = self.checkpoint_dir / PREVIOUS_CHECKPOINT
        if not last.exists() and not previous.exists():
            return None  # killed before the first checkpoint: start from step 0
        problems = []
        for path in (last, previous):
            if not path.exists():
                continue
            try:
                payload = load_checkpoint(path)
            except CheckpointError as exc:
                problems.append(str(exc))
                continue
            if path == previous:
                self._say(
                    f"ganbench: note: {problems[0]}; resuming from {PREVIOUS_CHECKPOINT} at step "
                    f"{int(payload['step'])} (the steps after it are trained again, identically)"
                )
            return payload
        raise CheckpointError(
            f"cannot resume: {'; '.join(problems)}; {_recoverable(self.checkpoint_dir)}"
        )

    def _say(self, line: str) -> None:
        """A line the user must see even with ``--quiet`` (above the bar when there is one)."""
        if self.progress is not None and not self.progress.quiet:
            self.progress.note(line)
        else:
            sys.stderr.write(line + "\n")

    def _validate(self, step: int, state: dict[str, Any]) -> float | None:
        """Score the current generator on the validation split; keep it if best."""
        if self.validator is None:
            return None
        was_training = self.model.training
        self.model.eval()
        try:
            with self.tricks.evaluated(self.model), threadpool_limits(limits=1, user_api="blas"):
                # One BLAS thread for the metric's small numpy matrices: idle OpenBLAS
                # workers busy-wait after each call and would take a core from the
                # training steps that follow (~10% slower on 2 cores, measured).
                value = float(self.validator(self.model))
                if self._is_better(value, state):
                    # The weights evaluation uses (an EMA of G, say): what ``best.pt``
                    # holds is what ``ganbench score RUN`` evaluates.
                    state["best_value"], state["best_step"] = value, step
                    save_checkpoint(
                        self.checkpoint_dir / BEST_CHECKPOINT,
                        {"step": step, "model": self.model.state_dict()},
                    )
        finally:
            self.model.train(was_training)
        return value

    def _is_better(self, value: float, state: dict[str, Any]) -> bool:
        """Whether ``value`` beats the best validation value so far."""
        best = state["best_value"]
        if not math.isfinite(value):
            return False
        return best is None or (
            value < best if self.settings.select_lower_is_better else value > best
        )

    def _check_hooks_reached(self) -> None:
        """Refuse a step that skipped a hook point a trick of the run uses.

        Otherwise the trick would be recorded (and shown on the leaderboard)
        while doing nothing.
        """
        missing = self.tricks.unreached()
        if missing:
            trick, point = missing[0]
            raise PluginContractError(
                f"model {self.model_name!r}: its train_step never reached hook point "
                f"{point!r}, which trick {getattr(trick, 'name', type(trick).__name__)!r} uses; "
                "a custom train_step must build on ganbench.api's discriminator_update, "
                "generator_update or step_optimizers (see CONTRIBUTING.md)"
            )

    # -- the loop ----------------------------------------------------------------
    def run(self, resume: bool = False) -> TrainOutcome:
        """Train to the step budget (or divergence, or a trick's early stop)."""
        settings = self.settings
        torch.manual_seed(settings.seed)
        self.model.to(self.device)
        optimizers = self._optimizers()
        schedule = self.schedule()
        ctx = self._context(optimizers, schedule)
        state: dict[str, Any] = {
            "curves": [],
            "best_step": None,
            "best_value": None,
            "wall_time_s": 0.0,
            "status": "running",
            "diverged_at_step": None,
            "step": 0,
            "window": {},
            "window_n": 0,
            "window_counts": {},
            "stopped_early": False,
        }
        payload = self._resume_payload() if resume else None
        if payload is not None:
            state = self._restore(ctx, payload)
            if (
                state["status"] == "completed"
                and state["step"] < settings.steps
                and not state["stopped_early"]
            ):
                state["status"] = "running"  # a resume that extends the budget
        start_step = state["step"]
        session_start = time.perf_counter()
        prior_wall = state["wall_time_s"]
        self.model.train()
        if payload is None and settings.steps > 0:
            # The phase before step 0 (pretraining): fresh runs only, since a
            # resumed run's checkpoint already holds its effect.
            self.model.before_training(ctx)
            self.tricks.before_training(self.model, ctx)
        if self.progress is not None:
            self.progress.start_at(start_step)
        window: dict[str, float] = state["window"]
        window_n: int = state["window_n"]
        counts: dict[str, int] = state["window_counts"]
        step = start_step
        while state["status"] == "running" and step < settings.steps:
            ctx.step = step
            ctx.d_steps = schedule.at(step)
            if step == start_step:
                self.tricks.clear_reached()
            losses = self.tricks.train_step(self.model, self.stream.next(), ctx)
            if step == start_step:
                self._check_hooks_reached()
            values = {name: float(v) for name, v in losses.items()}
            if not all(math.isfinite(v) for v in values.values()):
                state["status"], state["diverged_at_step"] = "diverged", step
                break
            self.tricks.end_of_step(self.model, ctx)
            step += 1
            for name, v in values.items():
                window[name] = window.get(name, 0.0) + v
                # Per name: a term logged on some steps only is averaged over those.
                counts[name] = counts.get(name, 0) + 1
            window_n += 1
            if window_n == settings.log_every or step == settings.steps:
                state["curves"].append(
                    {"step": step, **{k: v / counts[k] for k, v in window.items()}}
                )
                window, counts, window_n = {}, {}, 0
            if self.progress is not None:
                self.progress.update(step, values)
            at_end = step == settings.steps or ctx.stop_requested
            if step % settings.checkpoint_every == 0 or at_end:
                value = self._validate(step, state)
                if value is not None:
                    state["curves"].append({"step": step, "val_metric": value})
                    self.tricks.after_validation(
                        Validation(
                            step,
                            value,
                            state["best_step"],
                            state["best_value"],
                            settings.select_lower_is_better,
                        ),
                        ctx,
                    )
                    # An early stop decided on this validation ends the run here,
                    # and the checkpoint below says so (a resume does not reopen it).
                    at_end = at_end or ctx.stop_requested
                if ctx.stop_requested:
                    # Even at the budget's last step: a resume that extends the
                    # budget must not reopen a run a trick has ended.
                    state["stopped_early"] = True
                state["wall_time_s"] = prior_wall + time.perf_counter() - session_start
                if at_end:
                    state["status"] = "completed"
                # The partial logging window is only needed by a resume.
                state["window"], state["window_n"] = window, window_n
                state["window_counts"] = counts
                self._save(ctx, step, state)
                if self.on_checkpoint is not None:
                    self.on_checkpoint(state["curves"])
            if ctx.stop_requested:
                state["status"] = "completed"
        if state["status"] == "running":  # a zero-step budget: nothing to train
            state["status"] = "completed"
        state["wall_time_s"] = prior_wall + time.perf_counter() - session_start
        if state["status"] == "diverged":
            self._save(ctx, step, state)
        return TrainOutcome(
            status=state["status"],
            steps_done=step,
            diverged_at_step=state["diverged_at_step"],
            selected_step=state["best_step"],
            curves=state["curves"],
            schedule=schedule,
            wall_time_s=state["wall_time_s"],
            stopped_early=state["stopped_early"],
            d_batches=ctx.d_batches,
        )


def _recoverable(checkpoint_dir: Path) -> str:
    """What a run with no readable full state still has, in words."""
    best = checkpoint_dir / BEST_CHECKPOINT
    try:
        step = int(load_checkpoint(best)["step"]) if best.exists() else None
    except CheckpointError:
        step = None
    if step is None:
        return "no intact checkpoint is left: start the run again"
    run_dir = checkpoint_dir.parent
    try:
        dataset = json.loads((run_dir / "config.json").read_text())["request"]["dataset"]
    except (OSError, ValueError, KeyError, TypeError):
        dataset = "DATASET"
    return (
        f"still intact: {BEST_CHECKPOINT}, the generator selected on the validation split "
        f"at step {step} (`ganbench score dataset:{dataset}:test {run_dir}` evaluates it); "
        "training cannot continue from it: start the run again to train further"
    )


def load_selected_generator(model: GANModel, checkpoint_dir: Path) -> int | None:
    """Load the validation-selected weights into ``model``; return their step."""
    path = checkpoint_dir / BEST_CHECKPOINT
    if not path.exists():
        return None
    payload = load_checkpoint(path)
    load_model_state(model, payload["model"], path)
    return int(payload["step"])


def load_model_state(model: GANModel, state: Mapping[str, Any], path: Path) -> None:
    """``model.load_state_dict(state)``; a mismatch is one clear line, not a traceback.

    A mismatch means the checkpoint was written by a differently shaped model:
    another architecture, other model parameters, or other tricks that change
    the model (spectral norm wraps D's layers).
    """
    try:
        model.load_state_dict(state)
    except RuntimeError as exc:
        detail = str(exc).strip().splitlines()
        first = next(
            (line.strip() for line in detail[1:] if line.strip()), detail[0] if detail else ""
        )
        raise CheckpointError(
            f"checkpoint {str(path)!r} does not fit the model it is loaded into ({first[:200]}); "
            "was it trained with other model parameters or tricks?"
        ) from None
