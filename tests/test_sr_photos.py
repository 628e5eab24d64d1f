"""``sr-photos``: x4 super-resolution tiles of scikit-learn's two photographs,
and a super-resolution run on them ranked by PSNR."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from ganbench.api import DatasetOptions
from ganbench.cli.main import main
from ganbench.registry import load_registry
from ganbench_plugins import sr_photos

TASK_PLUGINS = Path(__file__).parent / "task_plugins"


@pytest.fixture(scope="module")
def dataset():
    return load_registry().dataset("sr-photos").load(DatasetOptions())


def _uint8(x: torch.Tensor) -> np.ndarray:
    return np.round((x.numpy().transpose(1, 2, 0) + 1) * 127.5).astype(np.uint8)


def test_splits_are_fixed_and_the_test_photo_is_unseen(dataset) -> None:
    sizes = {name: len(split) for name, split in dataset.splits.items()}
    assert sizes == {"train": 147, "val": 16, "test": 80}
    assert sr_photos.SPEC.eval_samples == sizes["test"]  # one output per test tile
    assert dataset.info.paired and dataset.info.source_shape == (3, 8, 8)
    test = dataset.splits["test"].x.flatten(1)
    train = torch.cat([dataset.splits["train"].x, dataset.splits["val"].x]).flatten(1)
    assert torch.cdist(test, train).min() > 1.0  # no test tile is (nearly) a training tile


def test_inputs_are_pil_bicubic_downscales_of_the_targets(dataset) -> None:
    split = dataset.splits["test"]
    for i in (0, 41, 79):
        hr = _uint8(split.x[i])
        lr = np.asarray(Image.fromarray(hr).resize((8, 8), Image.BICUBIC))
        assert np.array_equal(_uint8(split.source[i]), lr)


def test_featureless_tiles_are_left_out() -> None:
    from sklearn.datasets import load_sample_images

    photo = load_sample_images().images[1]
    tiles = sr_photos.photo_tiles(photo)
    kept = sr_photos.detail(tiles) >= sr_photos.MIN_DETAIL
    assert 0 < kept.sum() < len(tiles)  # the blurred background goes, the flower stays
    flat = np.full((1, 32, 32, 3), 90, dtype=np.uint8)
    assert sr_photos.detail(flat)[0] == 0.0


def test_a_super_resolution_run_is_ranked_by_psnr(tmp_path: Path, capsys) -> None:
    code = main(
        [
            "run",
            "--plugins-dir",
            str(TASK_PLUGINS),
            "--plugin",
            "tiny-srgan",
            "--dataset",
            "sr-photos",
            "--steps",
            "2",
            "--skip-metric",
            "attack-robustness",
            "--device",
            "cpu",
            "--runs-dir",
            str(tmp_path / "runs"),
            "--store",
            str(tmp_path / "store.sqlite"),
            "--json",
            "--quiet",
        ]
    )
    out, err = capsys.readouterr()
    assert code == 0, err
    record = json.loads(out)
    assert record["primary_metric"] == "psnr" and record["directions"]["psnr"] == "higher"
    assert 5.0 < record["metrics"]["psnr"] < 60.0
    assert 0.0 < record["metrics"]["ssim"] < 1.0
    assert record["protocol"]["metric_params"]["ssim"]["crop"] == 4  # the x4 scale
    assert record["protocol"]["feature_extractor"] is None  # no Inception weights needed
