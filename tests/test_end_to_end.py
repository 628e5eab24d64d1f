"""End to end through the CLI: the embedded default, its figures, the leaderboard."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from PIL import Image

from ganbench.cli.main import main
from ganbench.results.store import ResultsStore

FID = "fid[digits-evaluator]"
CLASSES = "classes_covered[digits-evaluator]"


def _run_json(capsys: pytest.CaptureFixture[str], *args: str) -> dict:
    assert main(["run", *args, "--json", "--quiet"]) == 0
    return json.loads(capsys.readouterr().out)


@pytest.mark.slow
def test_dcgan_beats_untrained_generator_and_lands_on_the_leaderboard(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # 800 of the default 2,000 steps: the default job itself is the README's
    # first command (CI runs it before the tests), and 800 steps already
    # have to clear the tenfold margin below, at under half the cost.
    trained = _run_json(capsys, "--plugin", "dcgan", "--steps", "800")
    untrained = _run_json(capsys, "--plugin", "dcgan", "--steps", "0")

    # The figure: FID at most a tenth of the untrained generator's, all classes.
    assert trained["status"] == "completed"
    assert trained["metrics"][FID] <= 0.1 * untrained["metrics"][FID]
    assert trained["metrics"][CLASSES] == 10
    assert untrained["metrics"][CLASSES] < 10

    # Every value carries its protocol; both runs share the comparison-relevant part.
    protocol = trained["protocol"]
    for field in (
        "dataset",
        "n_real",
        "n_fake",
        "feature_extractor",
        "seed",
        "steps",
        "batch_size",
        "tricks",
        "model_config_hash",
        "torch_version",
        "device",
    ):
        assert field in protocol
    assert protocol["feature_extractor"]["test_accuracy"] >= 0.95
    assert len(protocol["feature_extractor"]["weights_sha256"]) == 64
    assert protocol["selection"]["split"] == "val"
    assert trained["comparison_key"] == untrained["comparison_key"]
    assert trained["wall_time_s"] > 0

    # The run folder holds what the README promises, with real images.
    run_dir = Path(trained["run_dir"])
    for name in (
        "config.json",
        "record.json",
        "samples.png",
        "curves.csv",
        "curves.png",
        "checkpoints/last.pt",
        "checkpoints/best.pt",
    ):
        assert (run_dir / name).is_file(), name
    with Image.open(run_dir / "samples.png") as grid:
        assert grid.width >= 8 * 32
    with open(run_dir / "curves.csv") as fh:
        rows = list(csv.DictReader(fh))
    assert {"step", "loss_d", "loss_g"} <= set(rows[0])

    # The store has both runs and the real-data row, which scores better still.
    store = ResultsStore(Path(trained["run_dir"]).parent / "results.sqlite")
    real = store.runs(dataset="digits", kind="real-data")
    assert len(real) == 1 and real[0].comparison_key == trained["comparison_key"]
    assert real[0].metrics[FID] < trained["metrics"][FID]

    out = tmp_path / "leaderboards"
    assert main(["leaderboard", "build", "--out", str(out)]) == 0
    table = (out / "unconditional" / "digits.md").read_text()
    ranked = [line for line in table.splitlines() if line.startswith("| 1 ")]
    assert len(ranked) == 1 and "dcgan" in ranked[0]
    assert "| ref " in table and "| untrained " in table
    assert (out / "index.html").is_file()
