"""``sr-folder``: the user's HR images as x4 super-resolution tiles, and the
one-line errors of a missing folder or a bad layout."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from cli_helpers import one_error_line, run_cli
from PIL import Image

from ganbench.api import DataMissingError, DatasetOptions, GanbenchError
from ganbench_plugins import sr_folder


def _photo(seed: int, size: tuple[int, int] = (70, 100)) -> np.ndarray:
    """A textured RGB image: smooth gradients plus noise, so every tile has detail."""
    rng = np.random.default_rng(seed)
    h, w = size
    ramp = np.add.outer(np.arange(h), np.arange(w))[..., None] * np.array([1, 2, 3])
    return ((ramp + rng.integers(0, 60, (h, w, 3))) % 256).astype(np.uint8)


def write_sr_folder(root: Path, layout: dict[str, int]) -> Path:
    """``root/<split>/NN.png`` textured images, ``layout[split]`` of each."""
    for split, n in layout.items():
        (root / split).mkdir(parents=True)
        for i in range(n):
            Image.fromarray(_photo(hash((split, i)) % 1000)).save(root / split / f"{i:02d}.png")
    return root


def test_tiles_and_bicubic_inputs(tmp_path: Path) -> None:
    root = write_sr_folder(tmp_path / "sr", {"train": 3, "test": 2})
    data = sr_folder.load_sr_folder(DatasetOptions(extra={"path": str(root)}))
    # 70 x 100 pixels hold 2 x 3 tiles of 32: 18 training tiles, every tenth held out.
    sizes = {name: len(split) for name, split in data.splits.items()}
    assert sizes == {"train": 17, "val": 1, "test": 12}
    assert data.info.shape == (3, 32, 32) and data.info.source_shape == (3, 8, 8)
    first = _photo(hash(("test", 0)) % 1000)[:32, :32]
    expected_lr = np.asarray(Image.fromarray(first).resize((8, 8), Image.BICUBIC))
    test = data.splits["test"]
    assert np.array_equal(np.round((test.x[0].numpy().transpose(1, 2, 0) + 1) * 127.5), first)
    got_lr = np.round((test.source[0].numpy().transpose(1, 2, 0) + 1) * 127.5)
    assert np.array_equal(got_lr, expected_lr)
    again = sr_folder.load_sr_folder(DatasetOptions(extra={"path": str(root)}))
    assert again.fingerprint() == data.fingerprint()


def test_a_val_folder_is_the_validation_split(tmp_path: Path) -> None:
    root = write_sr_folder(tmp_path / "sr", {"train": 1, "val": 1, "test": 1})
    data = sr_folder.load_sr_folder(DatasetOptions(image_size=16, extra={"path": str(root)}))
    assert {n: len(s) for n, s in data.splits.items()} == {"train": 24, "val": 24, "test": 24}
    assert data.info.source_shape == (3, 4, 4)


@pytest.mark.parametrize(
    ("layout", "size", "error", "text"),
    [
        ({"train": 1}, None, DataMissingError, "test is not a folder; expected DIR/train/"),
        ({"train": 1, "test": 0}, None, DataMissingError, "no images"),
        ({"train": 1, "test": 1}, 30, GanbenchError, "--image-size 30"),
        ({"train": 1, "test": 1}, 128, GanbenchError, "no 128x128 tile"),
    ],
)
def test_bad_layouts_are_refused(tmp_path: Path, layout, size, error, text) -> None:
    root = write_sr_folder(tmp_path / "sr", layout)
    with pytest.raises(error, match=text.replace("(", r"\(")):
        sr_folder.load_sr_folder(DatasetOptions(image_size=size, extra={"path": str(root)}))


def test_a_run_scores_each_test_tile_once(tmp_path: Path, capsys) -> None:
    root = write_sr_folder(tmp_path / "sr", {"train": 3, "test": 2})
    places = ["--runs-dir", str(tmp_path / "runs"), "--store", str(tmp_path / "s.sqlite")]
    argv = ["run", "--plugin", "bicubic", "--dataset", "sr-folder", "--data-path", str(root)]
    code, _, err = run_cli([*argv, *places], capsys)
    assert code == 0, err
    (record_file,) = (tmp_path / "runs").glob("*/record.json")
    record = json.loads(record_file.read_text())
    assert record["protocol"]["n_fake"] == 12 and record["metrics"]["psnr"] > 10
    code, _, err = run_cli(
        ["run", "--plugin", "bicubic", "--dataset", "sr-folder", *places], capsys
    )
    assert code == 2 and "pass --data-path DIR" in one_error_line(err)
