"""Feature matching: Salimans et al. 2016, "Improved Techniques for Training
GANs", section 3.1.

G stops maximising D's verdict and instead matches the statistics of D's
last features f on real data: its objective becomes
||E_x f(x) - E_z f(G(z))||_2^2, estimated on each batch as the squared
Euclidean distance between the batch means of f over the reals and over
the fakes. D trains as before. f is D's last features: the input of the
layer that makes D's logits (``discriminator_head(model)``, which a model
names with ``discriminator_head_name`` when it is not D's last weight
layer), flattened to (rows, -1). Whatever reaches that layer is f: with a
packed D (PacGAN) it is one row per pack, with AC-GAN and InfoGAN it is the
body shared by the heads.

By default the feature-matching term (``feature_matching``) replaces G's
``adversarial`` term, as the paper replaces G's objective; other G terms a
model has (AC-GAN's class term, InfoGAN's information term) are kept.
``keep_adversarial=true`` adds it to the adversarial term instead, with
weight 1 (the paper does not combine them; this is ganbench's option).

How the features are read, and why: the fakes' features are those of the
D pass the G update has already made on ``step.fake_in`` (after
``transform_d_input``, with gradient to G), so the term costs no second D
pass over the fakes and its gradient reaches G through exactly the D that
the update's other terms see. A parameter-free child module (a tap) is
added to the head at build time (``transform_model``, so resumed and
scored runs get it too; no checkpoint name moves) and a forward pre-hook
hands it every input of the head; the tap keeps the last one. The last D
pass before G's loss terms is the G update's pass on its fakes (true of
the core's update, of every first-party model, and of the unrolled
update, whose last pass is the unrolled D on the fakes, so there G matches
the unrolled D's features on fakes to the live D's on reals); a trick listed
before this one that runs D again inside the G update's ``loss_terms``
would break that, and the rows are checked against the reals' to catch a
mismatch of shapes.

The reals' features come from one more pass of D on the batch's reals
(``step.batch.x`` as the dataset gave them: the paper's f(x) is on the data,
so input transforms such as instance noise are not applied; with such a
trick the fakes' features are of transformed inputs and the reals' are
not), without gradient (they are G's target) and with D's buffers (BatchNorm
statistics, spectral norm's power-iteration vectors) restored afterwards,
so the extra pass leaves D exactly as the standard update would.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import torch
from torch import Tensor, nn

import ganbench
from ganbench.api import (
    Batch,
    GANModel,
    Param,
    StepTensors,
    Trick,
    TrickSpec,
    discriminator_head,
)

NAME = "feature-matching"
TAP_CHILD = "feature_tap"
TERM = "feature_matching"


class FeatureTap(nn.Module):
    """Keeps the last input its host layer received, flattened to (rows, -1).

    Has no parameters or buffers, so the model's checkpoint names are those
    of the model without it. What it keeps is transient: a copy of the model
    starts with an empty tap (a kept tensor may be part of an autograd
    graph, which cannot be deep-copied).
    """

    def __init__(self) -> None:
        super().__init__()
        self.last: Tensor | None = None

    def forward(self, x: Tensor) -> Tensor:
        self.last = x.flatten(1)
        return x

    def __deepcopy__(self, memo: dict[int, Any]) -> FeatureTap:
        fresh = FeatureTap().train(self.training)
        memo[id(self)] = fresh
        return fresh

    def take(self) -> Tensor | None:
        """The kept features, which the tap then forgets (so none is used twice)."""
        last, self.last = self.last, None
        return last


def _tap_input(module: nn.Module, args: tuple[Any, ...]) -> None:
    # A module-level function, not a bound method, so that a copied model's
    # hook calls the copy's own tap.
    getattr(module, TAP_CHILD)(args[0])


def feature_tap(model: nn.Module) -> FeatureTap:
    """The tap :class:`FeatureMatching` added to ``model``'s D head."""
    head = discriminator_head(model)
    tap = None if head is None else getattr(head[1], TAP_CHILD, None)
    if not isinstance(tap, FeatureTap):
        raise RuntimeError(f"{NAME}: the model's D head has no feature tap (transform_model)")
    return tap


def feature_distance(real: Tensor, fake: Tensor) -> Tensor:
    """||mean_rows(real) - mean_rows(fake)||_2^2 of two (rows, F) feature sets; a scalar."""
    return (real.mean(dim=0) - fake.mean(dim=0)).pow(2).sum()


def real_features(model: GANModel, batch: Batch) -> Tensor:
    """D's last features (rows, F) on ``batch.x``, without gradient; D's buffers untouched."""
    d = model.discriminator
    saved = [(b, b.detach().clone()) for b in d.buffers()]
    tap = feature_tap(model)
    with torch.no_grad():
        model.discriminator_outputs(batch.x, batch)
        for buffer, value in saved:
            # Through ``.data``: the G pass's graph holds these buffers (BatchNorm
            # saves its running statistics for backward), and an in-place write
            # it can see would make its backward refuse to run. The values put
            # back are the ones that graph saw, so its gradients are exact.
            buffer.data.copy_(value)
    features = tap.take()
    assert features is not None  # the pass went through the head
    return features


class FeatureMatching(Trick):
    """Trains G to match the batch means of D's last features on reals and fakes."""

    name = NAME
    hook_points = ("transform_model", "loss_terms")

    def __init__(self, params: Mapping[str, Any]) -> None:
        self.keep_adversarial = bool(params["keep_adversarial"])

    def transform_model(self, model: GANModel) -> None:
        head = discriminator_head(model)
        if head is None:
            raise ValueError(f"{NAME}: the model has no discriminator head to read features at")
        layer = head[1]
        if not hasattr(layer, TAP_CHILD):  # the trick listed twice taps once
            layer.add_module(TAP_CHILD, FeatureTap())
            layer.register_forward_pre_hook(_tap_input)

    def loss_terms(self, terms: dict[str, Tensor], step: StepTensors) -> dict[str, Tensor]:
        if step.net != "g":
            return terms
        # Read first: the reals' pass below goes through the same tap.
        fake = feature_tap(step.model).take()
        if fake is None:
            raise RuntimeError(f"{NAME}: the G update made no D pass through the head")
        real = real_features(step.model, step.batch)
        if real.shape != fake.shape:
            raise RuntimeError(
                f"{NAME}: D's last features on the fakes {tuple(fake.shape)} and on the "
                f"reals {tuple(real.shape)} differ in shape; the last D pass before G's "
                "loss terms was not the G update's pass on its fakes"
            )
        if not self.keep_adversarial:
            terms.pop("adversarial", None)
        terms[TERM] = feature_distance(real, fake)
        return terms


def _check(model: GANModel) -> str | None:
    if discriminator_head(model) is None:
        return "its discriminator has no weight layer making its logits to read features at"
    return None


@ganbench.hookimpl
def ganbench_register_tricks(register: Callable[[TrickSpec], None]) -> None:
    register(
        TrickSpec(
            name=NAME,
            build=FeatureMatching,
            hook_points=FeatureMatching.hook_points,
            params=(
                Param(
                    "keep_adversarial",
                    bool,
                    False,
                    "add the term to G's adversarial loss instead of replacing it (paper: replace)",
                ),
            ),
            description=(
                "G matches the batch means of D's last features on reals and fakes "
                "(Salimans et al. 2016, sec. 3.1)"
            ),
            check=_check,
        )
    )
