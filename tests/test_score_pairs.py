"""``ganbench score HR_DIR SR_DIR --metric psnr,ssim``: images paired by file
name, of any sizes, each against its own target; bad pairs are one line."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from cli_helpers import one_error_line
from PIL import Image
from skimage.color import rgb2ycbcr
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from ganbench.cli.main import main

SIZES = {"baby": (40, 32), "bird": (36, 36), "head": (40, 32)}


def _write_pairs(tmp_path: Path, sizes=SIZES) -> tuple[Path, Path]:
    gen = np.random.default_rng(0)
    hr, sr = tmp_path / "hr", tmp_path / "sr"
    hr.mkdir(), sr.mkdir()
    for name, (w, h) in sizes.items():
        target = gen.integers(0, 256, size=(h, w, 3), dtype=np.uint8)
        noisy = np.clip(target + gen.normal(0, 12, size=target.shape), 0, 255).astype(np.uint8)
        Image.fromarray(target).save(hr / f"{name}.png")
        Image.fromarray(noisy).save(sr / f"{name}.png")
    return hr, sr


def _skimage_means(hr: Path, sr: Path, crop: int) -> tuple[float, float]:
    psnrs, ssims = [], []
    for path in sorted(hr.glob("*.png")):
        planes = []
        for folder in (hr, sr):
            rgb = np.asarray(Image.open(folder / path.name), dtype=np.float64) / 255
            planes.append(rgb2ycbcr(rgb)[..., 0][crop:-crop, crop:-crop])
        psnrs.append(peak_signal_noise_ratio(planes[0], planes[1], data_range=255))
        ssims.append(
            structural_similarity(
                planes[0],
                planes[1],
                data_range=255,
                gaussian_weights=True,
                use_sample_covariance=False,
                sigma=1.5,
            )
        )
    return float(np.mean(psnrs)), float(np.mean(ssims))


def _score(args: list[str], capsys) -> tuple[int, str, str]:
    code = main(["score", *args, "--json"])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("crop", [None, 2])
def test_folders_pair_by_name_and_match_scikit_image(tmp_path: Path, capsys, crop) -> None:
    hr, sr = _write_pairs(tmp_path)
    extra = [] if crop is None else ["--crop", str(crop)]
    code, out, err = _score([str(hr), str(sr), "--metric", "psnr,ssim", *extra], capsys)
    assert code == 0, err
    result = json.loads(out)
    psnr, ssim = _skimage_means(hr, sr, 4 if crop is None else crop)
    assert result["metrics"]["psnr"] == pytest.approx(psnr, abs=1e-6)
    assert result["metrics"]["ssim"] == pytest.approx(ssim, abs=1e-6)
    assert result["protocol"]["pairs"] == 3
    assert result["protocol"]["pair_sizes"] == {"36x36": 1, "40x32": 2}
    assert result["protocol"]["metric_params"]["psnr"]["crop"] == (crop or 4)


def test_a_name_in_one_folder_only_is_one_line(tmp_path: Path, capsys) -> None:
    hr, sr = _write_pairs(tmp_path)
    (sr / "bird.png").rename(sr / "zebra.png")
    code, _, err = _score([str(hr), str(sr), "--metric", "psnr"], capsys)
    assert code == 2
    line = one_error_line(err)
    assert "only in REAL: bird" in line and "only in FAKE: zebra" in line


def test_a_pair_of_two_sizes_is_one_line(tmp_path: Path, capsys) -> None:
    hr, sr = _write_pairs(tmp_path)
    Image.new("RGB", (20, 16)).save(sr / "head.png")
    code, _, err = _score([str(hr), str(sr), "--metric", "psnr,ssim"], capsys)
    assert code == 2
    line = one_error_line(err)
    assert "'head'" in line and "40x32 in REAL" in line and "20x16 in FAKE" in line


def test_a_feature_space_for_pixel_metrics_is_one_line(tmp_path: Path, capsys) -> None:
    hr, sr = _write_pairs(tmp_path)
    argv = [str(hr), str(sr), "--metric", "psnr", "--feature-extractor", "inception-v3"]
    code, _, err = _score(argv, capsys)
    assert code == 2
    assert "--feature-extractor inception-v3" in one_error_line(err)


def test_crop_without_paired_metrics_is_one_line(tmp_path: Path, capsys) -> None:
    hr, sr = _write_pairs(tmp_path, {"a": (32, 32), "b": (32, 32)})
    code, _, err = _score([str(hr), str(sr), "--metric", "fid", "--crop", "2"], capsys)
    assert code == 2
    assert "--crop" in one_error_line(err)
