"""``cyclegan-folder``: an unpaired translation dataset in CycleGAN's folder layout.

The layout of the datasets the CycleGAN authors distribute (horse2zebra,
monet2photo, ...; junyanz/pytorch-CycleGAN-and-pix2pix, ``datasets/``), read
from ``--data-path DIR`` (or ``--data-dir``)::

    DIR/trainA/  DIR/trainB/  DIR/testA/  DIR/testB/

Each folder holds the images of one domain and split, searched recursively
for the suffixes of ``ganbench.api.IMAGE_SUFFIXES`` (hidden files skipped,
sorted by relative path, as ``image-folder`` reads them). Domain A goes into
``source`` (the translator's input) and domain B into ``x`` (its target);
the two are unpaired (``paired=False``: training draws them independently).

* **Images.** Converted to RGB, center-cropped to a square and resized to
  ``--image-size`` (default 64) with Pillow's antialiased bicubic filter,
  as ``image-folder`` does. (The authors train on 256 x 256 crops of
  286 x 286 resizes, with random flips; the crops and flips are
  augmentation, which ganbench leaves to the model.)
* **Splits.** ``test`` is testA/testB. The layout has no validation split,
  so a fixed tenth of trainA and of trainB is held out as ``val``
  (``split_indices``, seed 0, by file order: the same on every machine);
  the rest is ``train``.
* **Unequal domains.** A split's two domains must have the same number of
  rows. In ``train`` both are tiled cyclically to the larger count, as the
  authors' ``UnalignedDataset`` (length max(|A|, |B|), A indexed modulo
  its size), so every image of both domains is trained on. In ``val`` and
  ``test``, where ``x`` is the reference the metrics compare with, every B
  image appears once and A is tiled or cut to as many rows.
* **Errors.** A missing folder, a missing or empty domain folder, or an
  unreadable image is one line naming it and the expected layout (exit 2).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageOps
from torch import Tensor

import ganbench
from ganbench.api import (
    IMAGE_SUFFIXES,
    Batch,
    DataInfo,
    DataMissingError,
    DatasetOptions,
    DatasetSpec,
    GanbenchError,
    GanDataset,
    split_indices,
)
from ganbench_plugins._image_utils import uint8_to_images
from ganbench_plugins.image_folder import find_images

NAME = "cyclegan-folder"
#: The four folders of CycleGAN's layout, in the order they are checked.
FOLDERS = ("trainA", "trainB", "testA", "testB")
LAYOUT = "DIR/trainA/, DIR/trainB/, DIR/testA/, DIR/testB/ of images (CycleGAN's layout)"
DEFAULT_IMAGE_SIZE = 64
#: Held out of trainA and trainB as the validation split (the layout has none).
VAL_SHARE = 0.1
SPLIT_SEED = 0


def _root(options: DatasetOptions) -> Path:
    raw = options.extra.get("path") or options.data_dir
    if not raw:
        raise DataMissingError(f"{NAME}: no folder given; pass --data-path DIR with {LAYOUT}")
    root = Path(raw).expanduser()
    if not root.is_dir():
        raise DataMissingError(f"{NAME}: {root} is not a folder; expected {LAYOUT}")
    return root


def domain_files(root: Path) -> dict[str, list[Path]]:
    """The image files of each of the four folders.

    Raises:
        DataMissingError: a folder is missing or holds no images.
    """
    missing = [name for name in FOLDERS if not (root / name).is_dir()]
    if missing:
        names = ", ".join(f"{name}/" for name in missing)
        raise DataMissingError(f"{NAME}: {root} has no {names}; expected {LAYOUT}")
    files = {name: find_images(root / name) for name in FOLDERS}
    empty = [name for name in FOLDERS if not files[name]]
    if empty:
        names = ", ".join(f"{name}/" for name in empty)
        suffixes = ", ".join(IMAGE_SUFFIXES)
        raise DataMissingError(
            f"{NAME}: no images ({suffixes}) in {root}/{names}; expected {LAYOUT}"
        )
    return files


def read_image(path: Path, size: int) -> np.ndarray:
    """One image as uint8 size x size x 3 (RGB), center-cropped and resized (bicubic)."""
    try:
        with Image.open(path) as img:
            square = ImageOps.fit(img.convert("RGB"), (size, size), method=Image.Resampling.BICUBIC)
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as err:
        raise GanbenchError(f"{NAME}: cannot read image {path}: {err}") from err
    return np.asarray(square, dtype=np.uint8)


def read_images(paths: list[Path], size: int) -> Tensor:
    """float32 N x 3 x size x size in [-1, 1]."""
    pixels = np.empty((len(paths), size, size, 3), dtype=np.uint8)
    for i, path in enumerate(paths):
        pixels[i] = read_image(path, size)
    return uint8_to_images(pixels, channels_last=True, size=None)


def tiled(images: Tensor, rows: int) -> Tensor:
    """``rows`` rows of ``images``, repeated cyclically (or cut) from the first."""
    return images[torch.arange(rows) % len(images)]


def held_out(n: int, folder: str) -> tuple[Tensor, Tensor]:
    """(train rows, val rows) of a train folder of ``n`` images: a fixed tenth held out."""
    idx = split_indices(n, (1.0 - VAL_SHARE, VAL_SHARE, 0.0), seed=SPLIT_SEED)
    if len(idx["val"]) == 0 or len(idx["train"]) == 0:
        raise DataMissingError(
            f"{NAME}: {folder}/ holds {n} images; need at least 6, so that a tenth is left "
            "for the validation split"
        )
    # Rounding may leave a row in "test": it trains.
    return torch.cat([idx["train"], idx["test"]]).sort().values, idx["val"]


def load_cyclegan_folder(options: DatasetOptions) -> GanDataset:
    """trainA/trainB/testA/testB as unpaired splits: A in ``source``, B in ``x``."""
    root = _root(options)
    files = domain_files(root)
    size = options.image_size or DEFAULT_IMAGE_SIZE
    if size < 1:
        raise GanbenchError(f"{NAME}: image size must be a positive number of pixels, got {size}")
    images = {name: read_images(paths, size) for name, paths in files.items()}
    a_train, a_val = held_out(len(images["trainA"]), "trainA")
    b_train, b_val = held_out(len(images["trainB"]), "trainB")
    train_a, train_b = images["trainA"][a_train], images["trainB"][b_train]
    rows = max(len(train_a), len(train_b))
    splits = {
        "train": Batch(x=tiled(train_b, rows), source=tiled(train_a, rows)),
        "val": _reference_rows(images["trainA"][a_val], images["trainB"][b_val]),
        "test": _reference_rows(images["testA"], images["testB"]),
    }
    shape = (3, size, size)
    info = DataInfo(
        name=NAME,
        kind="image",
        shape=shape,
        fields=("x", "source"),
        source_shape=shape,
        paired=False,
        extras={
            "domains": ["A", "B"],
            "files": {name: len(paths) for name, paths in files.items()},
        },
    )
    return GanDataset(info=info, splits=splits)


def _reference_rows(a: Tensor, b: Tensor) -> Batch:
    """Every B image once (the metrics' reference), A tiled or cut to as many rows."""
    return Batch(x=b.contiguous(), source=tiled(a, len(b)).contiguous())


SPEC = DatasetSpec(
    name=NAME,
    load=load_cyclegan_folder,
    kind="image",
    description=(
        "unpaired translation from CycleGAN's trainA/ trainB/ testA/ testB/ folders "
        "(--data-path); RGB, 64x64 unless --image-size; a tenth of train held out as val"
    ),
    # No labels, so no domain evaluator: the literature's FID space.
    feature_extractor="inception-v3",
    primary_metric="fid",
    default_steps=10_000,
    default_batch_size=16,
    eval_samples=1000,
    fields=("x", "source"),
)


@ganbench.hookimpl
def ganbench_register_datasets(register: Callable[[DatasetSpec], None]) -> None:
    """Register ``cyclegan-folder``."""
    register(SPEC)
