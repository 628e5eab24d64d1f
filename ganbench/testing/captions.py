"""Constructed inputs for caption metrics (``caption-match``), with known answers.

The kit's generic inputs carry no captions, so a caption metric is checked on
these: 1 x 4 x 4 images whose class is the argmax of their first four pixels
(:class:`~ganbench.testing.metric_checks.ToyFeatures`' classifier) and whose
one attribute, ``bright``, is whether their mean is above 0; eight captions
(4 classes x 2 bins), each embedded as a one-hot 8-vector.
"""

from __future__ import annotations

import torch
from torch import Tensor

from ganbench.data.types import Batch, DataInfo
from ganbench.eval.inputs import EvalInputs
from ganbench.metrics.caption_match import CAPTIONS_KEY, CaptionTable
from ganbench.testing.metric_checks import ToyFeatures

NUM_CLASSES = 4


def brightness_bins(x: Tensor) -> Tensor:
    """The toy attribute predictor: N x 1 int64, 1 where an image's mean is above 0."""
    return (x.flatten(1).mean(dim=1) > 0).long()[:, None]


def toy_caption_table() -> CaptionTable:
    """Captions ``c = 2 * label + bright``, embedded as one-hot rows of eye(8)."""
    labels = torch.arange(2 * NUM_CLASSES) // 2
    bright = torch.arange(2 * NUM_CLASSES) % 2
    return CaptionTable(
        embeddings=torch.eye(2 * NUM_CLASSES),
        labels=labels,
        attributes=bright[:, None],
        attribute_names=("bright",),
        predict_attributes=brightness_bins,
        attribute_predictor="mean pixel above 0",
        encoder={"name": "one-hot"},
        texts=tuple(
            f"a {'bright' if b else 'dark'} {k}" for k, b in zip(labels, bright, strict=True)
        ),
    )


def toy_images(labels: Tensor, bright: Tensor, seed: int) -> Tensor:
    """Images (N x 1 x 4 x 4) the toy classifier gives ``labels`` and of brightness ``bright``."""
    gen = torch.Generator().manual_seed(seed)
    x = 0.05 * torch.rand(len(labels), 16, generator=gen)
    x[torch.arange(len(labels)), labels] += 0.8  # the class pixel stands out
    x += torch.where(bright.bool(), 0.3, -0.4)[:, None]
    return x.clamp(-1, 1).view(-1, 1, 4, 4)


def caption_inputs(n_fake: int = 40, seed: int = 0) -> EvalInputs:
    """Inputs whose fakes show their captions, except a known set of them.

    Fakes are drawn for captions ``i % 8``; every third fake shows the wrong
    class and every fifth the wrong brightness, so ``caption_match`` is the
    share of rows that are neither, ``label_match`` of rows not a multiple
    of 3. The reals show their own captions exactly.
    """
    table = toy_caption_table()
    rows = torch.arange(n_fake) % len(table.labels)
    labels, bright = table.labels[rows], table.attributes[rows, 0]
    index = torch.arange(n_fake)
    shown_labels = torch.where(index % 3 == 0, (labels + 1) % NUM_CLASSES, labels)
    shown_bright = torch.where(index % 5 == 0, 1 - bright, bright)
    fake = toy_images(shown_labels, shown_bright, seed)
    real_rows = torch.arange(24) % len(table.labels)
    real = Batch(
        x=toy_images(table.labels[real_rows], table.attributes[real_rows, 0], seed + 1),
        y=table.labels[real_rows],
        text=table.embeddings[real_rows],
    )
    info = DataInfo(
        name="toy-captions",
        kind="image",
        shape=(1, 4, 4),
        fields=("x", "y", "text"),
        num_classes=NUM_CLASSES,
        text_dim=2 * NUM_CLASSES,
        extras={CAPTIONS_KEY: table},
    )
    return EvalInputs(
        info=info,
        real=real,
        fake=fake,
        fake_conditions=Batch(x=fake, y=labels, text=table.embeddings[rows]),
        extractor=ToyFeatures(),
        seed=seed,
    )
