"""The ``image-folder`` dataset and ``ganbench score`` read the same image files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from ganbench.api import IMAGE_SUFFIXES, DatasetOptions
from ganbench.scoring.sources import load_folder_source
from ganbench_plugins.image_folder import find_images, load_image_folder


def _one_of_each(folder: Path) -> set[str]:
    """One 8x8 image per listed suffix (upper case for one), plus files that are not images."""
    rng = np.random.default_rng(0)
    written = set()
    for i, suffix in enumerate(IMAGE_SUFFIXES):
        pixels = rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)
        image = Image.fromarray(pixels)
        if suffix == ".pgm":
            image = image.convert("L")  # netpbm's grey format
        name = f"{i:02d}{suffix.upper() if suffix == '.png' else suffix}"
        image.save(folder / name)
        written.add(name)
    Image.fromarray(rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)).save(folder / "x.gif")
    (folder / "notes.txt").write_text("not an image")
    return written


def test_dataset_and_score_accept_the_same_suffixes(tmp_path: Path) -> None:
    expected = _one_of_each(tmp_path)
    assert {p.name for p in find_images(tmp_path)} == expected
    scored = load_folder_source(tmp_path)
    assert scored.description["files"] == len(expected)
    data = load_image_folder(DatasetOptions(data_dir=tmp_path, image_size=8))
    assert sum(len(split) for split in data.splits.values()) == len(expected)


def test_the_list_is_lower_case_suffixes_pillow_reads() -> None:
    Image.init()
    assert all(s == s.lower() and s.startswith(".") for s in IMAGE_SUFFIXES)
    assert set(IMAGE_SUFFIXES) <= set(Image.registered_extensions())
