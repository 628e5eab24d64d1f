"""The ``digits-m`` dataset: unpaired translation from the digits (domain A) to
digits blended over colour photo patches (domain B), offline.

MNIST-M (Ganin and Lempitsky 2015, §5) is built the same way from MNIST and
BSDS500: each digit is blended over a random patch of a colour photograph
by the absolute difference of the two, per channel. A bright stroke
therefore shows the photo's complement, and the background shows the photo
itself. Here the photographs are the two that scikit-learn ships
(``load_sample_images``), and the digits are scikit-learn's 8 x 8 ones.

* **Domain B (``x``).** ``|patch - digit|``, with the patch an 8 x 8 RGB cut
  at a random place in either photo and the digit in [0, 1]. Values are then
  mapped to [-1, 1].
* **Domain A (``source``).** The digits themselves, repeated to three
  channels, so that both domains are 3 x 8 x 8, as CycleGAN's two
  generators need.
* **Unpaired.** In every split of ``digits`` (the same fixed splits), each
  class's images are halved. One half is domain A and the other becomes
  domain B, so no image is in both domains. ``paired=False`` makes training
  draw the two domains independently.
* **Labels.** Rows are stored class by class, with the two halves cut to
  the same length, so row i of A and row i of B show the same digit class
  and ``y`` is the label of both. That is what a label-preservation metric
  needs, classifier(G_AB(a)) against a's label; training never sees the
  alignment.
* **Determinism.** Patch positions and the choice of photo come from a
  fixed seed, so the data are the same on every machine.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from torch import Tensor

import ganbench
from ganbench.api import (
    SOURCE_LABELS_KEY,
    Batch,
    DataInfo,
    DatasetOptions,
    DatasetSpec,
    GanDataset,
)
from ganbench_plugins.digits import load_digits

NAME = "digits-m"
#: Seeds the halving of each class and the patches: fixed, never a run's seed.
DATA_SEED = 2015


def blend(digits: Tensor, patches: np.ndarray) -> Tensor:
    """MNIST-M's blend: ``|patch - digit|`` per channel.

    Args:
        digits: N x 1 x H x W in [-1, 1].
        patches: N x H x W x 3 uint8 photo patches.

    Returns:
        N x 3 x H x W in [-1, 1].
    """
    digit = (digits + 1.0) / 2.0  # [0, 1], ink bright
    photo = torch.from_numpy(patches.transpose(0, 3, 1, 2).copy()).float() / 255.0
    return (photo - digit).abs() * 2.0 - 1.0


def random_patches(
    photos: list[np.ndarray], n: int, size: int, gen: np.random.Generator
) -> np.ndarray:
    """``n`` ``size`` x ``size`` patches, each cut at a random place in a random photo."""
    which = gen.integers(0, len(photos), size=n)
    out = np.empty((n, size, size, 3), dtype=np.uint8)
    for i, p in enumerate(which):
        photo = photos[p]
        top = gen.integers(0, photo.shape[0] - size + 1)
        left = gen.integers(0, photo.shape[1] - size + 1)
        out[i] = photo[top : top + size, left : left + size]
    return out


def _halves(y: Tensor, gen: np.random.Generator) -> tuple[Tensor, Tensor]:
    """Row indices of domains A and B: each class halved, class by class, equal lengths."""
    a_rows, b_rows = [], []
    for label in torch.unique(y).tolist():
        rows = torch.nonzero(y == label).squeeze(1).numpy()
        rows = rows[gen.permutation(len(rows))]
        half = len(rows) // 2
        a_rows.append(rows[:half])
        b_rows.append(rows[half : 2 * half])
    return torch.from_numpy(np.concatenate(a_rows)), torch.from_numpy(np.concatenate(b_rows))


def load_digits_m(options: DatasetOptions) -> GanDataset:
    """Digits (A, ``source``) and digits-m (B, ``x``), 3 x S x S each, with ``y`` of both."""
    from sklearn.datasets import load_sample_images  # the photographs ship with scikit-learn

    photos = list(load_sample_images().images)
    digits = load_digits(options)
    gen = np.random.default_rng(DATA_SEED)
    splits = {}
    for name in ("train", "val", "test"):  # a fixed order: the generator's draws follow it
        rows = digits.splits[name]
        a, b = _halves(rows.y, gen)
        patches = random_patches(photos, len(b), rows.x.shape[-1], gen)
        splits[name] = Batch(
            x=blend(rows.x[b], patches).contiguous(),
            y=rows.y[b].clone(),
            source=rows.x[a].repeat(1, 3, 1, 1).contiguous(),
        )
    shape = tuple(splits["train"].x.shape[1:])
    info = DataInfo(
        name=NAME,
        kind="image",
        shape=shape,
        fields=("x", "y", "source"),
        num_classes=digits.info.num_classes,
        source_shape=shape,
        paired=False,
        extras={
            "classes": list(digits.info.extras["classes"]),
            "domains": ["digits", "digits-m"],
            # y is the class of source[i] too: label preservation can be measured.
            SOURCE_LABELS_KEY: True,
        },
    )
    return GanDataset(info=info, splits=splits)


SPEC = DatasetSpec(
    name=NAME,
    load=load_digits_m,
    kind="image",
    description=(
        "unpaired translation: digits (A) to digits blended over scikit-learn's photos as "
        "MNIST-M is built (B), disjoint images, 3x8x8"
    ),
    feature_extractor="evaluator",  # a digit classifier trained on domain B
    primary_metric="fid",
    default_steps=2000,
    default_batch_size=64,  # the digits' budget (CycleGAN trains at batch 1 on 256-px photos)
    eval_samples=1000,
    fields=("x", "y", "source"),
)


@ganbench.hookimpl
def ganbench_register_datasets(register: Callable[[DatasetSpec], None]) -> None:
    """Register ``digits-m``."""
    register(SPEC)
