"""``sr-folder``: x4 super-resolution on the user's own high-resolution images
(DIV2K, Set5, Set14, BSD100), with SRGAN's degradation.

Layout of ``--data-path DIR``::

    DIR/train/   HR images to train on (e.g. DIV2K_train_HR)
    DIR/val/     optional; without it every tenth training tile is held out
    DIR/test/    HR images to score on (e.g. Set5, Set14 or BSD100)

Each image is read as RGB and cut into non-overlapping HR tiles of
``--image-size`` pixels (default 32, a multiple of the scale 4), row by row,
files in name order. The LR input of a tile is its bicubic x4 downscale
(PIL's antialiased filter on the uint8 tile, kept as uint8), the degradation
of ``sr-photos`` and of SRGAN (Ledig et al. 2017, §3.1). As in ``sr-photos``,
tiles without detail to restore (luma changing by under 2 grey levels
between neighbours on average) are left out, so flat sky does not decide the
mean PSNR.

Deviation: papers score Set5/Set14/BSD100 on whole images; ganbench's
splits are tensors of one shape, so the test images are scored tile by
tile. The metrics' border crop then applies to every tile, and the numbers
are close to but not the papers' whole-image figures.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image

import ganbench
from ganbench.api import (
    IMAGE_SUFFIXES,
    DataInfo,
    DataMissingError,
    DatasetOptions,
    DatasetSpec,
    GanbenchError,
    GanDataset,
)
from ganbench_plugins.sr_photos import (
    MIN_DETAIL,
    SCALE,
    VAL_EVERY,
    detail,
    photo_tiles,
    tile_pairs,
)

NAME = "sr-folder"
DEFAULT_TILE = 32
LAYOUT = "DIR/train/ and DIR/test/ of HR images (DIR/val/ optional)"


def _images_in(folder: Path) -> list[Path]:
    """Visible image files directly in ``folder``, by name."""
    suffixes = frozenset(IMAGE_SUFFIXES)
    return sorted(
        p
        for p in folder.iterdir()
        if p.is_file() and p.suffix.lower() in suffixes and not p.name.startswith(".")
    )


def _tiles_of(path: Path, tile: int) -> np.ndarray:
    """The detailed HR tiles (N x tile x tile x 3, uint8) of one image file."""
    try:
        with Image.open(path) as image:
            rgb = np.asarray(image.convert("RGB"), dtype=np.uint8)
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as err:
        raise GanbenchError(f"{NAME}: cannot read image {path}: {err}") from err
    if rgb.shape[0] < tile or rgb.shape[1] < tile:
        return np.empty((0, tile, tile, 3), dtype=np.uint8)
    tiles = photo_tiles(rgb, tile)
    return tiles[detail(tiles) >= MIN_DETAIL]


def _folder_tiles(folder: Path, tile: int) -> np.ndarray:
    images = _images_in(folder)
    if not images:
        raise DataMissingError(
            f"{NAME}: no images ({', '.join(sorted(IMAGE_SUFFIXES))}) in {folder}; expected {LAYOUT}"
        )
    tiles = np.concatenate([_tiles_of(path, tile) for path in images])
    if len(tiles) == 0:
        raise GanbenchError(
            f"{NAME}: no {tile}x{tile} tile with detail in the {len(images)} images of {folder} "
            "(images smaller than a tile, or flat); try a smaller --image-size"
        )
    return tiles


def _root(options: DatasetOptions) -> Path:
    raw = options.extra.get("path") or options.data_dir
    if not raw:
        raise DataMissingError(f"{NAME}: no folder given; pass --data-path DIR with {LAYOUT}")
    root = Path(raw).expanduser()
    for needed in ("train", "test"):
        if not (root / needed).is_dir():
            raise DataMissingError(f"{NAME}: {root / needed} is not a folder; expected {LAYOUT}")
    return root


def load_sr_folder(options: DatasetOptions) -> GanDataset:
    """HR tiles as ``x`` with their bicubic x4 LR versions as ``source``, fixed splits."""
    tile = options.image_size or DEFAULT_TILE
    if tile < SCALE or tile % SCALE:
        raise GanbenchError(
            f"{NAME}: --image-size {tile} is the HR tile side and must be a multiple of {SCALE}"
        )
    root = _root(options)
    train = _folder_tiles(root / "train", tile)
    test = _folder_tiles(root / "test", tile)
    if (root / "val").is_dir():
        val = _folder_tiles(root / "val", tile)
    else:
        held_out = np.arange(len(train)) % VAL_EVERY == VAL_EVERY - 1
        train, val = train[~held_out], train[held_out]
        if len(val) == 0:
            raise GanbenchError(
                f"{NAME}: {len(train)} training tile(s) in {root / 'train'}, too few to hold out "
                f"every {VAL_EVERY}th for validation; add images or a {root / 'val'} folder"
            )
    splits = {
        "train": tile_pairs(train),
        "val": tile_pairs(val),
        "test": tile_pairs(test),
    }
    info = DataInfo(
        name=NAME,
        kind="image",
        shape=(3, tile, tile),
        fields=("x", "source"),
        source_shape=(3, tile // SCALE, tile // SCALE),
        paired=True,
        extras={"scale": SCALE, "min_detail": MIN_DETAIL},
    )
    return GanDataset(info=info, splits=splits)


SPEC = DatasetSpec(
    name=NAME,
    load=load_sr_folder,
    kind="image",
    description=(
        "x4 super-resolution on your HR images (--data-path DIR with train/, test/, optional "
        "val/; e.g. DIV2K and Set5): 32x32 tiles unless --image-size, bicubic LR inputs"
    ),
    feature_extractor="none",
    primary_metric="psnr",
    default_steps=2000,
    default_batch_size=16,  # SRGAN §3.2
    eval_samples=1000,
    fields=("x", "source"),
)


@ganbench.hookimpl
def ganbench_register_datasets(register: Callable[[DatasetSpec], None]) -> None:
    """Register ``sr-folder``."""
    register(SPEC)
