"""The ``sr-photos`` dataset: x4 super-resolution on the two photographs
scikit-learn ships, offline.

``sklearn.datasets.load_sample_images`` holds two 640 x 427 colour photos,
``china.jpg`` (a temple) and ``flower.jpg``. The HR images are the
non-overlapping 32 x 32 tiles of each that have detail to restore, and every
tenth kept tile of the temple is held out for validation. The test split is
the flower: its content is never seen in training.

A tile has detail when its luma (BT.601) changes by at least 2 grey levels
between neighbouring pixels on average. About half of each photo is
featureless: sky, and the flower's blurred background. Bicubic upscaling
restores those tiles to 50-55 dB, and left in they would make the mean PSNR
of every method a measure of how much sky there is. On the kept test tiles,
torch's bicubic x4 upscaling of the LR inputs gives 28.4 dB and SSIM 0.77
(SRGAN's Set5 bicubic row: 28.43 dB).

| split | tiles |
|---|---|
| train | 147 |
| val | 16 |
| test | 80 |

The LR inputs are bicubic x4 downscales, 8 x 8, as in SRGAN (Ledig et al.
2017, §3.1). They are made with PIL's antialiased bicubic filter on the
uint8 tile and kept as uint8. That is how LR files of an SR benchmark are
stored. SRGAN used MATLAB's ``imresize``, which PIL's filter approximates
but does not equal bit for bit.

Deviations from SRGAN's set-up, all for a two-core CPU:

* Tiles are 32 x 32. SRGAN trains on 96 x 96 HR crops of ImageNet images
  and tests on whole Set5/Set14/BSD100 images.
* Two photographs are far less data than 350,000 ImageNet images.

The primary metric is PSNR, which SR papers report: on the Y channel, with a
border crop of 4. There is no feature space by default (``none``), so a run
needs no Inception weights. Pass ``--feature-extractor inception-v3`` for FID.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

import ganbench
from ganbench.api import Batch, DataInfo, DatasetOptions, DatasetSpec, GanDataset, luma_255

NAME = "sr-photos"
#: SRGAN's upscaling factor.
SCALE = 4
#: Side of an HR tile.
TILE = 32
#: Every VAL_EVERY-th kept training-photo tile is a validation tile.
VAL_EVERY = 10
#: A tile is kept when its luma's mean absolute neighbour difference (0..255) reaches this.
MIN_DETAIL = 2.0
TRAIN_PHOTO, TEST_PHOTO = "china.jpg", "flower.jpg"


def photo_tiles(photo: np.ndarray, tile: int = TILE) -> np.ndarray:
    """Non-overlapping ``tile`` x ``tile`` tiles of an H x W x 3 uint8 photo, row by row (N x t x t x 3)."""
    rows, cols = photo.shape[0] // tile, photo.shape[1] // tile
    cut = photo[: rows * tile, : cols * tile]
    return (
        cut.reshape(rows, tile, cols, tile, 3).transpose(0, 2, 1, 3, 4).reshape(-1, tile, tile, 3)
    )


def detail(tiles: np.ndarray) -> np.ndarray:
    """Mean absolute difference of neighbouring luma values, per uint8 tile (N,), in grey levels.

    The luma is the BT.601 Y that the psnr and ssim metrics compare.
    """
    luma = luma_255(_unit(tiles))
    across = np.abs(np.diff(luma, axis=2)).mean(axis=(1, 2))
    down = np.abs(np.diff(luma, axis=1)).mean(axis=(1, 2))
    return (across + down) / 2


def detailed_tiles(photo: np.ndarray) -> np.ndarray:
    """The tiles of ``photo`` with detail to restore (see the module docstring)."""
    tiles = photo_tiles(photo)
    return tiles[detail(tiles) >= MIN_DETAIL]


def bicubic_downscale(tiles: np.ndarray, scale: int = SCALE) -> np.ndarray:
    """Each uint8 tile (N x H x W x 3) shrunk ``scale`` times with PIL's bicubic filter, uint8."""
    from PIL import Image

    size = (tiles.shape[2] // scale, tiles.shape[1] // scale)
    return np.stack([np.asarray(Image.fromarray(t).resize(size, Image.BICUBIC)) for t in tiles])


def _unit(images: np.ndarray) -> torch.Tensor:
    """uint8 N x H x W x 3 -> float32 N x 3 x H x W in [-1, 1]."""
    x = torch.from_numpy(np.ascontiguousarray(images.transpose(0, 3, 1, 2))).float()
    return x / 127.5 - 1.0


def tile_pairs(tiles: np.ndarray) -> Batch:
    """uint8 HR tiles as ``x`` in [-1, 1], with their bicubic x4 LR versions as ``source``."""
    return Batch(x=_unit(tiles), source=_unit(bicubic_downscale(tiles)))


def load_sr_photos(options: DatasetOptions) -> GanDataset:
    """HR tiles (3 x 32 x 32) as ``x`` with their bicubic x4 LR versions (3 x 8 x 8) as ``source``."""
    from sklearn.datasets import load_sample_images  # the photographs ship with scikit-learn

    bunch = load_sample_images()
    photos = {
        name.replace("\\", "/").rsplit("/", 1)[-1]: image
        for name, image in zip(bunch.filenames, bunch.images, strict=True)
    }
    train_tiles = detailed_tiles(photos[TRAIN_PHOTO])
    held_out = np.arange(len(train_tiles)) % VAL_EVERY == VAL_EVERY - 1
    splits = {
        "train": tile_pairs(train_tiles[~held_out]),
        "val": tile_pairs(train_tiles[held_out]),
        "test": tile_pairs(detailed_tiles(photos[TEST_PHOTO])),
    }
    info = DataInfo(
        name=NAME,
        kind="image",
        shape=(3, TILE, TILE),
        fields=("x", "source"),
        source_shape=(3, TILE // SCALE, TILE // SCALE),
        paired=True,
        extras={
            "scale": SCALE,
            "train_photo": TRAIN_PHOTO,
            "test_photo": TEST_PHOTO,
            "min_detail": MIN_DETAIL,
        },
    )
    return GanDataset(info=info, splits=splits)


SPEC = DatasetSpec(
    name=NAME,
    load=load_sr_photos,
    kind="image",
    description=(
        "x4 super-resolution: 32x32 tiles of scikit-learn's two photos (train: china, "
        "test: flower), bicubic 8x8 inputs"
    ),
    feature_extractor="none",
    primary_metric="psnr",
    default_steps=2000,
    default_batch_size=16,  # SRGAN §3.2
    eval_samples=80,  # one output per test tile
    fields=("x", "source"),
)


@ganbench.hookimpl
def ganbench_register_datasets(register: Callable[[DatasetSpec], None]) -> None:
    """Register ``sr-photos``."""
    register(SPEC)
