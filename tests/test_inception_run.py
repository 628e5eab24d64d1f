"""A run on CIFAR-10 reports in Inception-v3 space by default, with the weights file recorded."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from urllib.error import URLError

import pytest
import torch
from fakedata import write_fake_cifar10
from inception_weights import write_torch_fidelity_weights

from ganbench.cli.main import main


def test_cifar10_run_reports_inception_metrics(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "data"
    write_fake_cifar10(data, n_train_per_batch=20, n_test=24)
    weights = write_torch_fidelity_weights(tmp_path / "weights.pth")
    argv = ["run", "--plugin", "dcgan", "--dataset", "cifar10", "--data-dir", str(data)]
    argv += ["--steps", "2", "--eval-samples", "24", "--metric", "fid,is"]
    argv += ["--inception-weights", str(weights), "--json", "--quiet"]
    assert main(argv) == 0
    record = json.loads(capsys.readouterr().out)
    assert set(record["metrics"]) == {
        "fid[inception-v3]",
        "is[inception-v3]",
        "is_std[inception-v3]",
    }
    assert record["metrics"]["fid[inception-v3]"] > 0
    extractor = record["protocol"]["feature_extractor"]
    assert extractor["space"] == "inception-v3"
    assert extractor["weights_sha256"] == hashlib.sha256(weights.read_bytes()).hexdigest()
    assert record["primary_metric"] == "fid[inception-v3]"


def test_cifar10_without_weights_is_one_line_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    data = tmp_path / "data"
    write_fake_cifar10(data, n_train_per_batch=20, n_test=24)
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch-home"))  # an empty hub cache
    monkeypatch.delenv("GANBENCH_INCEPTION_WEIGHTS", raising=False)

    def offline(*args, **kwargs):
        raise URLError("offline")

    monkeypatch.setattr(torch.hub, "download_url_to_file", offline)
    argv = ["run", "--plugin", "dcgan", "--dataset", "cifar10", "--data-dir", str(data)]
    assert main([*argv, "--steps", "2"]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and "weights-inception-2015-12-05-6726825d.pth" in lines[0]
    runs = Path(tmp_path / "runs")
    assert not runs.exists() or not any(runs.iterdir())
