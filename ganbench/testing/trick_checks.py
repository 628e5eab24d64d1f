"""Conformance checks of a trick plugin: :func:`check_trick`."""

from __future__ import annotations

import copy
import keyword
import tempfile
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from ganbench.registry import Registry
from ganbench.specs import Param, TrickSpec
from ganbench.testing.probe_models import ProbeSetup, probe_setups
from ganbench.testing.results import Check, CheckLog, CheckResult, describe_error
from ganbench.testing.training import differs, isolated_rng, keeps_rng, short_run, snapshot
from ganbench.train.checkpoint import load_checkpoint, save_checkpoint
from ganbench.trick import HOOK_POINTS, Trick, overridden_hook_points

#: Generator steps and batch size of the with/without comparison.
TRAIN_STEPS = 4
TRAIN_BATCH = 32
#: Steps of the comparison for a trick that acts on validations (early
#: stopping): validated after every step, on a metric that never improves
#: after the first, so that a stop has room to happen.
VALIDATED_STEPS = 12

#: What each hook point must change to count as acting.
CLAIMS = {
    "transform_model": "the model's structure or weights",
    "latent_prior": "the latent prior",
    "init_weights": "the model's initial weights",
    "configure_optimizers": "the optimizers or their settings",
    "d_steps_schedule": "the D-steps schedule",
    "d_batches": "how D's batches are made (separate or mixed)",
    "before_training": "the model's weights or the trick's state",
    "train_step": "the training step (it does not hand every step to the default)",
    "targets": "D's real or fake targets",
    "transform_d_input": "D's input",
    "transform_d_output": "D's outputs",
    "loss_terms": "the D or G loss terms",
    "after_d_step": "the model's weights, the trick's state or the stop flag",
    "after_g_step": "the model's weights, the trick's state or the stop flag",
    "end_of_step": "the model's weights, the trick's state or the stop flag",
    "after_validation": "the trick's state or the stop flag",
    "evaluation_weights": "the weights evaluation uses",
}


@keeps_rng
def check_trick(spec: TrickSpec, registry: Registry | None = None) -> list[CheckResult]:
    """Check a trick plugin against the trick contract.

    Checks the registration record (hook points from
    :data:`ganbench.api.HOOK_POINTS`, parameters whose defaults have the
    declared types); that ``spec.build(defaults)`` returns a
    :class:`~ganbench.api.Trick` overriding exactly the hook points it
    declares; that its ``state_dict()`` survives a checkpoint. Then it
    trains one of the kit's tiny probe GANs (the first that ``spec.check``
    accepts) for a few steps of the standard loop with the trick and
    without it, from one seed: every declared hook point must change what
    it is for (``targets`` the targets, ``after_d_step`` the weights or the
    trick's state, ...) in at least one call, and the run must end with
    other weights than the run without it.

    Args:
        spec: the trick's registration record.
        registry: unused (tricks are checked on the kit's own probe models);
            accepted so that every ``check_*`` takes the same arguments.
    """
    del registry
    log = CheckLog("trick", spec.name)
    if not log.registration(
        "tricks", TrickSpec, spec, lambda: f"hook points: {', '.join(spec.hook_points)}"
    ):
        return log.results
    with log.check("parameters") as check:
        _check_params(spec, check)
    if not check.ok:
        return log.results
    defaults = {p.name: p.default for p in spec.params}
    with log.check("builds with default parameters") as check:
        trick = _build(spec, defaults, check)
    if not check.ok:
        return log.results
    with log.check("overrides exactly the declared hook points") as check:
        overridden = set(overridden_hook_points(trick))
        undeclared = sorted(overridden - set(spec.hook_points), key=HOOK_POINTS.index)
        unused = sorted(set(spec.hook_points) - overridden, key=HOOK_POINTS.index)
        if undeclared:
            check.fail(f"overrides {', '.join(undeclared)} without declaring it in hook_points")
        if unused:
            check.fail(f"declares {', '.join(unused)} in hook_points but does not override it")
    with log.check("state survives a checkpoint") as check:
        _check_state(spec, defaults, trick, check)

    try:
        setups, refusals = _applicable_setups(spec)
    except Exception as exc:
        log.add("check() answers", "failed", f"check(model) raised {describe_error(exc)}")
        return log.results
    if not setups:
        detail = "applies to none of the kit's probe models: " + "; ".join(refusals)
        for point in spec.hook_points:
            log.add(f"{point} changes {CLAIMS[point]}", "skipped", detail)
        log.add("changes training", "skipped", detail)
        return log.results

    # Train on the first probe model the trick runs on: without a way to
    # declare "images only", an image trick may legitimately fail on 2-D points.
    errors: list[str] = []
    validated = "after_validation" in spec.hook_points
    run_options: dict[str, Any] = {"steps": TRAIN_STEPS, "batch_size": TRAIN_BATCH}
    if validated:
        run_options = {**run_options, "steps": VALIDATED_STEPS, "validator": _stalled_metric()}
    for setup in setups:
        try:
            spy = HookSpy(_build(spec, defaults, None))
            tricked = short_run(setup.build(), setup.train, [spy.trick], **run_options)
        except Exception as exc:
            errors.append(f"on {setup.name}: {describe_error(exc)}")
            continue
        if validated:
            run_options["validator"] = _stalled_metric()
        plain = short_run(setup.build(), setup.train, **run_options)
        break
    failure = "; ".join(errors) if len(errors) == len(setups) else None
    for point in spec.hook_points:
        with log.check(f"{point} changes {CLAIMS[point]}") as check:
            if failure is not None:
                check.fail(f"training with the trick failed: {failure}")
            calls, changed = spy.calls[point], spy.changed[point]
            if calls == 0:
                check.fail(f"never called in {TRAIN_STEPS} training steps on {setup.name}")
            if changed == 0:
                check.fail(f"{calls} call(s) on {setup.name}, none changed {CLAIMS[point]}")
            check.detail = f"changed it in {changed} of {calls} calls ({setup.name})"
    with log.check("changes training") as check:
        if failure is not None:
            check.fail(f"training with the trick failed: {failure}")
        steps = run_options["steps"]
        stopped = tricked.outcome.steps_done != plain.outcome.steps_done
        # Compared as evaluated: an EMA trick leaves the live weights alone.
        if not stopped and not differs(plain.evaluated, tricked.evaluated):
            check.fail(
                f"{steps} steps on {setup.name} with the trick end with the same "
                "weights as without it"
            )
        check.detail = (
            f"{steps} steps on {setup.name}: stopped after {tricked.outcome.steps_done}"
            if stopped
            else f"{steps} steps on {setup.name}: other final weights"
        )
        if errors:
            check.detail += f" (training failed {'; '.join(errors)})"
    return log.results


def _check_params(spec: TrickSpec, check: Check) -> None:
    names = [p.name for p in spec.params]
    duplicates = sorted(n for n, count in Counter(names).items() if count > 1)
    if duplicates:
        check.fail(f"parameter names appear twice: {', '.join(duplicates)}")
    for param in spec.params:
        if not isinstance(param, Param):
            check.fail(f"params must be Param records, got {type(param).__name__}")
        if not isinstance(param.name, str) or not param.name.isidentifier():
            check.fail(f"parameter name {param.name!r} is not an identifier")
        if keyword.iskeyword(param.name):
            check.fail(f"parameter name {param.name!r} is a Python keyword")
        if not isinstance(param.type, type):
            check.fail(
                f"parameter {param.name!r}: type must be a type (float...), got {param.type!r}"
            )
        default = param.default
        # An int default of a float parameter is fine: the CLI would give 1.0 for "1".
        fits = isinstance(default, param.type) and not (
            param.type is not bool and isinstance(default, bool)
        )
        if param.type is float and isinstance(default, int) and not isinstance(default, bool):
            fits = True
        if not fits:
            check.fail(
                f"parameter {param.name!r}: default {default!r} is not a {param.type.__name__}"
            )
    check.detail = ", ".join(f"{p.name}={p.default!r}" for p in spec.params) or "none"


def _build(spec: TrickSpec, params: dict[str, Any], check: Check | None) -> Trick:
    trick = spec.build(dict(params))
    if not isinstance(trick, Trick):
        message = f"build() returned {type(trick).__name__}, not a Trick"
        if check is None:
            raise TypeError(message)
        check.fail(message)
    return trick


def _check_state(spec: TrickSpec, defaults: dict[str, Any], trick: Trick, check: Check) -> None:
    state = trick.state_dict()
    if not isinstance(state, dict):
        check.fail(f"state_dict() returned {type(state).__name__}, not a dict")
    with tempfile.TemporaryDirectory(prefix="ganbench-check-") as tmp:
        path = Path(tmp) / "trick.pt"
        save_checkpoint(path, {"trick": state})
        loaded = load_checkpoint(path)["trick"]
    fresh = _build(spec, defaults, check)
    fresh.load_state_dict(loaded)
    if differs(fresh.state_dict(), state):
        check.fail("a fresh trick given load_state_dict(state) returns another state_dict()")
    check.detail = f"{len(state)} entries" if state else "no state"


def _applicable_setups(spec: TrickSpec) -> tuple[list[ProbeSetup], list[str]]:
    """The probe setups ``spec.check`` accepts, and the refusals of the others."""
    accepted, refusals = [], []
    for setup in probe_setups():
        with isolated_rng(0):
            model = setup.build()
        reason = spec.check(model) if spec.check is not None else None
        if reason is None:
            accepted.append(setup)
        else:
            refusals.append(f"{setup.name}: {reason}")
    return accepted, refusals


def _stalled_metric() -> Callable[[Any], float]:
    """A validation metric (lower is better) that gets worse at every validation."""
    count = [0]

    def validate(model: Any) -> float:
        count[0] += 1
        return float(count[0])

    return validate


class HookSpy:
    """Wraps every hook of one trick instance to count calls and calls that changed something.

    Inputs are cloned before the call, so a hook that edits its input in place
    still counts as changing it.
    """

    def __init__(self, trick: Trick) -> None:
        self.trick = trick
        self.calls: Counter[str] = Counter()
        self.changed: Counter[str] = Counter()
        for point in HOOK_POINTS:
            original = getattr(trick, point)
            wrapper = getattr(self, f"_{point}", None) or self._weights_or_state
            setattr(trick, point, self._counting(point, original, wrapper))

    def _counting(self, point: str, original: Callable, wrapper: Callable) -> Callable:
        def call(*args: Any) -> Any:
            self.calls[point] += 1
            result, changed = wrapper(original, *args)
            if changed:
                self.changed[point] += 1
            return result

        return call

    @staticmethod
    def _init_weights(original: Callable, model: Any) -> tuple[Any, bool]:
        before = snapshot(model)
        original(model)
        return None, differs(before, snapshot(model))

    @staticmethod
    def _transform_model(original: Callable, model: Any) -> tuple[Any, bool]:
        before = snapshot(model)
        modules = [type(m).__name__ for m in model.modules()]
        original(model)
        after = [type(m).__name__ for m in model.modules()]
        return None, modules != after or differs(before, snapshot(model))

    @staticmethod
    def _latent_prior(original: Callable, prior: Any, model: Any) -> tuple[Any, bool]:
        result = original(prior, model)
        return result, result is not prior or result.describe() != prior.describe()

    @staticmethod
    def _configure_optimizers(original: Callable, model: Any, optimizers: Any) -> tuple[Any, bool]:
        before = {name: _settings(opt) for name, opt in optimizers.items()}
        given = dict(optimizers)
        result = original(model, optimizers)
        replaced = set(result) != set(given) or any(result[k] is not given[k] for k in given)
        after = {name: _settings(opt) for name, opt in result.items()}
        return result, replaced or differs(before, after)

    @staticmethod
    def _d_steps_schedule(original: Callable, schedule: Any) -> tuple[Any, bool]:
        result = original(schedule)
        return result, result.describe() != schedule.describe()

    @staticmethod
    def _loss_terms(original: Callable, terms: Any, step: Any) -> tuple[Any, bool]:
        before = {name: t.detach().clone() for name, t in terms.items()}
        result = original(terms, step)
        return result, differs(before, {name: t.detach() for name, t in result.items()})

    @staticmethod
    def _d_batches(original: Callable, mode: str) -> tuple[Any, bool]:
        result = original(mode)
        return result, result != mode

    @staticmethod
    def _train_step(
        original: Callable, model: Any, batch: Any, ctx: Any, step: Callable
    ) -> tuple[Any, bool]:
        handed = [0]

        def counted(*args: Any) -> Any:
            handed[0] += 1
            return step(*args)

        result = original(model, batch, ctx, counted)
        return result, handed[0] != 1

    @staticmethod
    def _transform_d_output(original: Callable, out: Any, which: str, ctx: Any) -> tuple[Any, bool]:
        before = {name: t.detach().clone() for name, t in out.items()}
        result = original(out, which, ctx)
        return result, differs(before, {name: t.detach() for name, t in result.items()})

    def _after_validation(self, original: Callable, validation: Any, ctx: Any) -> tuple[Any, bool]:
        before = (copy.deepcopy(self.trick.state_dict()), ctx.stop_requested)
        original(validation, ctx)
        return None, differs(before, (self.trick.state_dict(), ctx.stop_requested))

    @staticmethod
    def _evaluation_weights(original: Callable, model: Any) -> tuple[Any, bool]:
        result = original(model)
        live = model.state_dict()
        return result, any(not torch.equal(live[k], v) for k, v in result.items() if k in live)

    @staticmethod
    def _targets(original: Callable, real: Any, fake: Any, ctx: Any) -> tuple[Any, bool]:
        before = (real.detach().clone(), fake.detach().clone())
        result = original(real, fake, ctx)
        return result, differs(before, tuple(result))

    @staticmethod
    def _transform_d_input(original: Callable, x: Any, which: str, ctx: Any) -> tuple[Any, bool]:
        before = x.detach().clone()
        result = original(x, which, ctx)
        return result, differs(before, result)

    def _weights_or_state(self, original: Callable, model: Any, ctx: Any) -> tuple[Any, bool]:
        before = (snapshot(model), copy.deepcopy(self.trick.state_dict()), ctx.stop_requested)
        original(model, ctx)
        after = (snapshot(model), self.trick.state_dict(), ctx.stop_requested)
        return None, differs(before, after)


def _settings(optimizer: Any) -> list[dict[str, Any]]:
    """An optimizer's hyper-parameters per parameter group (without the parameters)."""
    groups = getattr(optimizer, "param_groups", [])
    return [
        {k: copy.deepcopy(v) for k, v in group.items() if k != "params"}
        | {"n_params": len(group.get("params", []))}
        for group in groups
    ]
