"""Test-only datasets for the task kinds that have no first-party dataset yet.

All three derive from scikit-learn's 8 x 8 hand-written digits (the same
data, scaling and 60/20/20 split as the first-party ``digits`` dataset) and
keep the class labels ``y``, so the standard domain-evaluator feature space
(a digit classifier) applies to every one of them:

* ``digits-captions`` (text-to-image): ``text`` is a fixed embedding of the
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
from ganbench.api import Batch, DataInfo, DatasetOptions, DatasetSpec, GanDataset, split_indices

NUM_CLASSES = 10
#: sklearn's digits are 4 x 4 block counts, integers 0..16.
MAX_PIXEL = 16.0
#: The first-party ``digits`` split, so the test split (the FID reference) is the same images.
SPLIT_FRACTIONS = (0.6, 0.2, 0.2)
SPLIT_SEED = 0
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


def _digits() -> tuple[Tensor, Tensor]:
    """(x float32 N x 1 x 8 x 8 in [-1, 1], y int64 N) of all 1,797 digits."""
    # Imported here so that registering the plugin does not import sklearn.
    from sklearn.datasets import load_digits

    bunch = load_digits()
    pixels = torch.as_tensor(bunch.images, dtype=torch.float32)
    x = (pixels / MAX_PIXEL * 2.0 - 1.0).unsqueeze(1)
    return x, torch.as_tensor(bunch.target, dtype=torch.int64)


def _split(info: DataInfo, rows: Batch) -> GanDataset:
    """The fixed train/val/test splits of ``rows`` (all fields indexed alike)."""
    indices = split_indices(len(rows), SPLIT_FRACTIONS, seed=SPLIT_SEED)
    return GanDataset(info=info, splits={name: rows.index(idx) for name, idx in indices.items()})


def _extras() -> dict[str, list[str]]:
    return {"classes": [str(digit) for digit in range(NUM_CLASSES)]}


def load_digits_captions(options: DatasetOptions) -> GanDataset:
    """Digits with ``text`` = the embedding (N x TEXT_DIM) of each one's caption."""
    x, y = _digits()
    table = torch.stack([embed_caption(caption(label)) for label in range(NUM_CLASSES)])
    info = DataInfo(
        name="digits-captions",
        kind="image",
        shape=tuple(x.shape[1:]),
        fields=("x", "y", "text"),
        num_classes=NUM_CLASSES,
        text_dim=TEXT_DIM,
        extras={**_extras(), "captions": [caption(label) for label in range(NUM_CLASSES)]},
    )
    return _split(info, Batch(x=x, y=y, text=table[y]))


def load_digits_sr(options: DatasetOptions) -> GanDataset:
    """Digits ``x`` (8 x 8) with ``source`` = their 4 x 4 average-pooled versions."""
    x, y = _digits()
    # Average pooling is the box-filter downsampling a camera's larger pixels would do.
    source = F.avg_pool2d(x, SR_FACTOR)
    info = DataInfo(
        name="digits-sr",
        kind="image",
        shape=tuple(x.shape[1:]),
        fields=("x", "y", "source"),
        num_classes=NUM_CLASSES,
        source_shape=tuple(source.shape[1:]),
        paired=True,
        extras=_extras(),
    )
    return _split(info, Batch(x=x, y=y, source=source))


def load_digits_invert(options: DatasetOptions) -> GanDataset:
    """Domain A (``source``) = digits, domain B (``x``, labelled by ``y``) = ``-digits``.

    Rows are stored aligned (so the evaluation could check label
    preservation), but ``paired=False``: training never sees the pairing.
    """
    x, y = _digits()
    info = DataInfo(
        name="digits-invert",
        kind="image",
        shape=tuple(x.shape[1:]),
        fields=("x", "y", "source"),
        num_classes=NUM_CLASSES,
        source_shape=tuple(x.shape[1:]),
        paired=False,
        extras=_extras(),
    )
    return _split(info, Batch(x=-x, y=y, source=x))


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
        "digits-captions",
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
