"""Conformance checks of a model plugin: :func:`check_model`."""

from __future__ import annotations

import math

import torch
from torch import Tensor

from ganbench.data.types import Batch, GanDataset
from ganbench.errors import PluginContractError
from ganbench.eval.sampling import generate_samples, pick_conditions
from ganbench.model import GANModel
from ganbench.model_build import call_build, resolve_loss
from ganbench.registry import Registry, load_registry
from ganbench.specs import ModelSpec
from ganbench.testing.hook_order import HookOrderRecorder, hook_order_problems
from ganbench.testing.probe_data import Unavailable, registered_datasets, why_model_does_not_fit
from ganbench.testing.results import Check, CheckLog, CheckResult, describe_error
from ganbench.testing.training import CPU, isolated_rng, keeps_rng, params_changed, short_run

#: Samples drawn for the output checks, and steps and batch size of the train check.
N_SAMPLES = 8
TRAIN_STEPS = 1
TRAIN_BATCH = 8
#: Slack on the image range: tanh output in float32 may round to exactly +-1.
RANGE_SLACK = 1e-6
#: The hook point a generator-only model's step must reach (it has no D side;
#: the loop ends the probe run after one step, refusing the recorder's D-side
#: points, so ``end_of_step`` is not reached there either).
G_ONLY_HOOK_POINTS = ("after_g_step",)


@keeps_rng
def check_model(spec: ModelSpec, registry: Registry | None = None) -> list[CheckResult]:
    """Check a model plugin against the model contract.

    Checks its registration record, then on every registered dataset that
    loads offline and that the model takes (data kind, the fields of its
    task, ``spec.check``): that it builds; that G's samples have the
    dataset's shape, are finite, lie in [-1, 1] for images and ignore
    ``cond.x``; that D returns finite logits of shape (N,); that one step of
    the standard train loop returns finite losses and changes G's and D's
    weights; that the loop's checkpoint loads into a fresh build with the
    same outputs; and that sampling with a seed is reproducible and another
    seed gives other samples. Datasets whose files are missing give skipped
    results. Runs on the CPU in seconds; torch's global RNG is left as it was.

    Args:
        spec: the model's registration record.
        registry: where to find datasets (default: :func:`ganbench.registry.load_registry`).
    """
    registry = registry if registry is not None else load_registry()
    log = CheckLog("model", spec.name)
    if not log.registration(
        "models",
        ModelSpec,
        spec,
        lambda: f"{spec.task.value}; data kinds {', '.join(spec.data_kinds)}",
    ):
        return log.results
    checked = 0
    for found in registered_datasets(registry, tuple(spec.data_kinds)):
        if isinstance(found, Unavailable):
            log.add(f"builds [{found.name}]", "skipped", found.reason)
            continue
        try:
            reason = why_model_does_not_fit(spec, found.info)
        except Exception as exc:
            log.add(f"check() [{found.info.name}]", "failed", describe_error(exc))
            continue
        if reason is not None:
            continue  # not a dataset the model takes: nothing to check on it
        with isolated_rng(0):
            _check_on_dataset(spec, found, log, registry)
        checked += 1
    if checked == 0:
        log.add(
            "compatible dataset",
            "skipped",
            f"no registered dataset of kind {' or '.join(spec.data_kinds)} with the fields of "
            f"a {spec.task.value} model loads offline here",
        )
    return log.results


def _build(
    spec: ModelSpec, dataset: GanDataset, check: Check, registry: Registry | None = None
) -> GANModel:
    params = {p.name: p.default for p in spec.params}
    model = call_build(spec, dataset.info, params)
    if not isinstance(model, GANModel):
        check.fail(f"build() returned {type(model).__name__}, not a GANModel")
    resolve_loss(model, registry.losses if registry is not None else {}, spec.name)
    if model.task != spec.task:
        check.fail(f"the model's task is {model.task!r}, the spec declares {spec.task!r}")
    return model


def _describe_range(x: Tensor) -> str:
    return f"[{float(x.min()):.3g}, {float(x.max()):.3g}]"


def _check_range(x: Tensor, kind: str, what: str, check: Check) -> None:
    if not torch.isfinite(x).all():
        check.fail(f"{what} has NaN or infinite values")
    low, high = float(x.min()), float(x.max())
    if kind == "image" and (low < -1 - RANGE_SLACK or high > 1 + RANGE_SLACK):
        check.fail(f"{what} lies in {_describe_range(x)}, images must lie in [-1, 1]")


def _check_on_dataset(
    spec: ModelSpec, dataset: GanDataset, log: CheckLog, registry: Registry | None = None
) -> None:
    info = dataset.info
    at = f" [{info.name}]"
    expected = (N_SAMPLES, *info.shape)
    conditions = pick_conditions(dataset.splits["test"], N_SAMPLES, seed=0)
    with log.check("builds" + at) as check:
        model = _build(spec, dataset, check, registry)
        check.detail = (
            f"G {_parameters(model, 'generator')}, D {_parameters(model, 'discriminator')}"
        )
    if not check.ok:
        return
    has_d = model.discriminator is not None

    with log.check("generator output shape" + at) as check:
        model.eval()
        with torch.no_grad():
            z = model.sample_latent(N_SAMPLES, CPU)
            fake = model.generate(z, conditions)
        if tuple(fake.shape) != expected:
            check.fail(f"generate() returned shape {tuple(fake.shape)}, expected {expected}")
        check.detail = f"{tuple(fake.shape)}"
    if not check.ok:
        return
    with log.check("generator output range" + at) as check:
        _check_range(fake, info.kind, "eval-mode output", check)
        model.train()
        with torch.no_grad():
            train_fake = model.generate(model.sample_latent(N_SAMPLES, CPU), conditions)
        _check_range(train_fake, info.kind, "train-mode output", check)
        check.detail = f"within {_describe_range(torch.cat([fake, train_fake]))}"
    with log.check("generator ignores cond.x" + at) as check:
        model.eval()
        with torch.no_grad():
            blank = model.generate(z, conditions.with_x(torch.zeros_like(conditions.x)))
            again = model.generate(z, conditions.with_x(torch.zeros_like(conditions.x)))
            noisy = model.generate(z, conditions.with_x(torch.randn_like(conditions.x)))
        if not torch.equal(blank, again):
            check.fail(
                "generate() gave two different outputs for one z in eval mode: "
                "draw all randomness from z"
            )
        if not torch.equal(blank, noisy):
            check.fail("samples change with cond.x: generate(z, cond) must not read cond.x")
    with log.check("discriminator output" + at) as check:
        if not has_d:
            check.skip("no discriminator (a generator-only model or a fixed baseline)")
        with torch.no_grad():
            logits = model.discriminate(conditions.x, conditions)
        if tuple(logits.shape) != (N_SAMPLES,):
            check.fail(
                f"discriminate() returned shape {tuple(logits.shape)}, expected ({N_SAMPLES},)"
            )
        if not torch.isfinite(logits).all():
            check.fail("discriminate() returned NaN or infinite logits")
        check.detail = f"({N_SAMPLES},) logits"
    if not check.ok and has_d:
        return
    if not spec.trains:
        with log.check("sampling reproducible" + at) as check:
            _check_sampling(model, conditions, info.shape, check)
        log.add("train step" + at, "skipped", "a fixed baseline (trains=False): it does not train")
        return

    with log.check("train step" + at) as check:
        run = short_run(
            model,
            dataset.splits["train"],
            steps=TRAIN_STEPS,
            batch_size=TRAIN_BATCH,
            paired=dataset.info.paired,
        )
        if run.outcome.status != "completed":
            check.fail(
                f"training {run.outcome.status} at step {run.outcome.diverged_at_step}: "
                "a loss was NaN or infinite"
            )
        losses = {k: v for row in run.outcome.curves for k, v in row.items() if k != "step"}
        if not losses:
            check.fail("train_step() returned no losses")
        bad = [k for k, v in losses.items() if not math.isfinite(v)]
        if bad:
            check.fail(f"non-finite losses: {', '.join(bad)}")
        check.detail = ", ".join(f"{k} {v:.4g}" for k, v in sorted(losses.items()))
    if not check.ok:
        return
    with log.check("train step updates G and D" + at) as check:
        unchanged = [
            name
            for name, net, before in (
                ("G", model.generator, run.start_generator),
                ("D", model.discriminator, run.start_discriminator),
            )
            if net is not None and not params_changed(before, net)
        ]
        if unchanged:
            check.fail(f"one train step left the weights of {' and '.join(unchanged)} unchanged")
    with log.check("checkpoint round-trip" + at) as check:
        with isolated_rng(1):  # other initial weights: loading must overwrite all of them
            fresh = _build(spec, dataset, check, registry)
        if "model" not in run.checkpoint:
            check.fail("the train loop wrote no checkpoint")
        fresh.load_state_dict(run.checkpoint["model"])
        ours = generate_samples(model, conditions, 3, CPU, info.shape)
        theirs = generate_samples(fresh, conditions, 3, CPU, info.shape)
        if not torch.equal(ours, theirs):
            diff = float((ours - theirs).abs().max())
            check.fail(
                f"a fresh build loaded from the checkpoint generates other samples "
                f"(max difference {diff:.3g}): keep all state in state_dict()"
            )
        model.eval()
        fresh.eval()
        with torch.no_grad():
            same_d = not has_d or torch.equal(
                model.discriminate(conditions.x, conditions),
                fresh.discriminate(conditions.x, conditions),
            )
        if not same_d:
            check.fail("a fresh build loaded from the checkpoint discriminates differently")
    with log.check("sampling reproducible" + at) as check:
        _check_sampling(model, conditions, info.shape, check)
    if hasattr(model, "classify"):
        with log.check("classifier head" + at) as check:
            _check_classifier(model, conditions, info.num_classes, check)
    with log.check("train step reaches every hook point in order" + at) as check:
        with isolated_rng(2):
            probe = _build(spec, dataset, check, registry)
        recorder = HookOrderRecorder()
        try:
            short_run(
                probe,
                dataset.splits["train"],
                [recorder],
                steps=2,
                batch_size=TRAIN_BATCH,
                paired=dataset.info.paired,
            )
        except PluginContractError:
            pass  # the loop refuses the step after it; the calls it made say what is missing
        problems = hook_order_problems(recorder.calls)
        if not has_d:
            # Without D only the G-side points exist; the core refuses D-side tricks.
            reached = {point for point, _ in recorder.calls}
            problems = [f"{p} is never reached" for p in G_ONLY_HOOK_POINTS if p not in reached]
        for problem in problems:
            check.fail(problem + " (tricks would be recorded but do nothing)")
        check.detail = f"{len(recorder.calls)} hook calls in 2 steps"
        if not has_d:
            check.detail += " (generator-only: the G-side points)"


def _parameters(model: GANModel, network: str) -> str:
    """``"1,234 parameters"`` of one of the model's networks, or ``"none"``."""
    net = getattr(model, network, None)
    if net is None:
        return "none"
    return f"{sum(p.numel() for p in net.parameters()):,} parameters"


def _check_classifier(
    model: GANModel, conditions: Batch, num_classes: int | None, check: Check
) -> None:
    """``classify(x)`` (the aux head the attack metric reads): (N, K) finite class logits."""
    model.eval()
    with torch.no_grad():
        logits = model.classify(conditions.x)
    expected = (len(conditions), num_classes) if num_classes else None
    if logits.ndim != 2 or (expected is not None and tuple(logits.shape) != expected):
        check.fail(f"classify() returned shape {tuple(logits.shape)}, expected {expected}")
    if not torch.isfinite(logits).all():
        check.fail("classify() returned NaN or infinite logits")
    check.detail = f"{tuple(logits.shape)} class logits"


def _check_sampling(
    model: GANModel, conditions: Batch, shape: tuple[int, ...], check: Check
) -> None:
    first = generate_samples(model, conditions, 0, CPU, shape)
    again = generate_samples(model, conditions, 0, CPU, shape)
    if not torch.equal(first, again):
        check.fail(
            "one seed gave two different sample sets: draw z from the generator passed "
            "to sample_latent(), and nothing else at random"
        )
    other = generate_samples(model, conditions, 1, CPU, shape)
    if model.latent_dim > 0 and torch.equal(first, other):
        check.fail("seeds 0 and 1 gave identical samples: the generator ignores z")
    check.detail = (
        "same seed, same samples; another seed, other samples"
        if model.latent_dim > 0
        else "same seed, same samples (no latent: samples depend only on the conditioning)"
    )
