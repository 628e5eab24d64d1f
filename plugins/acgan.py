"""AC-GAN: Odena, Olah and Shlens 2017, "Conditional Image Synthesis with
Auxiliary Classifier GANs" (ICML).

Every fake has a class c ~ p_c besides its noise z, and G makes
X_fake = G(c, z); D sees the image alone and gives both a distribution over
sources and one over classes, P(S | X), P(C | X) = D(X) (section 3). The
objective has two parts (section 3):

* L_S = E[log P(S = real | X_real)] + E[log P(S = fake | X_fake)], the
  log-likelihood of the correct source;
* L_C = E[log P(C = c | X_real)] + E[log P(C = c | X_fake)], the
  log-likelihood of the correct class;

D is trained to maximise L_S + L_C and G to maximise L_C - L_S. Here
each update minimises named terms: D's ``adversarial`` term is the BCE
pair of the core's ``non-saturating`` loss (-L_S) and its ``class`` term is
CE(class logits on reals, y) + CE(class logits on fakes, y) (-L_C); G's
``class`` term is CE(class logits on fakes, y), the part of -L_C that
depends on G. ``y`` is the real batch's labels, which condition the fakes
too. The two parts are weighted equally, as in the paper
(``class_weight`` = 1).

Networks: one D body with two heads, as in the paper (D's auxiliary
classifier shares its layers with the source output):
DCGAN's discriminator (:mod:`ganbench.blocks.dcgan`) with ``1 + K`` outputs
from its last layer, the source logit and K class logits, so one forward
pass gives both (:meth:`ACGAN.discriminator_outputs`). The source head does
not see y. :meth:`ACGAN.classify` exposes the class head, which the
``attack-robustness`` metric attacks too (its ``aux_*`` outputs). G is
DCGAN's generator with the class fed as part of its latent input: z (100-d,
N(0, 1)) concatenated with the one-hot class, 100 + K inputs, as the
paper's ImageNet and CIFAR-10 generators take the class in their input
vector (appendix; 110 inputs for their 10-class models).

Training (appendix, and DCGAN's practice the paper builds on): Adam with
learning rate 2e-4, beta1 0.5, beta2 0.999 for both networks; weights from
N(0, 0.02) (:func:`ganbench.blocks.dcgan.dcgan_init`).

Deviations, and why:

* networks: the paper's own are for 128 x 128 ImageNet and 32 x 32
  CIFAR-10 (a linear layer then transposed convolutions in G; a
  convolutional D with dropout 0.5). Here they are DCGAN's, sized from the
  image size as the ``dcgan`` plugin's, so the model trains on any square
  image dataset, the 8 x 8 digits default included; D has no dropout, as
  DCGAN's.
* G's source loss is the non-saturating -log D(G(z)) rather than the
  literal log(1 - D(G(z))) of "maximise L_C - L_S" (Goodfellow et al. 2014,
  section 3), as every non-saturating model of this benchmark trains.
* the one-hot class is concatenated to z, not multiplied into it through a
  learned embedding as in the Keras AC-GAN example.
* the fakes' classes: the core conditions each update's fakes on its real
  batch's labels, so c follows the training set's class frequencies batch
  by batch and the real and fake halves of L_C share their labels; the
  paper draws c ~ p_c for the fakes on its own. In expectation the two
  agree when p_c is the data's class distribution.
* batch size and step budget are the benchmark protocol's (the paper: 100
  per batch, 50,000 batches per ImageNet model), so runs compare across
  models.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

import ganbench
from ganbench.api import (
    TASK_FIELDS,
    Batch,
    DataInfo,
    GANModel,
    IncompatibleError,
    ModelSpec,
    Param,
    StepTensors,
    TaskKind,
)
from ganbench.blocks.dcgan import (
    DCGANDiscriminator,
    DCGANGenerator,
    check_image_size,
    dcgan_init,
)

NAME = "acgan"
#: Width of the noise z (the paper's 100 noise dimensions).
NOISE_DIM = 100
#: Adam settings (appendix).
LR, BETAS = 2e-4, (0.5, 0.999)


def class_terms(
    class_logits: Tensor, labels: Tensor, real_class_logits: Tensor | None = None
) -> Tensor:
    """-L_C: CE of the fakes' class logits with ``labels``, plus the reals' when given.

    Each cross-entropy is a mean over its batch, as each half of the BCE
    source loss is.
    """
    loss = F.cross_entropy(class_logits, labels)
    if real_class_logits is not None:
        loss = loss + F.cross_entropy(real_class_logits, labels)
    return loss


class ACGAN(GANModel):
    """AC-GAN on DCGAN's networks: G(z ++ onehot(y)); D -> (source logit, class logits)."""

    task = TaskKind.CLASS_CONDITIONAL
    latent_dim = NOISE_DIM
    loss = "non-saturating"

    def __init__(self, info: DataInfo, params: Mapping[str, Any]) -> None:
        super().__init__()
        # The core asks ModelSpec.check (_check) before building; no second check here.
        self.class_weight = float(params["class_weight"])
        if not math.isfinite(self.class_weight) or self.class_weight < 0:
            raise IncompatibleError(
                f"model {NAME!r}: class_weight must be a finite number >= 0, "
                f"got {self.class_weight}"
            )
        assert info.num_classes is not None
        self.num_classes = int(info.num_classes)
        channels, size = info.shape[0], info.shape[-1]
        self.generator = DCGANGenerator(self.latent_dim + self.num_classes, channels, size)
        self.discriminator = DCGANDiscriminator(channels, size, outputs=1 + self.num_classes)

    # -- networks ------------------------------------------------------------------
    @staticmethod
    def _labels(cond: Batch) -> Tensor:
        if cond.y is None:
            raise ValueError("AC-GAN needs class labels (cond.y) to generate")
        return cond.y

    def generate(self, z: Tensor | None, cond: Batch) -> Tensor:
        """G(z ++ onehot(y)): the class is part of G's latent input."""
        assert z is not None
        onehot = F.one_hot(self._labels(cond).to(z.device).long(), self.num_classes)
        return self.generator(torch.cat([z, onehot.to(z.dtype)], dim=1))

    def discriminator_outputs(self, x: Tensor, cond: Batch) -> dict[str, Tensor]:
        """Source logits (N,) and class logits (N, K) from one pass of D's body."""
        out = self.discriminator(x)
        return {"logits": out[:, 0], "class_logits": out[:, 1:]}

    def discriminate(self, x: Tensor, cond: Batch) -> Tensor:
        """The source head's logits (N,): D's real/fake verdict does not see y."""
        return self.discriminator(x)[:, 0]

    def classify(self, x: Tensor) -> Tensor:
        """The auxiliary classifier head: class logits (N, K)."""
        return self.discriminator(x)[:, 1:]

    # -- the losses ---------------------------------------------------------------
    def d_loss_terms(self, step: StepTensors) -> dict[str, Tensor]:
        """-L_S (the core's source loss) and -L_C on the reals and the fakes."""
        assert step.real_out is not None
        y = self._labels(step.batch)
        term = class_terms(step.fake_out["class_logits"], y, step.real_out["class_logits"])
        return {**super().d_loss_terms(step), "class": self.class_weight * term}

    def g_loss_terms(self, step: StepTensors) -> dict[str, Tensor]:
        """G's source loss and -L_C on its fakes (the part of L_C G can move)."""
        y = self._labels(step.batch)
        term = class_terms(step.fake_out["class_logits"], y)
        return {**super().g_loss_terms(step), "class": self.class_weight * term}

    # -- optimizers and initialisation ------------------------------------------------
    def init_weights(self) -> None:
        """N(0, 0.02) weights, BatchNorm scale N(1, 0.02) (DCGAN, which the paper follows)."""
        self.apply(dcgan_init)

    def configure_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        """Adam(2e-4, betas (0.5, 0.999)) for both networks (appendix)."""
        return self.adam_optimizers(lr=LR, betas=BETAS)


def _check(info: DataInfo) -> str | None:
    reason = check_image_size(info)
    if reason is not None:
        return reason
    missing = [f for f in TASK_FIELDS[TaskKind.CLASS_CONDITIONAL] if f not in info.fields]
    if missing:
        return f"AC-GAN needs class labels, and {info.name!r} has no field(s) {', '.join(missing)}"
    if not info.num_classes or info.num_classes < 2:
        return f"AC-GAN needs at least 2 classes, {info.name!r} declares {info.num_classes!r}"
    return None


@ganbench.hookimpl
def ganbench_register_models(register: Callable[[ModelSpec], None]) -> None:
    register(
        ModelSpec(
            name=NAME,
            build=ACGAN,
            task=TaskKind.CLASS_CONDITIONAL,
            data_kinds=("image",),
            paper=(
                "Odena, Olah and Shlens 2017, AC-GAN, section 3 (L_S, L_C) and appendix "
                "(Adam 2e-4, 0.5); DCGAN's networks"
            ),
            description=(
                "auxiliary classifier GAN: G(z, one-hot y), D's shared body gives the source "
                "logit and K class logits"
            ),
            check=_check,
            params=(Param("class_weight", float, 1.0, "weight of the class term L_C (paper: 1)"),),
        )
    )


__all__ = ["ACGAN", "class_terms"]
