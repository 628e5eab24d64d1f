"""The domain evaluator is the same ruler everywhere.

Its weights' sha256 is in every run's comparison key, so: training gives the
same bytes whatever thread count the caller uses, and the built-in digits
evaluator is the shipped file (checked against its sha256), never retrained.
"""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

from ganbench.data.types import Batch, DataInfo, DatasetOptions, GanDataset
from ganbench.features import evaluator, evaluator_weights
from ganbench.features.base import FeatureContext
from ganbench.features.evaluator import EvaluatorRecipe, evaluator_file_bytes
from ganbench.features.evaluator_weights import (
    DIGITS_EVALUATOR,
    DIGITS_EVALUATOR_SHA256,
    ShippedWeightsError,
)
from ganbench.features.stacked import STACKED_BASE_KEY
from ganbench_plugins.digits import load_digits

#: A few optimiser steps: with 2 threads the weights differ from 1 thread's from the first one.
QUICK = EvaluatorRecipe(min_steps=8, max_steps=8)
CPU = torch.device("cpu")


@pytest.fixture(scope="module")
def digits() -> GanDataset:
    return load_digits(DatasetOptions())


@pytest.fixture
def restore_threads() -> Iterator[int]:
    before = torch.get_num_threads()
    yield before
    torch.set_num_threads(before)


def _sha(blob: bytes) -> str:
    return hashlib.sha256(blob).hexdigest()


def _context(cache: Path) -> FeatureContext:
    return FeatureContext(cache_dir=cache, device=CPU)


def _no_training(*args: object, **kwargs: object) -> None:
    raise AssertionError("the digits evaluator was trained instead of loaded from the shipped file")


def test_training_gives_the_same_bytes_with_one_and_two_threads(
    digits: GanDataset, restore_threads: int
) -> None:
    torch.set_num_threads(1)
    one = evaluator_file_bytes(digits, QUICK, CPU)
    torch.set_num_threads(2)
    two = evaluator_file_bytes(digits, QUICK, CPU)
    assert torch.get_num_threads() == 2  # the caller's thread count is restored
    assert _sha(two) == _sha(one)


def test_training_runs_on_one_thread_and_restores_the_count_on_failure(
    digits: GanDataset, restore_threads: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[int] = []

    def failing_train(info: DataInfo, train: Batch, recipe: EvaluatorRecipe, device: object):
        seen.append(torch.get_num_threads())
        raise RuntimeError("interrupted")

    monkeypatch.setattr(evaluator, "_train", failing_train)
    torch.set_num_threads(2)
    with pytest.raises(RuntimeError, match="interrupted"):
        evaluator.train_evaluator(digits.info, digits.splits["train"], QUICK, CPU)
    assert seen == [1]
    assert torch.get_num_threads() == 2


def test_the_shipped_file_has_the_recorded_sha256() -> None:
    assert DIGITS_EVALUATOR.path.is_file()
    assert _sha(DIGITS_EVALUATOR.path.read_bytes()) == DIGITS_EVALUATOR_SHA256
    # Small enough to ship in the wheel.
    assert DIGITS_EVALUATOR.path.stat().st_size < 1_000_000


def test_digits_uses_the_shipped_file_without_training(
    digits: GanDataset, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(evaluator, "train_evaluator", _no_training)
    cache = tmp_path / "cache"
    loaded = evaluator.load_or_train_evaluator(digits, _context(cache))
    assert loaded.weights_sha256 == DIGITS_EVALUATOR_SHA256
    assert loaded.protocol()["weights_sha256"] == DIGITS_EVALUATOR_SHA256
    assert loaded.test_accuracy > 0.95
    assert not cache.exists()  # nothing trained, nothing cached


def test_stacked_digits_uses_the_shipped_digits_file(
    digits: GanDataset, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A few stacked test images over the real digits base: what stacked-digits
    # declares, without building its 65,000 triples.
    x = digits.splits["test"].x[:30].reshape(10, 3, 8, 8)
    stacked = GanDataset(
        info=DataInfo(
            name="stacked-digits",
            kind="image",
            shape=(3, 8, 8),
            fields=("x", "y"),
            num_classes=1000,
            extras={STACKED_BASE_KEY: digits},
        ),
        splits={"test": Batch(x=x, y=torch.zeros(10, dtype=torch.int64))},
    )
    monkeypatch.setattr(evaluator, "train_evaluator", _no_training)
    extractor = evaluator.build_evaluator(stacked, _context(tmp_path / "cache"))
    assert extractor.protocol()["weights_sha256"] == DIGITS_EVALUATOR_SHA256


def test_a_tampered_shipped_file_is_refused(
    digits: GanDataset, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    weights = tmp_path / "weights"
    weights.mkdir()
    tampered = weights / DIGITS_EVALUATOR.filename
    shutil.copyfile(DIGITS_EVALUATOR.path, tampered)
    blob = bytearray(tampered.read_bytes())
    blob[len(blob) // 2] ^= 0x01  # one bit of a weight tensor (the data fill the file)
    tampered.write_bytes(bytes(blob))
    monkeypatch.setattr(evaluator_weights, "WEIGHTS_DIR", weights)
    monkeypatch.setattr(evaluator, "train_evaluator", _no_training)
    with pytest.raises(ShippedWeightsError, match=r"sha256 .* not 698138480a2a.*reinstall"):
        evaluator.load_or_train_evaluator(digits, _context(tmp_path / "cache"))


def test_a_missing_shipped_file_is_refused(
    digits: GanDataset, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(evaluator_weights, "WEIGHTS_DIR", tmp_path / "nowhere")
    monkeypatch.setattr(evaluator, "train_evaluator", _no_training)
    with pytest.raises(ShippedWeightsError, match="cannot be read"):
        evaluator.load_or_train_evaluator(digits, _context(tmp_path / "cache"))


def test_other_datasets_are_trained_and_cached(digits: GanDataset, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    first = evaluator.load_or_train_evaluator(digits, _context(cache), QUICK)
    (cached,) = (cache / "evaluators").glob("*.pt")
    assert first.weights_sha256 == _sha(cached.read_bytes()) != DIGITS_EVALUATOR_SHA256
    again = evaluator.load_or_train_evaluator(digits, _context(cache), QUICK)
    assert again.weights_sha256 == first.weights_sha256
