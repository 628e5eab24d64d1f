"""Test-only datasets for the task kinds that have no first-party dataset yet.

All three derive each split from the first-party ``digits`` dataset's same
split (so the test split, the FID reference, is the same images) and keep
the class labels ``y``, so the standard domain-evaluator feature space
(a digit classifier) applies to every one of them:

* ``digits-labels-text`` (text-to-image): ``text`` is a fixed embedding of the
  caption "a handwritten <digit>", a deterministic hashed bag of words.
* ``digits-sr`` (super-resolution): ``source`` is the 4 x 4 average-pooled
  version of each 8 x 8 digit ``x`` (paired).
* ``digits-invert`` (unpaired translation): domain A (``source``) is the
  digits, domain B (``x``) the inverted digits ``-x``; ``paired=False`` makes
  the batch stream shuffle the two domains independently.

This file is a plugin module, loaded by the tests through ``--plugins-dir``
or ``load_registry(plugins_dir=...)``; it is not installed anywhere.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor

import ganbench
from ganbench.api import Batch, DataInfo, DatasetOptions, DatasetSpec, GanDataset
from ganbench_plugins.digits import load_digits

NUM_CLASSES = 10
#: Width of the caption embedding (GAN-INT-CLS uses 1,024; 16 is plenty for ten captions).
TEXT_DIM = 16
#: Super-resolution factor: 8 x 8 targets from 4 x 4 inputs.
SR_FACTOR = 2
DIGIT_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")


def caption(label: int) -> str:
    """The caption of a digit class, e.g. ``"a handwritten seven"``."""
    return f"a handwritten {DIGIT_WORDS[label]}"


def word_vector(word: str, dim: int = TEXT_DIM) -> Tensor:
    """A fixed standard-normal vector (dim,) for ``word``, seeded by its sha256.

    Hashing (rather than a learned vocabulary) keeps the embedding identical
    on every machine and every run without any file to ship.
    """
    seed = int.from_bytes(hashlib.sha256(word.encode()).digest()[:8], "little")
    return torch.randn(dim, generator=torch.Generator().manual_seed(seed))


def embed_caption(text: str, dim: int = TEXT_DIM) -> Tensor:
    """Hashed bag-of-words embedding (dim,) of ``text``, scaled to unit length."""
    total = torch.stack([word_vector(word, dim) for word in text.lower().split()]).sum(0)
    return total / total.norm()


def _from_digits(
    options: DatasetOptions, derive: Callable[[Batch], Batch], **info_fields
) -> GanDataset:
    """Each split of ``digits`` turned into ``derive(split)``; ``info`` from the train split."""
    base = load_digits(options)
    splits = {name: derive(rows) for name, rows in base.splits.items()}
    train = splits["train"]
    info = DataInfo(
        kind="image",
        shape=tuple(train.x.shape[1:]),
        fields=train.present_fields(),
        num_classes=NUM_CLASSES,
        source_shape=None if train.source is None else tuple(train.source.shape[1:]),
        **info_fields,
    )
    return GanDataset(info=info, splits=splits)


def _extras() -> dict[str, list[str]]:
    return {"classes": [str(digit) for digit in range(NUM_CLASSES)]}


def load_digits_captions(options: DatasetOptions) -> GanDataset:
    """Digits with ``text`` = the embedding (N x TEXT_DIM) of each one's caption."""
    table = torch.stack([embed_caption(caption(label)) for label in range(NUM_CLASSES)])
    return _from_digits(
        options,
        lambda rows: Batch(x=rows.x, y=rows.y, text=table[rows.y]),
        name="digits-labels-text",
        text_dim=TEXT_DIM,
        extras={**_extras(), "captions": [caption(label) for label in range(NUM_CLASSES)]},
    )


def load_digits_sr(options: DatasetOptions) -> GanDataset:
    """Digits ``x`` (8 x 8) with ``source`` = their 4 x 4 average-pooled versions."""
    # Average pooling is the box-filter downsampling a camera's larger pixels would do.
    return _from_digits(
        options,
        lambda rows: Batch(x=rows.x, y=rows.y, source=F.avg_pool2d(rows.x, SR_FACTOR)),
        name="digits-sr",
        paired=True,
        extras=_extras(),
    )


def load_digits_invert(options: DatasetOptions) -> GanDataset:
    """Domain A (``source``) = digits, domain B (``x``, labelled by ``y``) = ``-digits``.

    Rows are stored aligned (so the evaluation could check label
    preservation), but ``paired=False``: training never sees the pairing.
    """
    return _from_digits(
        options,
        lambda rows: Batch(x=-rows.x, y=rows.y, source=rows.x),
        name="digits-invert",
        paired=False,
        extras=_extras(),
    )


def _spec(name: str, load: Callable[[DatasetOptions], GanDataset], description: str) -> DatasetSpec:
    return DatasetSpec(
        name=name,
        load=load,
        kind="image",
        description=description,
        feature_extractor="evaluator",
        primary_metric="fid",
        default_steps=2000,
        default_batch_size=64,
        eval_samples=1000,
    )


SPECS = (
    _spec(
        "digits-labels-text",
        load_digits_captions,
        "test-only: 8x8 digits with hashed bag-of-words caption embeddings (text-to-image)",
    ),
    _spec(
        "digits-sr",
        load_digits_sr,
        "test-only: 8x8 digits from their 4x4 average-pooled versions (super-resolution)",
    ),
    _spec(
        "digits-invert",
        load_digits_invert,
        "test-only: digits (A) to inverted digits (B), unpaired (translation)",
    ),
)


@ganbench.hookimpl
def ganbench_register_datasets(register: Callable[[DatasetSpec], None]) -> None:
    """Register the three derived digits datasets."""
    for spec in SPECS:
        register(spec)
