"""``ganbench score`` refuses a score that would compute no metric, and says why."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from cli_helpers import one_error_line, run_cli
from PIL import Image


def _png_folder(folder: Path, n: int, seed: int) -> Path:
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True)
    for i in range(n):
        Image.fromarray(rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)).save(folder / f"{i}.png")
    return folder


def test_images_without_a_feature_space_are_refused(tmp_path: Path, capsys) -> None:
    real = _png_folder(tmp_path / "real", 12, seed=0)
    fake = _png_folder(tmp_path / "fake", 12, seed=1)
    code, out, err = run_cli(["score", str(real), str(fake), "--feature-extractor", "none"], capsys)
    line = one_error_line(err)
    assert code == 2 and out == ""  # no empty table
    for needle in (
        "--feature-extractor none",
        "raw-sample",
        "image samples",
        "fid",
        "mode-coverage",
    ):
        assert needle in line, line
    assert "choose a feature space" in line and "inception-v3" in line, line


def test_vectors_of_an_unknown_mixture_without_a_feature_space_are_refused(
    tmp_path: Path, capsys
) -> None:
    np.save(tmp_path / "a.npy", np.random.default_rng(0).normal(size=(50, 2)).astype(np.float32))
    np.save(tmp_path / "b.npy", np.random.default_rng(1).normal(size=(50, 2)).astype(np.float32))
    argv = [
        "score",
        str(tmp_path / "a.npy"),
        str(tmp_path / "b.npy"),
        "--feature-extractor",
        "none",
    ]
    code, _, err = run_cli(argv, capsys)
    line = one_error_line(err)
    assert code == 2 and "no known mixture modes" in line and "identity" in line, line


def test_raw_sample_metrics_still_score_a_mixture(capsys) -> None:
    argv = ["score", "dataset:ring8:test", "dataset:ring8:val", "--feature-extractor", "none"]
    code, out, err = run_cli([*argv, "--json", "--quiet"], capsys)
    assert code == 0, err
    scored = json.loads(out)
    assert scored["metrics"]["modes_covered"] == 8.0
    skipped = scored["protocol"]["skipped_metrics"]
    # Only metrics that cannot apply without a feature space or a model are left out, each saying why.
    assert "mode-coverage" not in skipped and "fid" in skipped and "attack-robustness" in skipped
    assert all(why.startswith("does not apply: ") for why in skipped.values()), skipped


@pytest.mark.parametrize("metric", ["fid", "prdc"])
def test_a_requested_feature_metric_without_a_feature_space(
    metric: str, tmp_path: Path, capsys
) -> None:
    real = _png_folder(tmp_path / "real", 4, seed=0)
    argv = ["score", str(real), str(real), "--feature-extractor", "none", "--metric", metric]
    code, _, err = run_cli(argv, capsys)
    line = one_error_line(err)
    assert code == 2 and f"'{metric}'" in line and "feature space" in line, line
