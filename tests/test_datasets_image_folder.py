"""``image-folder``: class sub-folders, flat folders, and the errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from ganbench.api import DatasetOptions, GanbenchError
from ganbench_plugins.image_folder import load_image_folder


def _write_images(folder: Path, n: int, *, color: int, size: tuple[int, int] = (40, 30)) -> None:
    """``n`` small PNGs of one gray level (and a grayscale one, to test RGB conversion)."""
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        mode = "L" if i == 0 else "RGB"
        fill = color if mode == "L" else (color, color, color)
        Image.new(mode, size, fill).save(folder / f"img_{i:02d}.png")


def test_class_subfolders_give_labels(tmp_path: Path) -> None:
    _write_images(tmp_path / "cats", 6, color=0)
    _write_images(tmp_path / "dogs" / "nested", 6, color=255)
    data = load_image_folder(DatasetOptions(data_dir=tmp_path, image_size=16))
    info = data.info
    assert (info.shape, info.fields, info.num_classes) == ((3, 16, 16), ("x", "y"), 2)
    assert info.extras["classes"] == ["cats", "dogs"]
    assert {k: len(v) for k, v in data.splits.items()} == {"train": 10, "val": 1, "test": 1}
    x = torch.cat([s.x for s in data.splits.values()])
    y = torch.cat([s.y for s in data.splits.values()])
    assert x.dtype == torch.float32 and y.dtype == torch.int64
    # Black cats are -1, white dogs +1, in all three channels.
    assert torch.equal(x[y == 0], torch.full_like(x[y == 0], -1.0))
    assert torch.equal(x[y == 1], torch.full_like(x[y == 1], 1.0))


def test_flat_folder_is_unlabeled_and_defaults_to_64(tmp_path: Path) -> None:
    _write_images(tmp_path, 10, color=128)
    (tmp_path / "notes.txt").write_text("not an image")
    data = load_image_folder(DatasetOptions(extra={"path": str(tmp_path)}))
    assert (data.info.shape, data.info.fields, data.info.num_classes) == ((3, 64, 64), ("x",), None)
    assert all(s.y is None for s in data.splits.values())
    assert sum(len(s) for s in data.splits.values()) == 10


def test_images_are_center_cropped(tmp_path: Path) -> None:
    # A wide image: red left third, green middle, blue right third. The
    # center square is all green.
    pixels = np.zeros((30, 90, 3), dtype=np.uint8)
    pixels[:, :30, 0] = pixels[:, 30:60, 1] = pixels[:, 60:, 2] = 255
    for i in range(8):
        Image.fromarray(pixels).save(tmp_path / f"wide_{i}.png")
    x = load_image_folder(DatasetOptions(data_dir=tmp_path, image_size=8)).splits["train"].x
    # Inner columns only: PIL's antialiasing filter reaches a pixel past the crop.
    inner = x[..., 1:-1]
    assert torch.allclose(inner[:, 1], torch.ones_like(inner[:, 1]))
    assert torch.allclose(inner[:, 0], -torch.ones_like(inner[:, 0]))
    assert torch.allclose(inner[:, 2], -torch.ones_like(inner[:, 2]))


def test_loading_is_deterministic(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    for i in range(12):
        Image.fromarray(rng.integers(0, 256, (20, 20, 3), dtype=np.uint8)).save(
            tmp_path / f"{i}.png"
        )
    first = load_image_folder(DatasetOptions(data_dir=tmp_path, image_size=8))
    second = load_image_folder(DatasetOptions(data_dir=tmp_path, image_size=8))
    assert first.fingerprint() == second.fingerprint()


def test_top_level_images_mean_unlabeled(tmp_path: Path) -> None:
    _write_images(tmp_path / "a", 4, color=0)
    _write_images(tmp_path / "b", 4, color=0)
    _write_images(tmp_path, 2, color=0)
    data = load_image_folder(DatasetOptions(data_dir=tmp_path, image_size=8))
    assert data.info.fields == ("x",)
    assert sum(len(s) for s in data.splits.values()) == 10


def test_empty_folder_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "empty_class").mkdir()
    with pytest.raises(GanbenchError, match=f"no images .* found in {tmp_path}$"):
        load_image_folder(DatasetOptions(data_dir=tmp_path))


def test_missing_folder_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(GanbenchError, match="is not a folder"):
        load_image_folder(DatasetOptions(data_dir=tmp_path / "absent"))
    with pytest.raises(GanbenchError, match="no folder given"):
        load_image_folder(DatasetOptions())


def test_too_few_images_is_an_error(tmp_path: Path) -> None:
    _write_images(tmp_path, 3, color=0)
    with pytest.raises(GanbenchError, match="only 3 images"):
        load_image_folder(DatasetOptions(data_dir=tmp_path))


def test_unreadable_image_names_the_file(tmp_path: Path) -> None:
    _write_images(tmp_path, 9, color=0)
    bad = tmp_path / "broken.jpg"
    bad.write_bytes(b"this is not a jpeg")
    with pytest.raises(GanbenchError) as caught:
        load_image_folder(DatasetOptions(data_dir=tmp_path))
    message = str(caught.value)
    assert "\n" not in message and str(bad) in message
