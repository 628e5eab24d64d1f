"""Same seed, same numbers on CPU; another seed, other numbers.

Runs go through the real CLI entry point in-process (``main([...])``) and
compare the printed records: metric values must be equal as floats, not
close, and so must the logged training curves.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

from ganbench.cli.main import main


@pytest.fixture(autouse=True)
def _one_thread() -> Iterator[None]:
    """One intra-op thread for these runs.

    Results depend on the thread count (reductions split differently), so a
    comparison needs a fixed one; one thread is also the fast choice on a
    busy 2-core machine, where two OpenMP threads can be many times slower.
    """
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def run_record(capsys: pytest.CaptureFixture[str], *argv: str) -> dict:
    """``ganbench run ARGV --json --quiet`` in-process: the printed record."""
    capsys.readouterr()
    code = main(["run", *argv, "--json", "--quiet"])
    out, err = capsys.readouterr()
    assert code == 0, err
    record = json.loads(out)
    assert record["status"] == "completed", record
    assert record["metrics"], "a completed run reports metrics"
    return record


def curves(record: dict) -> str:
    return (Path(record["run_dir"]) / "curves.csv").read_text()


def assert_same_numbers(first: dict, second: dict) -> None:
    assert first["run_id"] != second["run_id"]
    assert first["metrics"] == second["metrics"]
    assert first["selected_step"] == second["selected_step"]
    assert first["comparison_key"] == second["comparison_key"]
    assert curves(first) == curves(second)


def test_gan_on_ring8_same_seed_same_numbers(capsys: pytest.CaptureFixture[str]) -> None:
    args = (
        "--plugin",
        "gan",
        "--dataset",
        "ring8",
        "--steps",
        "100",
        "--checkpoint-every",
        "50",
        "--eval-samples",
        "500",
    )
    first = run_record(capsys, *args, "--seed", "7")
    second = run_record(capsys, *args, "--seed", "7")
    assert_same_numbers(first, second)

    other = run_record(capsys, *args, "--seed", "8")
    assert other["metrics"].keys() == first["metrics"].keys()
    assert other["metrics"] != first["metrics"]
    assert other["metrics"][first["primary_metric"]] != first["metrics"][first["primary_metric"]]
    assert curves(other) != curves(first)


def test_dcgan_on_digits_same_seed_same_numbers(capsys: pytest.CaptureFixture[str]) -> None:
    args = (
        "--plugin",
        "dcgan",
        "--dataset",
        "digits",
        "--steps",
        "50",
        "--checkpoint-every",
        "25",
        "--eval-samples",
        "300",
        # The attacks' own same-seed test is in test_metrics_attacks; here
        # they would be half of each run's time.
        "--skip-metric",
        "attack-robustness",
    )
    first = run_record(capsys, *args)
    second = run_record(capsys, *args)
    assert_same_numbers(first, second)

    other = run_record(capsys, *args, "--seed", "1")
    assert other["metrics"] != first["metrics"]
