"""Files from someone else cannot run code: every torch file ganbench reads is loaded weights-only.

Each test plants a pickle whose unpickling would create a marker file, in
one of the places ganbench reads (a run folder's checkpoints, the evaluator
cache, the reference-statistics cache, an Inception weights file), and
checks that ganbench refuses or rebuilds it without creating the marker.
"""

from __future__ import annotations

import json
import pathlib
from pathlib import Path

import pytest
import torch

from ganbench.cli.main import main


class Payload:
    """Unpickling this calls ``Path.touch(marker)``: code a reader must never run."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (pathlib.Path.touch, (self.marker,))


def plant(path: Path, marker: Path) -> None:
    torch.save({"format": 1, "model": Payload(marker), "step": 1}, path)


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> dict:
    assert main([*argv, "--json", "--quiet"]) == 0
    return json.loads(capsys.readouterr().out)


def test_a_planted_checkpoint_is_refused_by_score_and_resume(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    record = _run(capsys, "run", "--plugin", "gan", "--steps", "4", "--eval-samples", "50")
    run_dir = Path(record["run_dir"])
    marker = tmp_path / "pwned"
    # Every checkpoint of the run: with an intact previous.pt, a resume would
    # refuse a planted last.pt and carry on from previous.pt instead.
    for name in ("best.pt", "last.pt", "previous.pt"):
        plant(run_dir / "checkpoints" / name, marker)

    assert main(["score", "dataset:digits:test", str(run_dir), "--metric", "fid"]) == 2
    assert "is corrupt or not a ganbench checkpoint" in capsys.readouterr().err
    assert main(["run", "--resume", str(run_dir), "--quiet"]) == 2
    assert "is corrupt or not a ganbench checkpoint" in capsys.readouterr().err
    assert not marker.exists()


def test_planted_cache_files_are_rebuilt_not_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GANBENCH_CACHE_DIR", str(tmp_path / "cache"))
    # 12 px: digits at their native 8 px use the shipped evaluator, which is never cached.
    first = _run(capsys, "stats", "digits", "--split", "val", "--image-size", "12")
    marker = tmp_path / "pwned"
    (evaluator_file,) = (tmp_path / "cache" / "evaluators").glob("*.pt")
    plant(evaluator_file, marker)
    plant(Path(first["file"]), marker)

    again = _run(capsys, "stats", "digits", "--split", "val", "--image-size", "12")
    assert again["status"] == "computed"  # the planted statistics were not trusted
    assert again["key"] == first["key"]  # the retrained evaluator is the same network
    assert not marker.exists()


def test_a_planted_inception_weights_file_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    weights = tmp_path / "weights-inception-2015-12-05-6726825d.pth"
    marker = tmp_path / "pwned"
    torch.save({"Conv2d_1a_3x3.conv.weight": Payload(marker)}, weights)
    argv = ["score", "dataset:digits:test", "dataset:digits:val", "--metric", "fid"]
    assert (
        main([*argv, "--feature-extractor", "inception-v3", "--inception-weights", str(weights)])
        == 2
    )
    assert str(weights) in capsys.readouterr().err
    assert not marker.exists()


def test_the_planted_payload_is_live(tmp_path: Path) -> None:
    # The control: an unsafe load of the same file does run the code.
    marker = tmp_path / "pwned"
    plant(tmp_path / "x.pt", marker)
    torch.load(tmp_path / "x.pt", weights_only=False)
    assert marker.exists()
