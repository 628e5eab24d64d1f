"""``image-folder``: the user's own folder of images.

The folder is ``options.extra["path"]`` (``--data-path``) or, if absent,
``options.data_dir`` (``--data-dir``).
Every image file below it (the suffixes of ``ganbench.api.IMAGE_SUFFIXES``,
which ``ganbench score`` reads too) is used (recursively; hidden files and
folders are skipped). If the top level
holds no images, only sub-folders, and at least two of them contain images,
each sub-folder is a class (names sorted, as in torchvision's
``ImageFolder``) and the splits carry labels; otherwise the data is
unlabeled.

Every image becomes RGB (grayscale ones too: one layout for any folder, and
the Inception feature space wants three channels), is center-cropped to a
square and resized to ``options.image_size`` (default 64) with PIL's
antialiased bicubic filter. Files are ordered by relative path, so the
80/10/10 split is the same on every machine.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageOps

import ganbench
from ganbench.api import (
    IMAGE_SUFFIXES,
    Batch,
    DataInfo,
    DatasetOptions,
    DatasetSpec,
    GanbenchError,
    GanDataset,
    split_indices,
)
from ganbench_plugins._image_utils import uint8_to_images

NAME = "image-folder"
IMAGE_EXTENSIONS = frozenset(IMAGE_SUFFIXES)
DEFAULT_IMAGE_SIZE = 64
SPLIT_FRACTIONS = (0.8, 0.1, 0.1)
SPLIT_SEED = 0


def _is_hidden(path: Path, root: Path) -> bool:
    return any(part.startswith(".") for part in path.relative_to(root).parts)


def find_images(folder: Path) -> list[Path]:
    """Image files below ``folder``, recursively, sorted by relative path."""
    found = [
        p
        for p in folder.rglob("*")
        if p.suffix.lower() in IMAGE_EXTENSIONS and p.is_file() and not _is_hidden(p, folder)
    ]
    return sorted(found, key=lambda p: p.relative_to(folder).as_posix())


def find_classes(folder: Path, images: list[Path]) -> list[str] | None:
    """Class names (sorted sub-folder names), or None if the data is unlabeled.

    Labeled means: no image directly in ``folder`` and at least two visible
    sub-folders, each holding at least one image somewhere below it.
    """
    if any(p.parent == folder for p in images):
        return None
    subfolders = sorted(
        d.name for d in folder.iterdir() if d.is_dir() and not d.name.startswith(".")
    )
    with_images = {p.relative_to(folder).parts[0] for p in images}
    if len(subfolders) < 2 or any(name not in with_images for name in subfolders):
        return None
    return subfolders


def read_image(path: Path, size: int) -> np.ndarray:
    """One image as uint8 size x size x 3 (RGB), center-cropped and resized.

    Raises:
        GanbenchError: the file is not a readable image.
    """
    try:
        with Image.open(path) as img:
            # ImageOps.fit crops the largest centered square, then resizes it.
            square = ImageOps.fit(img.convert("RGB"), (size, size), method=Image.Resampling.BICUBIC)
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as err:
        # PIL's messages are one line; OSError covers unidentified/truncated files.
        raise GanbenchError(f"{NAME}: cannot read image {path}: {err}") from err
    return np.asarray(square, dtype=np.uint8)


def _folder(options: DatasetOptions) -> Path:
    raw = options.extra.get("path") or options.data_dir
    if not raw:
        raise GanbenchError(f"{NAME}: no folder given; pass --data-path PATH (or --data-dir PATH)")
    folder = Path(raw).expanduser()
    if not folder.is_dir():
        raise GanbenchError(f"{NAME}: {folder} is not a folder")
    return folder


def load_image_folder(options: DatasetOptions) -> GanDataset:
    """Load the folder's images with fixed 80/10/10 splits.

    Returns:
        Splits with ``x`` float32 N x 3 x S x S in [-1, 1] (S =
        ``options.image_size`` or 64) and, for class sub-folders, ``y`` int64
        labels indexing ``info.extras["classes"]``.

    Raises:
        GanbenchError: no folder, no images in it, or an unreadable image.
    """
    folder = _folder(options)
    images = find_images(folder)
    if not images:
        extensions = ", ".join(sorted(IMAGE_EXTENSIONS))
        raise GanbenchError(f"{NAME}: no images ({extensions}) found in {folder}")
    indices = split_indices(len(images), SPLIT_FRACTIONS, seed=SPLIT_SEED)
    if any(len(idx) == 0 for idx in indices.values()):
        # An empty val or test split would only fail later, less clearly.
        raise GanbenchError(
            f"{NAME}: only {len(images)} images in {folder}; need at least 8 "
            "so that the train/val/test splits are all non-empty"
        )
    size = options.image_size or DEFAULT_IMAGE_SIZE
    if size < 1:
        raise GanbenchError(f"{NAME}: image size must be a positive number of pixels, got {size}")

    pixels = np.empty((len(images), size, size, 3), dtype=np.uint8)
    for i, path in enumerate(images):
        pixels[i] = read_image(path, size)
    x = uint8_to_images(pixels, channels_last=True, size=None)
    del pixels

    classes = find_classes(folder, images)
    y = None
    if classes is not None:
        index = {name: i for i, name in enumerate(classes)}
        y = torch.tensor([index[p.relative_to(folder).parts[0]] for p in images], dtype=torch.int64)

    splits = {
        name: Batch(x=x[idx], y=None if y is None else y[idx]) for name, idx in indices.items()
    }
    info = DataInfo(
        name=NAME,
        kind="image",
        shape=(3, size, size),
        fields=("x", "y") if classes is not None else ("x",),
        num_classes=None if classes is None else len(classes),
        extras={} if classes is None else {"classes": classes},
    )
    return GanDataset(info=info, splits=splits)


SPEC = DatasetSpec(
    name=NAME,
    load=load_image_folder,
    kind="image",
    description=(
        "your own folder of images (png, jpg, bmp, webp, tif, ppm, pgm; class sub-folders "
        "give labels); RGB, center-cropped, 64x64 unless --image-size"
    ),
    # The domain evaluator needs labels; for an unlabeled folder the core
    # reports that and offers the other feature spaces.
    feature_extractor="evaluator",
    primary_metric="fid",
    default_steps=10_000,
    default_batch_size=64,
    eval_samples=1000,
)


@ganbench.hookimpl
def ganbench_register_datasets(register: Callable[[DatasetSpec], None]) -> None:
    """Register ``image-folder``."""
    register(SPEC)
