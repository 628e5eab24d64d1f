"""``ganbench score`` and ``ganbench stats``: sources, one metric path, cached statistics."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from ganbench.cli.main import main
from ganbench.eval.reference_stats import stats_key, stats_record
from ganbench.scoring.sources import images_to_unit_range, load_source

FID = "fid[digits-evaluator]"


def _json(capsys: pytest.CaptureFixture[str], *args: str) -> dict:
    assert main([*args, "--json", "--quiet"]) == 0
    return json.loads(capsys.readouterr().out)


def _error(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    assert main(list(args)) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1, lines
    return lines[0]


def _digits_test_images() -> np.ndarray:
    from ganbench.registry import load_registry
    from ganbench.scoring.sources import SourceOptions

    source = load_source("dataset:digits:test", load_registry(), SourceOptions())
    return source.x.numpy()


def test_score_of_a_run_folder_equals_the_runs_own_numbers(
    capsys: pytest.CaptureFixture[str],
) -> None:
    record = _json(capsys, "run", "--plugin", "dcgan", "--steps", "30", "--eval-samples", "300")
    scored = _json(
        capsys,
        "score",
        "dataset:digits:test",
        record["run_dir"],
        "--samples",
        "300",
        "--metric",
        "fid,kid,is,class-coverage",
    )
    # Same samples (same seed, same selected checkpoint), same metric code: same numbers.
    for name, value in scored["metrics"].items():
        assert value == pytest.approx(record["metrics"][name], rel=1e-9), name
    protocol = scored["protocol"]
    assert protocol["fake"]["kind"] == "run" and protocol["fake"]["samples"] == 300
    assert protocol["real"] == {
        "kind": "dataset",
        "dataset": "digits",
        "split": "test",
        "dataset_fingerprint": record["protocol"]["dataset_fingerprint"],
    }
    assert protocol["feature_extractor"] == record["protocol"]["feature_extractor"]
    assert protocol["reference_stats"]["loaded"] is True  # written by the run, reused here
    assert set(protocol["metric_params"]) == {"fid", "kid", "is", "class-coverage"}


def test_every_image_format_reads_the_same_pixels(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    x = _digits_test_images()[:120]  # N x 1 x 8 x 8 in [-1, 1]
    as_uint8 = np.rint((x + 1) * 127.5).astype(np.uint8)
    np.save(tmp_path / "nhwc.npy", as_uint8.transpose(0, 2, 3, 1))
    np.savez(tmp_path / "nchw.npz", images=as_uint8)
    np.save(tmp_path / "unit.npy", as_uint8.astype(np.float32) / 255.0)
    folder = tmp_path / "pngs"
    folder.mkdir()
    for i, image in enumerate(as_uint8[:, 0]):
        Image.fromarray(image, mode="L").save(folder / f"{i:04d}.png")
    values = []
    for source in ("nhwc.npy", "nchw.npz", "unit.npy", "pngs"):
        scored = _json(
            capsys, "score", "dataset:digits:test", str(tmp_path / source), "--metric", "fid"
        )
        values.append(scored["metrics"][FID])
    assert values[0] > 0  # a subset of the reference, quantised: close, but not equal
    assert values == pytest.approx([values[0]] * 4, rel=1e-6)


def test_a_split_scored_against_itself_is_zero(capsys: pytest.CaptureFixture[str]) -> None:
    scored = _json(capsys, "score", "dataset:digits:test", "dataset:digits:test", "--metric", "fid")
    assert scored["metrics"][FID] == pytest.approx(0.0, abs=1e-6)
    other = _json(capsys, "score", "dataset:digits:test", "dataset:digits:train", "--metric", "fid")
    assert other["metrics"][FID] > 1.0


def test_vectors_score_in_identity_space(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    modes = np.array([[np.cos(a), np.sin(a)] for a in np.linspace(0, 2 * np.pi, 9)[:-1]])
    one_mode = np.repeat(modes[:1], 500, axis=0) + np.random.default_rng(0).normal(
        scale=0.01, size=(500, 2)
    )
    np.save(tmp_path / "collapsed.npy", one_mode.astype(np.float32))
    scored = _json(capsys, "score", "dataset:ring8:test", str(tmp_path / "collapsed.npy"))
    assert scored["metrics"]["modes_covered"] == 1.0
    assert scored["protocol"]["feature_extractor"]["space"] == "identity"


def test_value_ranges_are_read_by_dtype_and_range() -> None:
    u8 = np.array([[[[0, 255]]]], dtype=np.uint8)
    assert images_to_unit_range(u8, "t")[0].flatten().tolist() == [-1.0, 1.0]
    unit = np.array([[[[0.0, 1.0]]]], dtype=np.float32)
    assert images_to_unit_range(unit, "t")[0].flatten().tolist() == [-1.0, 1.0]
    signed = np.array([[[[-1.0, 0.5]]]], dtype=np.float32)
    assert images_to_unit_range(signed, "t")[0].flatten().tolist() == [-1.0, 0.5]
    byte_float = np.array([[[[0.0, 255.0]]]], dtype=np.float32)
    assert images_to_unit_range(byte_float, "t")[0].flatten().tolist() == [-1.0, 1.0]


@pytest.mark.parametrize(
    ("setup", "expected"),
    [
        ("missing", "no such source"),
        ("bad-split", "unknown split 'tst'"),
        ("bad-dataset", "unknown dataset 'nope'"),
        ("corrupt-npy", "cannot read array file"),
        ("range", "values span"),
        ("sizes", "all images must have one size"),
        ("shape", "needs one shape"),
        ("no-dataset-evaluator", "does not apply"),
        ("bad-metric", "unknown metric 'bogus'"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    setup: str, expected: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    real, fake, extra = "dataset:digits:test", "dataset:digits:val", []
    if setup == "missing":
        fake = str(tmp_path / "nowhere")
    elif setup == "bad-split":
        fake = "dataset:digits:tst"
    elif setup == "bad-dataset":
        fake = "dataset:nope:test"
    elif setup == "corrupt-npy":
        (tmp_path / "bad.npy").write_bytes(b"not an array")
        fake = str(tmp_path / "bad.npy")
    elif setup == "range":
        np.save(tmp_path / "big.npy", np.full((4, 1, 8, 8), 300.0, dtype=np.float32))
        fake = str(tmp_path / "big.npy")
    elif setup == "sizes":
        folder = tmp_path / "mixed"
        folder.mkdir()
        Image.new("L", (8, 8)).save(folder / "a.png")
        Image.new("L", (9, 9)).save(folder / "b.png")
        fake = str(folder)
    elif setup == "shape":
        np.save(tmp_path / "rgb.npy", np.zeros((4, 3, 16, 16), dtype=np.uint8))
        fake = str(tmp_path / "rgb.npy")
    elif setup == "no-dataset-evaluator":
        np.save(tmp_path / "a.npy", np.zeros((4, 1, 8, 8), dtype=np.uint8))
        real = fake = str(tmp_path / "a.npy")
        extra = ["--feature-extractor", "evaluator"]
    elif setup == "bad-metric":
        extra = ["--metric", "fid,bogus"]
    line = _error(capsys, "score", real, fake, *extra)
    assert expected in line


def test_stats_are_computed_once_then_read(capsys: pytest.CaptureFixture[str]) -> None:
    first = _json(capsys, "stats", "digits", "--split", "val")
    second = _json(capsys, "stats", "digits", "--split", "val")
    assert second["status"] == "cached" and second["key"] == first["key"]
    assert (first["n"], first["dims"], first["feature_space"]) == (359, 64, "digits-evaluator")
    saved = torch.load(first["file"], weights_only=True)
    mu, sigma = saved["real_gaussian"]
    features = saved["real_features"].double()
    assert torch.allclose(mu, features.mean(0))
    assert torch.allclose(sigma, torch.from_numpy(np.cov(features.numpy(), rowvar=False)))


def test_a_damaged_stats_file_is_rebuilt(capsys: pytest.CaptureFixture[str]) -> None:
    first = _json(capsys, "stats", "digits", "--split", "train")
    Path(first["file"]).write_bytes(b"garbage")
    again = _json(capsys, "stats", "digits", "--split", "train")
    assert again["status"] == "computed" and again["key"] == first["key"]


def test_stats_key_changes_with_weights_and_preprocessing() -> None:
    class Space:
        space = "toy"

        def __init__(self, sha: str, preprocessing: str) -> None:
            self.sha, self.preprocessing = sha, preprocessing

        def protocol(self) -> dict:
            return {"weights_sha256": self.sha, "preprocessing": self.preprocessing}

    from ganbench.registry import load_registry
    from ganbench.scoring.sources import SourceOptions

    dataset = load_source("dataset:digits:test", load_registry(), SourceOptions()).dataset
    assert dataset is not None
    keys = {
        stats_key(stats_record(dataset, split, Space(sha, prep)))
        for split in ("val", "test")
        for sha in ("a", "b")
        for prep in ("resize", "crop")
    }
    assert len(keys) == 8
    same = stats_key(stats_record(dataset, "test", Space("a", "resize")))
    assert same == stats_key(stats_record(dataset, "test", Space("a", "resize")))


def test_stats_of_unknown_dataset_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert "unknown dataset 'nope'" in _error(capsys, "stats", "nope")
