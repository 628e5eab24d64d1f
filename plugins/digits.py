"""The ``digits`` dataset: scikit-learn's copy of the UCI hand-written digits.

1,797 grayscale 8 x 8 images of the digits 0-9 (pixel values 0..16), bundled
with scikit-learn (``sklearn.datasets.load_digits``), so it loads offline in
milliseconds: ganbench's default dataset for a first run on a laptop CPU.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

import ganbench
from ganbench.api import (
    Batch,
    DataInfo,
    DatasetOptions,
    DatasetSpec,
    GanDataset,
    split_indices,
)
from ganbench_plugins._image_utils import resize_square

NAME = "digits"
NUM_CLASSES = 10
#: The digits' pixels are 4 x 4 block counts: integers 0..16.
MAX_PIXEL = 16.0
#: Fixed split: depends on nothing but the data, never on a run's seed.
SPLIT_FRACTIONS = (0.6, 0.2, 0.2)
SPLIT_SEED = 0


def load_digits(options: DatasetOptions) -> GanDataset:
    """Load the digits with fixed 60/20/20 train/val/test splits.

    Args:
        options: only ``image_size`` is used (None or 8: native 8 x 8;
            otherwise a bilinear, antialiased resize).

    Returns:
        A dataset whose splits hold ``x`` float32 N x 1 x S x S in [-1, 1]
        (pixel / 16 * 2 - 1) and ``y`` int64 labels 0..9. Split sizes are
        1,078 / 359 / 360.
    """
    # Imported here so that registering the plugin does not import sklearn.
    from sklearn.datasets import load_digits as sklearn_load_digits

    bunch = sklearn_load_digits()
    pixels = torch.as_tensor(bunch.images, dtype=torch.float32)  # N x 8 x 8, 0..16
    x = (pixels / MAX_PIXEL * 2.0 - 1.0).unsqueeze(1)
    x = resize_square(x, options.image_size)
    y = torch.as_tensor(bunch.target, dtype=torch.int64)

    indices = split_indices(len(y), SPLIT_FRACTIONS, seed=SPLIT_SEED)
    splits = {name: Batch(x=x[idx].contiguous(), y=y[idx]) for name, idx in indices.items()}
    info = DataInfo(
        name=NAME,
        kind="image",
        shape=tuple(x.shape[1:]),
        fields=("x", "y"),
        num_classes=NUM_CLASSES,
        extras={"classes": [str(digit) for digit in range(NUM_CLASSES)]},
    )
    return GanDataset(info=info, splits=splits)


SPEC = DatasetSpec(
    name=NAME,
    load=load_digits,
    kind="image",
    description=(
        "UCI hand-written digits via sklearn.datasets.load_digits: "
        "1,797 grayscale 8x8 images, 10 classes; bundled, no download"
    ),
    feature_extractor="evaluator",
    primary_metric="fid",
    default_steps=2000,
    default_batch_size=64,
    eval_samples=1000,
    fields=("x", "y"),
)


@ganbench.hookimpl
def ganbench_register_datasets(register: Callable[[DatasetSpec], None]) -> None:
    """Register ``digits``."""
    register(SPEC)
