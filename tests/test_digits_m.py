"""``digits-m``: digits (A) to digits blended over photo patches as MNIST-M is
built (B), from disjoint images, labels aligned row by row, unpaired."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest
import torch

from ganbench.api import DatasetOptions
from ganbench.cli.main import main
from ganbench.registry import load_registry
from ganbench_plugins import digits_m


@pytest.fixture(scope="module")
def dataset():
    return load_registry().dataset("digits-m").load(DatasetOptions())


def test_blend_is_the_absolute_difference_with_the_patch() -> None:
    digit = torch.tensor([[[[1.0, -1.0]]]])  # ink (white) and background (black)
    patch = np.array([[[[255, 51, 0], [255, 51, 0]]]], dtype=np.uint8)  # 1 x 1 x 2 x 3
    out = (digits_m.blend(digit, patch) + 1) / 2  # back to [0, 1]
    torch.testing.assert_close(out[0, :, 0, 0], torch.tensor([0.0, 0.8, 1.0]))  # 1 - photo
    torch.testing.assert_close(out[0, :, 0, 1], torch.tensor([1.0, 0.2, 0.0]))  # the photo


def test_each_class_is_halved_into_disjoint_equal_domains() -> None:
    y = torch.tensor([0, 1, 0, 1, 0, 2, 1, 0, 2])
    a, b = digits_m._halves(y, np.random.default_rng(0))
    assert set(a.tolist()).isdisjoint(b.tolist())
    assert torch.equal(y[a], y[b])  # row i of A and of B: the same class
    assert len(a) == 1 + 1 + 2  # class 1 has 3 images: one left out


def test_the_dataset_is_unpaired_aligned_by_class_and_fixed(dataset) -> None:
    assert not dataset.info.paired
    assert dataset.info.shape == dataset.info.source_shape == (3, 8, 8)
    base = load_registry().dataset("digits").load(DatasetOptions())
    for name, split in dataset.splits.items():
        assert len(split.x) == len(split.source) == len(split.y)
        assert len(split) <= len(base.splits[name]) // 2
        # Domain A is the digits themselves, grey in three channels...
        assert torch.equal(split.source[:, 0], split.source[:, 2])
        digits = base.splits[name].x.flatten(1)
        match = torch.cdist(split.source[:, :1].flatten(1), digits).argmin(dim=1)
        torch.testing.assert_close(digits[match], split.source[:, 0].flatten(1))
        # ...and their labels are y: row i of A shows the class of row i of B.
        assert torch.equal(base.splits[name].y[match], split.y)
    # Domain B is coloured: the channels differ.
    assert (dataset.splits["train"].x[:, 0] - dataset.splits["train"].x[:, 1]).abs().mean() > 0.05
    again = load_registry().dataset("digits-m").load(DatasetOptions())
    assert again.fingerprint() == dataset.fingerprint()


def test_the_test_only_cyclegan_fits_it(dataset) -> None:
    path = Path(__file__).parent / "task_plugins" / "unpaired_translation.py"
    spec = importlib.util.spec_from_file_location("tiny_cyclegan_module", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.check_fits(dataset.info) is None


def test_a_translation_run_measures_label_preservation(tmp_path: Path, capsys) -> None:
    import json

    plugins = Path(__file__).parent / "task_plugins"
    argv = ["run", "--plugins-dir", str(plugins), "--plugin", "tiny-cyclegan"]
    argv += ["--dataset", "digits-m", "--steps", "2", "--batch-size", "16"]
    argv += ["--eval-samples", "200", "--skip-metric", "attack-robustness", "--device", "cpu"]
    argv += ["--runs-dir", str(tmp_path / "runs"), "--store", str(tmp_path / "s.sqlite")]
    code = main([*argv, "--json", "--quiet"])
    out, err = capsys.readouterr()
    assert code == 0, err
    record = json.loads(out)
    accuracy = record["metrics"]["label_acc[digits-m-evaluator]"]
    assert 0.0 <= accuracy <= 1.0
    assert record["directions"]["label_acc[digits-m-evaluator]"] == "higher"
    assert "fid[digits-m-evaluator]" in record["metrics"]


def test_label_preservation_is_the_share_of_inputs_whose_class_survives() -> None:
    from ganbench.registry import load_registry as registry_of
    from ganbench.testing.metric_checks import constructed_inputs

    spec = registry_of().metric("label-preservation")
    inputs = constructed_inputs(spec.needs)
    probs = inputs.fake_probs()
    right = float((probs.argmax(1) == inputs.source_labels).double().mean())
    assert spec.compute(inputs, {})["label_acc"] == pytest.approx(right)
    inputs.source_labels = (inputs.source_labels + 1) % 4  # every input relabelled
    assert spec.compute(inputs, {})["label_acc"] < right
