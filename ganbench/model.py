"""The model interface every architecture plugin implements."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import torch
from torch import Tensor, nn

from ganbench.latent import GaussianPrior, LatentPrior
from ganbench.tasks import TaskKind
from ganbench.train.losses import LOSSES, AdversarialLoss
from ganbench.train.schedule import DStepSchedule

if TYPE_CHECKING:
    from ganbench.data.types import Batch
    from ganbench.train.step import StepContext, StepTensors


class GANModel(nn.Module):
    """Networks, the losses they train on, and their optimizers.

    Subclasses build their networks in ``__init__`` (any number of modules;
    ``generator`` and ``discriminator`` are the ones the standard update and
    the metrics use) and implement :meth:`generate`, :meth:`discriminate`
    and :meth:`configure_optimizers`. The core owns the update: a model
    says what its losses are (:meth:`d_loss_terms`, :meth:`g_loss_terms`:
    by default the adversarial ``loss``) and the core calls every trick hook
    point, sums the terms and steps the optimizers. A model whose update is
    truly different (unrolled D) overrides :meth:`train_step` and builds it
    from the helpers of :mod:`ganbench.train.step`, which reach every hook
    point at its place.

    Class attributes:
        task: the task kind served.
        latent_dim: width of z, or 0 when the generator takes no noise
            (super-resolution, translation).
        loss: adversarial loss: a registered name (``"non-saturating"``,
            ``"wasserstein"``, ...) or an :class:`AdversarialLoss`.
        d_steps: the paper's D steps per G step, a number or a
            :class:`DStepSchedule` (WGAN's 100-step warm-up).
        d_optimizers, g_optimizers: which named optimizers the D and the G
            update step.
        discriminator_head_name: the layer under ``discriminator`` that makes
            D's logits, when it is not D's last weight layer in module order
            (tricks that read or extend D's last features find it with
            :func:`ganbench.trick.discriminator_head`).
    """

    task: TaskKind = TaskKind.UNCONDITIONAL
    latent_dim: int = 100
    loss: str | AdversarialLoss = "non-saturating"
    d_steps: int | DStepSchedule = 1
    d_optimizers: tuple[str, ...] = ("d",)
    g_optimizers: tuple[str, ...] = ("g",)
    discriminator_head_name: str | None = None

    generator: nn.Module
    discriminator: nn.Module

    # -- the latent prior ----------------------------------------------------------
    @property
    def latent_prior(self) -> LatentPrior | None:
        """The prior z is drawn from in training and evaluation (None: no noise).

        Default: N(0, I) of width ``latent_dim``; tricks may replace it at build time.
        """
        prior = self.__dict__.get("_latent_prior")
        if prior is None and self.latent_dim > 0:
            prior = GaussianPrior(self.latent_dim)
            self.__dict__["_latent_prior"] = prior
        return prior

    @latent_prior.setter
    def latent_prior(self, prior: LatentPrior | None) -> None:
        self.__dict__["_latent_prior"] = prior

    def sample_latent(
        self, n: int, device: torch.device | str, generator: torch.Generator | None = None
    ) -> Tensor | None:
        """Draw ``n`` latent vectors from :attr:`latent_prior`, or None without one."""
        prior = self.latent_prior
        return None if prior is None else prior.sample(n, device, generator)

    # -- networks ------------------------------------------------------------------
    def generate(self, z: Tensor | None, cond: Batch) -> Tensor:
        """Samples shaped like the dataset's ``x``, from ``z`` and the conditioning.

        ``cond`` carries the fields of the task (``y``, ``text``, ``source``);
        its ``x`` must not be read. Images come out in [-1, 1].
        """
        raise NotImplementedError

    def generate_inverse(self, x: Tensor) -> Tensor:
        """Translation models: target-domain images ``x`` mapped back to the source domain.

        The inverse translator (CycleGAN's F: B -> A), so that metrics can
        close cycles (``cycle-error``). Images in [-1, 1], shaped like the
        dataset's ``source``. Optional: the default raises
        ``NotImplementedError``, and :meth:`has_inverse` tells whether a
        model defines it.
        """
        raise NotImplementedError(f"{type(self).__name__} has no inverse translation")

    def has_inverse(self) -> bool:
        """Whether :meth:`generate_inverse` is implemented (overridden from ``GANModel``)."""
        return type(self).generate_inverse is not GANModel.generate_inverse

    def discriminate(self, x: Tensor, cond: Batch) -> Tensor:
        """Discriminator logits (N,) for samples ``x`` under the conditioning."""
        raise NotImplementedError

    def discriminator_outputs(self, x: Tensor, cond: Batch) -> Mapping[str, Tensor]:
        """Every output of D in one pass: ``"logits"`` (N,) and any heads.

        Override to add heads that share D's body (AC-GAN's class logits,
        InfoGAN's code posterior), so the update runs D once per input.
        """
        return {"logits": self.discriminate(x, cond)}

    # -- the losses ---------------------------------------------------------------
    @property
    def adversarial_loss(self) -> AdversarialLoss:
        """:attr:`loss` as an :class:`AdversarialLoss` (names resolve among the built-ins
        unless the core resolved them against the registry at build time)."""
        if isinstance(self.loss, AdversarialLoss):
            return self.loss
        if self.loss not in LOSSES:
            raise KeyError(
                f"unknown loss {self.loss!r}; built-in losses: {', '.join(sorted(LOSSES))}"
            )
        return LOSSES[self.loss]

    @property
    def loss_name(self) -> str:
        """The name of :attr:`loss`."""
        return self.loss.name if isinstance(self.loss, AdversarialLoss) else str(self.loss)

    def d_loss_terms(self, step: StepTensors) -> Mapping[str, Tensor]:
        """The named terms D minimises; default ``{"adversarial": ...}`` of :attr:`loss`."""
        return {
            "adversarial": self.adversarial_loss.d_loss(
                step.real_logits, step.fake_logits, step.real_targets, step.fake_targets
            )
        }

    def g_loss_terms(self, step: StepTensors) -> Mapping[str, Tensor]:
        """The named terms G minimises; default ``{"adversarial": ...}`` of :attr:`loss`."""
        return {"adversarial": self.adversarial_loss.g_loss(step.fake_logits)}

    # -- optimizers and initialisation ------------------------------------------------
    def configure_optimizers(self) -> Mapping[str, torch.optim.Optimizer]:
        """The paper's optimizers by name: ``{"g": ..., "d": ...}`` for the standard update.

        Models with more networks name more (``"q"``, ``"g_ab"``...) and say
        in :attr:`d_optimizers` / :attr:`g_optimizers` which update steps them.
        """
        raise NotImplementedError

    def adam_optimizers(
        self, lr: float = 2e-4, betas: tuple[float, float] = (0.5, 0.999)
    ) -> dict[str, torch.optim.Optimizer]:
        """Adam for G and for D with one setting (DCGAN's defaults unless told)."""
        return {
            "g": torch.optim.Adam(self.generator.parameters(), lr=lr, betas=betas),
            "d": torch.optim.Adam(self.discriminator.parameters(), lr=lr, betas=betas),
        }

    def init_weights(self) -> None:
        """Initialise weights as the paper says (default: PyTorch's own)."""

    def protocol_facts(self) -> Mapping[str, Any]:
        """Facts about this build that its parameters do not say, for the run record.

        What a reader needs to reproduce the numbers: the sha256 of a weights
        file a loss network reads (SRGAN's VGG19), say. JSON-serialisable
        values; recorded as ``model_facts`` in the protocol's training
        section. Default: none.
        """
        return {}

    # -- training ------------------------------------------------------------------
    def after_d_update(self, ctx: StepContext) -> None:
        """Act after each D optimizer step, before the tricks' ``after_d_step``.

        For what the paper's update does to D after stepping (WGAN's weight
        clipping); default nothing.
        """

    def before_training(self, ctx: StepContext) -> None:
        """Act once before step 0 of a fresh run (pretraining); default nothing."""

    def train_step(self, batch: Batch, ctx: StepContext) -> dict[str, Tensor]:
        """One generator step (and its D steps); returns named losses (scalars)."""
        from ganbench.train.step import standard_train_step

        return standard_train_step(self, batch, ctx)


class UnconditionalGAN(GANModel):
    """A :class:`GANModel` whose generator maps z to x and whose D sees x alone.

    Unconditional architectures (GAN, DCGAN, WGAN...) only set ``generator``,
    ``discriminator`` and :meth:`configure_optimizers`.
    """

    task = TaskKind.UNCONDITIONAL

    def generate(self, z: Tensor | None, cond: Batch) -> Tensor:
        """``generator(z)``: the conditioning is ignored."""
        return self.generator(z)

    def discriminate(self, x: Tensor, cond: Batch) -> Tensor:
        """``discriminator(x)``: logits (N,)."""
        return self.discriminator(x)
