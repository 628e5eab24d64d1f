"""Building a model: the one path every command takes (run, resume, score, check-plugin).

``NAME[:VALUE | :key=value,...]`` is parsed against the spec's declared
parameters (:func:`parse_params`); the model is built with them, its loss
name is resolved against the registered losses, its outputs are checked on
a tiny batch, and the run's tricks shape it (:func:`shape_model`): fresh
models are initialised (the model's init, then the tricks'), then every
build path applies the tricks' ``transform_model`` and ``latent_prior``, so
a checkpoint always loads into the model its tricks shaped and evaluation
draws z from the prior training used.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import Any

import torch

from ganbench.data.types import DataInfo, GanDataset
from ganbench.errors import GanbenchError, IncompatibleError, PluginContractError, call_plugin
from ganbench.model import GANModel
from ganbench.specs import ModelSpec, Param, TrickSpec
from ganbench.train.losses import LOSSES, AdversarialLoss
from ganbench.train.trick_chain import TrickChain
from ganbench.trick import Trick, overridden_hook_points

_TRUE = ("true", "1", "yes")
_FALSE = ("false", "0", "no")


def _convert(owner: str, param: Param, raw: str) -> Any:
    """``raw`` as ``param``'s type, within its choices."""
    try:
        if param.type is bool:
            if raw.lower() not in _TRUE + _FALSE:
                raise ValueError(raw)
            value: Any = raw.lower() in _TRUE
        else:
            value = param.type(raw)
    except ValueError:
        raise GanbenchError(
            f"{owner}: parameter {param.name!r} must be {param.type.__name__}, got {raw!r}"
        ) from None
    if param.choices and value not in param.choices:
        raise GanbenchError(
            f"{owner}: parameter {param.name!r} cannot be {raw!r}; valid choices: "
            f"{', '.join(map(str, param.choices))}"
        )
    return value


def parse_params(kind: str, name: str, params: Sequence[Param], text: str) -> dict[str, Any]:
    """The parameter part of ``NAME:VALUE`` or ``NAME:key=value,...`` (defaults filled in).

    ``kind`` and ``name`` name the plugin in errors (``"trick"``, ``"ema"``).
    """
    owner = f"{kind} {name!r}"
    by_name = {p.name: p for p in params}
    values = {p.name: p.default for p in params}
    if not text:
        return values
    for i, part in enumerate(text.split(",")):
        key, eq, raw = part.partition("=")
        if not eq:
            if i != 0 or not params:
                raise GanbenchError(
                    f"{owner}: cannot read {part!r}; use {name}:VALUE or {name}:key=value "
                    f"(parameters: {', '.join(by_name) or 'none'})"
                )
            key, raw = params[0].name, part
        if key not in by_name:
            raise GanbenchError(
                f"{owner} has no parameter {key!r}; valid choices: {', '.join(by_name) or '(none)'}"
            )
        values[key] = _convert(owner, by_name[key], raw)
    return values


def split_name(text: str) -> tuple[str, str]:
    """``"pacgan:4"`` -> ``("pacgan", "4")``."""
    name, _, rest = text.partition(":")
    return name, rest


def parse_trick(text: str, registry: Any) -> tuple[TrickSpec, dict[str, Any]]:
    """``name``, ``name:value`` or ``name:key=value,key=value`` -> (spec, params)."""
    name, rest = split_name(text)
    spec = registry.trick(name)
    return spec, parse_params("trick", spec.name, spec.params, rest)


def parse_model(text: str, registry: Any) -> tuple[ModelSpec, dict[str, Any]]:
    """``--plugin`` text -> (spec, params)."""
    name, rest = split_name(text)
    spec = registry.model(name)
    return spec, parse_params("model", spec.name, spec.params, rest)


def build_trick(spec: TrickSpec, params: Mapping[str, Any]) -> Trick:
    """``spec.build(params)``, checked: a Trick overriding only the hook points it declares."""
    trick = call_plugin(f"trick {spec.name!r} failed to build", spec.build, dict(params))
    if not isinstance(trick, Trick):
        raise PluginContractError(
            f"trick {spec.name!r}: build() returned {type(trick).__name__}, not a Trick"
        )
    undeclared = set(overridden_hook_points(trick)) - set(spec.hook_points)
    if undeclared:
        raise PluginContractError(
            f"trick {spec.name!r} overrides hook points it does not declare: "
            f"{', '.join(sorted(undeclared))}"
        )
    if not trick.hook_points:
        trick.hook_points = tuple(spec.hook_points)
    return trick


def resolve_loss(model: GANModel, losses: Mapping[str, AdversarialLoss], name: str) -> None:
    """Replace a loss name on ``model`` by the registered loss (unknown: one clear error)."""
    if isinstance(model.loss, AdversarialLoss):
        return
    table = losses or LOSSES
    if model.loss not in table:
        raise PluginContractError(
            f"model {name!r} uses loss {model.loss!r}, which is not registered; "
            f"valid choices: {', '.join(sorted(table))}"
        )
    model.loss = table[model.loss]


def shape_model(model: GANModel, tricks: TrickChain, *, fresh: bool) -> GANModel:
    """Initialise (fresh models only) and apply the tricks' build hooks, in place."""
    if fresh:
        model.init_weights()
        tricks.init_weights(model)
    tricks.transform_model(model)
    if model.latent_prior is not None:
        model.latent_prior = tricks.latent_prior(model.latent_prior, model)
    return model


def check_outputs(model: GANModel, name: str, dataset: GanDataset, device: torch.device) -> None:
    """Run G and D on two training rows; a wrong shape or a crash is one clear error."""
    info = dataset.info
    probe = dataset.splits["train"].index(torch.arange(min(2, len(dataset.splits["train"]))))
    model.to(device)
    model.eval()
    try:
        with torch.no_grad(), torch.random.fork_rng(devices=[]):
            cond = probe.to(device)
            fake = model.generate(model.sample_latent(len(probe), device), cond)
            if tuple(fake.shape) != tuple(probe.x.shape):
                raise PluginContractError(
                    f"model {name!r}: generator returned shape {tuple(fake.shape)}, "
                    f"expected {tuple(probe.x.shape)} for dataset {info.name!r}"
                )
            # A fixed baseline has no discriminator to check.
            logits = None if model.discriminator is None else model.discriminate(cond.x, cond)
            if logits is not None and tuple(logits.shape) != (len(probe),):
                raise PluginContractError(
                    f"model {name!r}: discriminator returned shape "
                    f"{tuple(logits.shape)}, expected ({len(probe)},) logits"
                )
    except GanbenchError:
        raise
    except Exception as exc:
        raise PluginContractError(
            f"model {name!r} failed on a batch of {info.name!r}: {type(exc).__name__}: {exc}"
        ) from None
    finally:
        model.train()


def call_build(model_spec: ModelSpec, info: DataInfo, params: Mapping[str, Any]) -> Any:
    """``build(info, params)``, or ``build(info)`` for a model that declares no parameters."""
    if model_spec.params:
        return model_spec.build(info, dict(params))
    return model_spec.build(info)  # type: ignore[call-arg]


def build_model(
    model_spec: ModelSpec,
    dataset: GanDataset,
    device: torch.device,
    params: Mapping[str, Any] | None = None,
    tricks: TrickChain | None = None,
    *,
    losses: Mapping[str, AdversarialLoss] | None = None,
    fresh: bool = True,
    trick_specs: Sequence[TrickSpec] = (),
) -> GANModel:
    """Build, resolve the loss, check the tricks apply, shape with them, check the outputs.

    ``params`` default to the spec's defaults; ``fresh`` False skips the
    initialisation (the weights come from a checkpoint next). Each of
    ``trick_specs``' ``check`` sees the model as the model plugin built it,
    before any trick shaped it.
    """
    info = dataset.info
    if params is None:
        params = parse_params("model", model_spec.name, model_spec.params, "")
    model = call_plugin(
        f"model {model_spec.name!r} failed to build for dataset {info.name!r}",
        call_build,
        model_spec,
        info,
        params,
    )
    if not isinstance(model, GANModel):
        raise PluginContractError(
            f"model {model_spec.name!r}: build() returned {type(model).__name__}, not a GANModel"
        )
    resolve_loss(model, losses or {}, model_spec.name)
    for spec in trick_specs:
        reason = spec.check(model) if spec.check is not None else None
        if reason is not None:
            raise IncompatibleError(
                f"trick {spec.name!r} does not apply to model {model_spec.name!r}: {reason}"
            )
    shape_model(model, tricks or TrickChain(), fresh=fresh)
    check_outputs(model, model_spec.name, dataset, device)
    return model


def check_step_reaches_hooks(
    model: GANModel,
    tricks: TrickChain,
    dataset: GanDataset,
    batch_size: int,
    device: torch.device,
    name: str,
) -> None:
    """One trial step on copies: refuse, before anything is written, a trick the step skips.

    The model's ``train_step`` runs once on copies of the model and the
    tricks (the originals, and torch's RNG, are left as they were); every
    step hook point a trick uses must be reached, or the trick would be
    recorded while doing nothing. A step that crashes is reported as the
    plugin's, in one line.
    """
    if not tricks.tricks:
        return
    from ganbench.train.schedule import as_schedule
    from ganbench.train.step import StepContext

    trial_model = copy.deepcopy(model)
    trial = TrickChain(copy.deepcopy(tricks.tricks))
    train = dataset.splits["train"]
    batch = train.index(torch.arange(min(batch_size, len(train)))).to(device)
    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
        optimizers = trial.configure_optimizers(
            trial_model, dict(trial_model.configure_optimizers())
        )
        schedule = trial.d_steps_schedule(as_schedule(trial_model.d_steps))
        ctx = StepContext(
            step=0,
            total_steps=1,
            device=device,
            model=trial_model,
            optimizers=optimizers,
            hooks=trial,
            schedule=schedule,
            d_steps=1,
            next_batch=lambda: batch,
            d_batches=trial.d_batches(),
        )
        trial_model.train()
        call_plugin(
            f"model {name!r}: a training step with the run's tricks failed",
            trial.train_step,
            trial_model,
            batch,
            ctx,
        )
    missing = trial.unreached()
    if missing:
        trick, point = missing[0]
        trick_name = getattr(trick, "name", type(trick).__name__)
        if model.discriminator is None:
            # Not a plugin's fault: a generator-only model has no D-side step.
            raise IncompatibleError(
                f"trick {trick_name!r} does not apply to model {name!r}: the model has no "
                f"discriminator, so hook point {point!r} is never reached"
            )
        raise PluginContractError(
            f"model {name!r}: its train_step never reaches hook point {point!r}, which trick "
            f"{trick_name!r} uses, so the trick would do "
            "nothing; a custom train_step must build on ganbench.api's discriminator_update, "
            "generator_update or step_optimizers (see CONTRIBUTING.md)"
        )
