"""The standard train loop: steps, trick hooks, validation, checkpoints, resume."""

from __future__ import annotations

import json
import math
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from threadpoolctl import threadpool_limits

from ganbench.data.types import Batch
from ganbench.errors import CheckpointError
from ganbench.model import GANModel
from ganbench.progress import TrainingProgress
from ganbench.train.batches import BatchStream
from ganbench.train.checkpoint import load_checkpoint, restore_rng_state, rng_state, save_checkpoint
from ganbench.train.context import StepContext
from ganbench.train.trick_chain import TrickChain

#: Validation callback: the model -> the selection metric on the validation split.
Validator = Callable[[GANModel], float]

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
        d_steps: D steps per G step before tricks (None: the model's default).
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
    d_steps: int = 1
    wall_time_s: float = 0.0


class Trainer:
    """Runs the standard train protocol for one model on one training split.

    Checkpoints go to ``checkpoint_dir/last.pt`` every ``checkpoint_every``
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
    ) -> None:
        self.model = model
        self.tricks = tricks
        self.settings = settings
        self.device = device
        self.checkpoint_dir = checkpoint_dir
        self.validator = validator
        self.progress = progress
        self.stream = BatchStream(train_split, settings.batch_size, settings.seed, paired=paired)

    # -- set-up ---------------------------------------------------------------
    def _fresh_start(self) -> tuple[torch.optim.Optimizer, torch.optim.Optimizer]:
        """Seed, initialise weights (model, then tricks), build optimizers."""
        self.model.init_weights()
        self.tricks.init_weights(self.model)
        opt_g, opt_d = self.model.configure_optimizers()
        return self.tricks.configure_optimizers(self.model, opt_g, opt_d)

    def _context(self, opt_g, opt_d, d_steps: int) -> StepContext:
        return StepContext(
            step=0,
            total_steps=self.settings.steps,
            device=self.device,
            opt_g=opt_g,
            opt_d=opt_d,
            hooks=self.tricks,
            d_steps=d_steps,
            next_batch=self.stream.next,
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
                "opt_g": ctx.opt_g.state_dict(),
                "opt_d": ctx.opt_d.state_dict(),
                "tricks": [t.state_dict() for t in self.tricks.tricks],
                "rng": rng_state(self.device),
                "stream_position": self.stream.position,
                "curves": state["curves"],
                # The partial loss window, so a resumed run logs the same rows.
                "window": state["window"],
                "window_n": state["window_n"],
                "best_step": state["best_step"],
                "best_value": state["best_value"],
                "wall_time_s": state["wall_time_s"],
                "status": state["status"],
                "diverged_at_step": state["diverged_at_step"],
            },
        )

    def _restore(self, ctx: StepContext, payload: dict[str, Any]) -> dict[str, Any]:
        self.model.load_state_dict(payload["model"])
        ctx.opt_g.load_state_dict(payload["opt_g"])
        ctx.opt_d.load_state_dict(payload["opt_d"])
        for trick, trick_state in zip(self.tricks.tricks, payload["tricks"], strict=True):
            trick.load_state_dict(trick_state)
        restore_rng_state(payload["rng"], self.device)
        self.stream.position = int(payload["stream_position"])
        return {
            "curves": list(payload["curves"]),
            "window": dict(payload.get("window", {})),
            "window_n": int(payload.get("window_n", 0)),
            "best_step": payload["best_step"],
            "best_value": payload["best_value"],
            "wall_time_s": float(payload["wall_time_s"]),
            "status": payload["status"],
            "diverged_at_step": payload["diverged_at_step"],
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
            # One BLAS thread for the metric's small numpy matrices: idle OpenBLAS
            # workers busy-wait after each call and would take a core from the
            # training steps that follow (~10% slower on 2 cores, measured).
            with threadpool_limits(limits=1, user_api="blas"):
                value = float(self.validator(self.model))
        finally:
            self.model.train(was_training)
        best = state["best_value"]
        better = best is None or (
            math.isfinite(value)
            and (value < best if self.settings.select_lower_is_better else value > best)
        )
        if better and math.isfinite(value):
            state["best_value"], state["best_step"] = value, step
            save_checkpoint(
                self.checkpoint_dir / BEST_CHECKPOINT,
                {"step": step, "model": self.model.state_dict()},
            )
        return value

    # -- the loop ----------------------------------------------------------------
    def run(self, resume: bool = False) -> TrainOutcome:
        """Train to the step budget (or divergence, or a trick's early stop)."""
        settings = self.settings
        torch.manual_seed(settings.seed)
        self.model.to(self.device)
        opt_g, opt_d = self._fresh_start()
        d_steps = self.tricks.d_steps_per_g_step(settings.d_steps or self.model.d_steps_per_g_step)
        ctx = self._context(opt_g, opt_d, d_steps)
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
        }
        if resume:
            payload = self._resume_payload()
            if payload is not None:
                state = self._restore(ctx, payload)
            if state["status"] == "completed" and state["step"] < settings.steps:
                state["status"] = "running"  # a resume that extends the budget
        start_step = state["step"]
        session_start = time.perf_counter()
        prior_wall = state["wall_time_s"]
        self.model.train()
        if self.progress is not None:
            self.progress.start_at(start_step)
        window: dict[str, float] = state["window"]
        window_n: int = state["window_n"]
        step = start_step
        while state["status"] == "running" and step < settings.steps:
            ctx.step = step
            losses = self.model.train_step(self.stream.next(), ctx)
            values = {name: float(v) for name, v in losses.items()}
            if not all(math.isfinite(v) for v in values.values()):
                state["status"], state["diverged_at_step"] = "diverged", step
                break
            self.tricks.end_of_step(self.model, ctx)
            step += 1
            for name, v in values.items():
                window[name] = window.get(name, 0.0) + v
            window_n += 1
            if window_n == settings.log_every or step == settings.steps:
                state["curves"].append(
                    {"step": step, **{k: v / window_n for k, v in window.items()}}
                )
                window, window_n = {}, 0
            if self.progress is not None:
                self.progress.update(step, values)
            at_end = step == settings.steps or ctx.stop_requested
            if step % settings.checkpoint_every == 0 or at_end:
                value = self._validate(step, state)
                if value is not None:
                    state["curves"].append({"step": step, "val_metric": value})
                state["wall_time_s"] = prior_wall + time.perf_counter() - session_start
                if at_end:
                    state["status"] = "completed"
                # The partial logging window is only needed by a resume.
                state["window"], state["window_n"] = window, window_n
                self._save(ctx, step, state)
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
            d_steps=d_steps,
            wall_time_s=state["wall_time_s"],
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
    model.load_state_dict(payload["model"])
    return int(payload["step"])
