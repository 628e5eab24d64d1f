"""Mixed batches: D judges real and generated samples in one batch.

The standard D update runs D twice, once on the real batch and once on the
generated one, so D's BatchNorm layers normalise each kind with its own
statistics. That is what the practitioners' list recommends (Chintala et
al. 2016, "How to train a GAN", trick 4: "construct different mini-batches
for real and fake, i.e. each mini-batch needs to contain only all real
images or all generated images"), and it is ganbench's default, not a
trick. This trick tests the opposite: the D update runs D once on the
concatenation of the real and the generated batch (the core's ``"mixed"``
mode of ``d_batches``) and splits its outputs back, so the batch
statistics mix the two kinds. The G update still shows D generated samples
alone (there are no real ones in it). Which mode a run used is recorded:
``d_batches`` (``"separate"`` or ``"mixed"``) among the training fields of
the run record's protocol (``record.json``).

D's outputs depend on how its batches are made only through layers that
compute statistics over the batch; in ganbench's model plugins that is
BatchNorm. Without one, mixing changes nothing, so the trick refuses
(``check``) a model with no ``BatchNorm1d/2d/3d`` under
``model.discriminator``. (``check`` sees the model as its plugin built it,
before other tricks shape it: a batch-dependent layer that a trick adds,
such as a minibatch-statistics layer, is not seen, and such a model on a
BatchNorm-free D is refused too.) It also refuses a model
that overrides ``train_step`` (unrolled GANs): its own update decides how D
sees the batches, and may never ask the standard D update.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from torch import nn

import ganbench
from ganbench.api import DBatches, GANModel, Trick, TrickSpec

NAME = "mixed-batches"
BATCH_NORMS = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d)


class MixedBatches(Trick):
    """Makes the standard D update run D once on real and fake together."""

    name = NAME
    hook_points = ("d_batches",)

    def __init__(self, params: Mapping[str, Any]) -> None:
        del params  # no parameters

    def d_batches(self, mode: DBatches) -> DBatches:
        return "mixed"


def mixed_batches_problem(model: GANModel) -> str | None:
    """Why mixing D's batches would not change how ``model`` trains (or None)."""
    if type(model).train_step is not GANModel.train_step:
        return (
            f"{type(model).__name__} overrides train_step: its own update decides "
            "how D sees real and generated batches"
        )
    d = getattr(model, "discriminator", None)
    if not isinstance(d, nn.Module) or not any(isinstance(m, BATCH_NORMS) for m in d.modules()):
        return (
            "its discriminator has no BatchNorm layer, through which alone mixing real "
            "and generated samples in one batch would change D's outputs"
        )
    return None


@ganbench.hookimpl
def ganbench_register_tricks(register: Callable[[TrickSpec], None]) -> None:
    register(
        TrickSpec(
            name=NAME,
            build=MixedBatches,
            hook_points=MixedBatches.hook_points,
            description=(
                "real and fake in one D batch, shared BatchNorm statistics "
                "(the opposite of ganhacks trick 4, Chintala et al. 2016)"
            ),
            check=mixed_batches_problem,
        )
    )
