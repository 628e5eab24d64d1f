"""The trick interface: named hook points of the train protocol.

A trick changes training, not architecture. It overrides the hook points it
needs; each default leaves training unchanged. The core calls every trick's
hook in the order the user listed the tricks (``--trick a --trick b``); the
output of one feeds the next.

Hook points come in four kinds:

* build hooks, applied on every path that builds a model (``ganbench run``,
  ``--resume``, ``ganbench score RUN``, ``check-plugin``): ``transform_model``
  and ``latent_prior``, so a run's weights always load into the model its
  tricks shaped, and evaluation draws z from the prior training used;
* set-up hooks, once per run: ``init_weights`` (fresh runs only),
  ``configure_optimizers``, ``d_steps_schedule``, ``d_batches``,
  ``before_training`` (fresh runs only, before step 0);
* step hooks: ``train_step`` wraps (or replaces) every training step, and
  inside it the places :data:`STEP_HOOK_POINTS` lists are reached; the core
  checks after the first step that a model's step reached every one a trick
  of the run uses;
* validation and evaluation hooks: ``after_validation`` (each validation
  during training) and ``evaluation_weights`` (each evaluation).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import torch
from torch import Tensor, nn

if TYPE_CHECKING:
    from ganbench.data.types import Batch
    from ganbench.latent import LatentPrior
    from ganbench.model import GANModel
    from ganbench.train.schedule import DStepSchedule
    from ganbench.train.step import StepContext, StepTensors

#: Every hook point, in the order the train protocol reaches it.
HOOK_POINTS: tuple[str, ...] = (
    "transform_model",  # build: may wrap layers (spectral norm); every build path
    "latent_prior",  # build: the z prior of training and evaluation (spherical z)
    "init_weights",  # fresh runs: after the model's own init
    "configure_optimizers",  # may wrap or replace the model's named optimizers
    "d_steps_schedule",  # may change the D-steps schedule
    "d_batches",  # real and fake through D separately or mixed in one batch
    "before_training",  # fresh runs, before step 0 (D pretraining)
    "train_step",  # wraps or replaces each training step (simultaneous updates)
    "targets",  # D's real/fake targets (label smoothing, flipping)
    "transform_d_input",  # every D input, real and fake (instance noise)
    "transform_d_output",  # D's outputs on real and fake (output noise)
    "loss_terms",  # the named loss terms of a D or G update (penalties)
    "after_d_step",  # after each D optimizer step (weight clipping)
    "after_g_step",  # after each G optimizer step (EMA)
    "end_of_step",  # after the whole G step
    "after_validation",  # after each validation during training (early stopping)
    "evaluation_weights",  # the weights validation and evaluation use (EMA)
)

#: The hook points a training step reaches (the rest are called by the core
#: around training). A model that overrides ``train_step`` must reach these
#: through the step helpers; the core and ``check-plugin`` verify it.
STEP_HOOK_POINTS: tuple[str, ...] = (
    "targets",
    "transform_d_input",
    "transform_d_output",
    "loss_terms",
    "after_d_step",
    "after_g_step",
)

Which = Literal["real", "fake"]
Net = Literal["d", "g"]
#: How the standard D update feeds D: real and fake in ``"separate"`` passes
#: (each with its own BatchNorm statistics) or ``"mixed"`` in one batch.
DBatches = Literal["separate", "mixed"]
D_BATCHES: tuple[str, ...] = ("separate", "mixed")
#: One training step: ``(batch, ctx) -> named losses`` (what ``train_step`` wraps).
StepFunction = Callable[["Batch", "StepContext"], dict[str, Tensor]]


@dataclass(frozen=True)
class Validation:
    """One validation during training, as ``after_validation`` sees it.

    Attributes:
        step: generator steps trained when it was taken.
        value: the selection metric on the validation split.
        best_step, best_value: the best validation so far, this one included
            (None when no value so far was finite).
        lower_is_better: the metric's direction.
    """

    step: int
    value: float
    best_step: int | None
    best_value: float | None
    lower_is_better: bool


class Trick:
    """Base class of tricks: every hook is a no-op until overridden.

    Subclasses list the hooks they override in ``hook_points`` (checked on
    registration against the methods really overridden) and keep any state
    that must survive a resume in :meth:`state_dict`.
    """

    name: str = "trick"
    hook_points: tuple[str, ...] = ()

    def transform_model(self, model: GANModel) -> None:
        """Change the model's structure in place (wrap layers), on every build path."""

    def latent_prior(self, prior: LatentPrior, model: GANModel) -> LatentPrior:
        """Return the latent prior to train and evaluate with instead of ``prior``."""
        return prior

    def init_weights(self, model: GANModel) -> None:
        """Change the freshly initialised weights (fresh runs only)."""

    def configure_optimizers(
        self, model: GANModel, optimizers: dict[str, torch.optim.Optimizer]
    ) -> dict[str, torch.optim.Optimizer]:
        """Return the named optimizers to train with (``"g"``, ``"d"``, ...)."""
        return optimizers

    def d_steps_schedule(self, schedule: DStepSchedule) -> DStepSchedule:
        """Return the D-steps schedule to train with instead of ``schedule``."""
        return schedule

    def d_batches(self, mode: DBatches) -> DBatches:
        """Return how the standard D update feeds D: ``"separate"`` (default) or ``"mixed"``."""
        return mode

    def before_training(self, model: GANModel, ctx: StepContext) -> None:
        """Act once before step 0 of a fresh run (``ctx.d_update`` trains D alone)."""

    def train_step(
        self, model: GANModel, batch: Batch, ctx: StepContext, step: StepFunction
    ) -> dict[str, Tensor]:
        """One training step: call ``step(batch, ctx)`` (the model's, or the next trick's).

        Override to act around every step, or to replace the update (G and D
        stepped simultaneously); a replacement builds on the helpers of
        :mod:`ganbench.train.step`, so the step hook points are still reached.
        """
        return step(batch, ctx)

    def targets(self, real: Tensor, fake: Tensor, ctx: StepContext) -> tuple[Tensor, Tensor]:
        """Return D's targets for real and fake samples (each (N,), 1=real)."""
        return real, fake

    def transform_d_input(self, x: Tensor, which: Which, ctx: StepContext) -> Tensor:
        """Return what D sees instead of ``x`` (real or fake samples)."""
        return x

    def transform_d_output(
        self, out: dict[str, Tensor], which: Which, ctx: StepContext
    ) -> dict[str, Tensor]:
        """Return D's outputs (``"logits"`` and any heads) on real or fake samples instead of ``out``."""
        return out

    def loss_terms(self, terms: dict[str, Tensor], step: StepTensors) -> dict[str, Tensor]:
        """Return the named loss terms of one update (``step.net`` is ``"d"`` or ``"g"``).

        Add a term (a gradient penalty) or change one; the core back-propagates
        their sum and logs each. ``step`` holds the update's tensors.
        """
        return terms

    def after_d_step(self, model: GANModel, ctx: StepContext) -> None:
        """Act after each discriminator optimizer step."""

    def after_g_step(self, model: GANModel, ctx: StepContext) -> None:
        """Act after each generator optimizer step."""

    def end_of_step(self, model: GANModel, ctx: StepContext) -> None:
        """Act at the end of a generator step; may set ``ctx.stop_requested``."""

    def after_validation(self, validation: Validation, ctx: StepContext) -> None:
        """Act after each validation during training; may set ``ctx.stop_requested``."""

    def evaluation_weights(self, model: GANModel) -> Mapping[str, Tensor]:
        """Tensors (``model.state_dict()`` names) to evaluate with in place of the live ones.

        Empty: evaluate the live weights. The core swaps them in for each
        validation and evaluation and for ``best.pt``, then restores them.
        """
        return {}

    def state_dict(self) -> dict[str, Any]:
        """State to checkpoint (tensors, numbers, strings, lists, dicts)."""
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned."""


def overridden_hook_points(trick: Trick) -> tuple[str, ...]:
    """The hook points whose methods ``trick``'s class really overrides."""
    return tuple(
        name for name in HOOK_POINTS if getattr(type(trick), name) is not getattr(Trick, name)
    )


def discriminator_layers(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """D's weight layers (``Linear`` and convolutions) by their name under ``model``.

    What a trick that acts on D's layers (spectral norm, weight clipping)
    walks; the discriminator is ``model.discriminator``.
    """
    d = getattr(model, "discriminator", None)
    if d is None:
        return []
    kinds = (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.ConvTranspose2d)
    return [(name, m) for name, m in d.named_modules() if isinstance(m, kinds)]


def discriminator_head(model: nn.Module) -> tuple[str, nn.Module] | None:
    """The layer that makes D's outputs, by its name under ``model.discriminator``.

    Its input is D's last features (what feature matching compares, and what
    minibatch discrimination extends). A model names it in
    ``discriminator_head_name`` when D has several output layers (InfoGAN's
    D and Q heads); otherwise it is D's last weight layer in module order.
    None when the model has no discriminator or no weight layer.
    """
    d = getattr(model, "discriminator", None)
    if d is None:
        return None
    name = getattr(model, "discriminator_head_name", None)
    if name:
        return name, d.get_submodule(name)
    layers = [(n, m) for n, m in discriminator_layers(model) if n]
    return layers[-1] if layers else None
