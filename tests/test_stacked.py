"""Stacked-digit mode benchmarks: the datasets, the per-channel evaluator, the mode count."""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from fakedata import write_fake_mnist
from scipy.stats import entropy
from torch import Tensor

from ganbench.api import DataMissingError, DatasetOptions, DatasetSpec, FeatureContext, GanDataset
from ganbench.cli.main import main
from ganbench.data.types import Batch, DataInfo
from ganbench.eval.inputs import EvalInputs
from ganbench.eval.metrics_runner import select_metrics, why_not_applicable
from ganbench.features.evaluator import EVALUATOR_SPEC
from ganbench.features.stacked import PerChannelClassifier, joint_class_probs
from ganbench.metrics.builtin import BUILTIN_METRICS
from ganbench.metrics.mode_count import STACKED_MODES_METRIC, count_modes
from ganbench.paths import cache_dir
from ganbench_plugins import stacked

SPACE = "digits-evaluator"


@pytest.fixture(scope="module")
def stacked_digits() -> GanDataset:
    return stacked.load_stacked(stacked.STACKED_DIGITS, DatasetOptions())


@pytest.fixture(scope="module")
def per_channel(stacked_digits: GanDataset) -> PerChannelClassifier:
    ctx = FeatureContext(cache_dir=cache_dir(), device=torch.device("cpu"))
    return EVALUATOR_SPEC.build(stacked_digits, ctx)


def _digits_of(y: Tensor) -> Tensor:
    """(N,) stacked labels -> (N, 3) digits, red channel first; independent of the plugin."""
    return torch.stack([y // 100, (y // 10) % 10, y % 10], dim=1)


def _check_channels_come_from_base(data: GanDataset) -> None:
    """Channel c of every image is an image of the same base split with the label's digit c."""
    base = data.info.extras["stacked_base"]
    keys = {
        name: {x[0].numpy().tobytes(): int(y) for x, y in zip(split.x, split.y, strict=True)}
        for name, split in base.splits.items()
    }
    for name, split in data.splits.items():
        digits = _digits_of(split.y)
        others = set().union(*(keys[n] for n in keys if n != name))
        for i in range(len(split)):
            for c in range(3):
                key = split.x[i, c].numpy().tobytes()
                assert keys[name].get(key) == int(digits[i, c]), (name, i, c)
                assert key not in others  # no base image leaks across splits


# --- datasets -----------------------------------------------------------------


def test_registers_two_mode_benchmarks() -> None:
    specs: list[DatasetSpec] = []
    stacked.ganbench_register_datasets(specs.append)
    assert [s.name for s in specs] == ["stacked-digits", "stacked-mnist"]
    for spec in specs:
        assert (spec.kind, spec.feature_extractor) == ("image", "evaluator")
        assert spec.eval_samples == 26_000  # PacGAN's sample count
        assert spec.primary_metric in STACKED_MODES_METRIC.outputs


def test_stacked_digits_shapes_ranges_and_labels(stacked_digits: GanDataset) -> None:
    info = stacked_digits.info
    assert (info.kind, info.shape, info.fields, info.num_classes) == (
        "image",
        (3, 8, 8),
        ("x", "y"),
        1000,
    )
    assert info.extras["stacked_modes"] is True
    assert info.extras["classes"][:2] == ["000", "001"] and info.extras["classes"][-1] == "999"
    sizes = {k: len(v) for k, v in stacked_digits.splits.items()}
    assert sizes == {"train": 50_000, "val": 5_000, "test": 10_000}
    for split in stacked_digits.splits.values():
        assert split.x.dtype == torch.float32 and split.y.dtype == torch.int64
        assert split.x.min() >= -1.0 and split.x.max() <= 1.0
        assert 0 <= split.y.min() and split.y.max() < 1000
    # 50 triples per mode on average: every one of the 1,000 modes is in train.
    assert len(torch.unique(stacked_digits.splits["train"].y)) == 1000


def test_stacked_digits_channels_are_the_labelled_base_images(stacked_digits: GanDataset) -> None:
    small = GanDataset(
        info=stacked_digits.info,
        splits={k: v.index(torch.arange(2000)) for k, v in stacked_digits.splits.items()},
    )
    _check_channels_come_from_base(small)


def test_stacked_digits_is_deterministic(stacked_digits: GanDataset) -> None:
    again = stacked.load_stacked(stacked.STACKED_DIGITS, DatasetOptions())
    assert again.fingerprint() == stacked_digits.fingerprint()
    # The splits do not repeat one draw: train and test triples differ.
    assert not torch.equal(again.splits["train"].y[:100], again.splits["test"].y[:100])


def test_stacked_mnist_from_fake_files(tmp_path: Path) -> None:
    write_fake_mnist(tmp_path, n_train=100, n_test=40)
    source = dataclasses.replace(stacked.STACKED_MNIST, sizes={"train": 300, "val": 30, "test": 60})
    data = stacked.load_stacked(source, DatasetOptions(data_dir=tmp_path))
    assert (data.info.name, data.info.shape, data.info.num_classes) == (
        "stacked-mnist",
        (3, 28, 28),
        1000,
    )
    assert {k: len(v) for k, v in data.splits.items()} == {"train": 300, "val": 30, "test": 60}
    assert data.info.extras["stacked_base"].info.name == "mnist"
    _check_channels_come_from_base(data)
    assert EVALUATOR_SPEC.check(data.info) is None


def test_stacked_mnist_without_files_is_one_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = {s.name: s for s in stacked.SPECS}["stacked-mnist"]
    with pytest.raises(DataMissingError) as err:
        spec.load(DatasetOptions(data_dir=tmp_path))
    message = str(err.value)
    assert "stacked-mnist" in message and "mnist: no data" in message
    assert str(tmp_path / "MNIST" / "raw") in message and "--download" in message
    assert "\n" not in message
    code = main(
        ["run", "--plugin", "dcgan", "--dataset", "stacked-mnist", "--data-dir", str(tmp_path)]
    )
    assert code == 2
    assert "stacked-mnist is built from mnist" in capsys.readouterr().err


# --- the per-channel evaluator ---------------------------------------------------


class SoftmaxOfPixels:
    """A toy single-channel classifier: softmax of a fixed linear map of the pixels."""

    space = "toy"

    def __init__(self, pixels: int, classes: int) -> None:
        self.weights = torch.randn(pixels, classes, generator=torch.Generator().manual_seed(0))

    def features(self, x: Tensor) -> Tensor:
        return x.flatten(1) @ self.weights

    def class_probs(self, x: Tensor) -> Tensor:
        return torch.softmax(3 * self.features(x), dim=1)

    def protocol(self) -> dict[str, Any]:
        return {"name": "toy", "space": self.space, "test_accuracy": 0.5}


def test_joint_probs_are_the_product_of_the_channels() -> None:
    k = 4
    base = SoftmaxOfPixels(pixels=9, classes=k)
    x = torch.rand(50, 3, 3, 3, generator=torch.Generator().manual_seed(1)) * 2 - 1
    classifier = PerChannelClassifier(base, channels=3, num_base_classes=k)
    p = [base.class_probs(x[:, c : c + 1]) for c in range(3)]
    expected = torch.einsum("na,nb,nc->nabc", *p).reshape(50, k**3)
    joint = classifier.class_probs(x)
    assert torch.allclose(joint, expected, atol=1e-7)
    assert torch.allclose(joint.sum(dim=1), torch.ones(50), atol=1e-5)
    argmaxes = [q.argmax(dim=1) for q in p]
    encoded = argmaxes[0] * k**2 + argmaxes[1] * k + argmaxes[2]
    assert torch.equal(joint.argmax(dim=1), encoded)
    assert torch.equal(classifier.predict(x), encoded)
    features = classifier.features(x)
    assert torch.equal(features[:, k : 2 * k], base.features(x[:, 1:2]))


def test_joint_probs_of_two_channels() -> None:
    a = torch.tensor([[0.2, 0.8]])
    b = torch.tensor([[0.5, 0.25, 0.25]])
    assert torch.allclose(
        joint_class_probs([a, b]), torch.tensor([[0.1, 0.05, 0.05, 0.4, 0.2, 0.2]])
    )


def test_digits_evaluator_per_channel(
    stacked_digits: GanDataset, per_channel: PerChannelClassifier
) -> None:
    assert isinstance(per_channel, PerChannelClassifier) and per_channel.space == SPACE
    base_net = per_channel.base
    x = stacked_digits.splits["test"].x[:500]
    channel_classes = [base_net.class_probs(x[:, c : c + 1]).argmax(dim=1) for c in range(3)]
    probs = per_channel.class_probs(x)
    assert probs.shape == (500, 1000)
    expected = 100 * channel_classes[0] + 10 * channel_classes[1] + channel_classes[2]
    assert torch.equal(probs.argmax(dim=1), expected)
    assert per_channel.features(x).shape == (500, 192)

    record = per_channel.protocol()
    assert record["space"] == SPACE and "per channel" in record["applied"]
    assert record["channel_test_accuracy"] >= 0.9
    test = stacked_digits.splits["test"]
    all_three = torch.stack(
        [base_net.class_probs(test.x[:, c : c + 1]).argmax(dim=1) for c in range(3)], dim=1
    )
    accuracy = float((all_three == _digits_of(test.y)).all(dim=1).double().mean())
    assert record["test_accuracy"] == pytest.approx(accuracy, abs=1e-6)
    # The digits evaluator itself, trained on single digits: the same cached network.
    assert record["weights_sha256"] == base_net.protocol()["weights_sha256"]


def test_bad_stacked_declaration_is_refused() -> None:
    info = DataInfo(
        name="broken", kind="image", shape=(3, 8, 8), fields=("x", "y"), num_classes=1000,
        extras={"stacked_base": "digits"},
    )  # fmt: skip
    assert "not the base GanDataset" in EVALUATOR_SPEC.check(info)


# --- the stacked-modes metric ----------------------------------------------------


def test_every_mode_equally_often() -> None:
    result = count_modes(np.tile(np.arange(1000), 26), 1000)
    assert result.modes_covered == 1000 and result.mode_kl == pytest.approx(0.0, abs=1e-12)


def test_one_mode() -> None:
    result = count_modes(np.full(26_000, 417), 1000)
    assert result.modes_covered == 1
    assert result.mode_kl == pytest.approx(math.log(1000))


def test_uneven_histogram_matches_scipy() -> None:
    rng = np.random.default_rng(0)
    modes = rng.choice(1000, size=26_000, p=rng.dirichlet(np.full(1000, 0.3)))
    counts = np.bincount(modes, minlength=1000)
    result = count_modes(modes, 1000)
    assert result.modes_covered == int((counts > 0).sum()) < 1000
    assert result.mode_kl == pytest.approx(entropy(counts / counts.sum(), np.full(1000, 1e-3)))
    # A higher threshold counts only modes with that many samples.
    assert count_modes(modes, 1000, min_count=30).modes_covered == int((counts >= 30).sum())


def test_half_the_modes_evenly() -> None:
    result = count_modes(np.repeat(np.arange(0, 1000, 2), 7), 1000)
    assert result.modes_covered == 500 and result.mode_kl == pytest.approx(math.log(2))


class ProbsAreSamples:
    """Fakes that already are class probabilities (N x K)."""

    space = "toy"

    def features(self, x: Tensor) -> Tensor:
        return x

    def class_probs(self, x: Tensor) -> Tensor:
        return x

    def protocol(self) -> dict[str, Any]:
        return {"name": self.space}


def _inputs(fake_modes: Tensor, num_classes: int, flag: bool) -> EvalInputs:
    probs = torch.nn.functional.one_hot(fake_modes, num_classes).float()
    extras = {"stacked_modes": True} if flag else {}
    info = DataInfo(
        name="toy", kind="vector", shape=(num_classes,), fields=("x", "y"),
        num_classes=1000, extras=extras,
    )  # fmt: skip
    return EvalInputs(
        info=info,
        real=Batch(x=probs, y=fake_modes),
        fake=probs,
        fake_conditions=Batch(x=probs),
        extractor=ProbsAreSamples(),
    )


def test_metric_reads_the_fakes_argmax_classes() -> None:
    fake_modes = torch.arange(300).repeat(3)  # 300 of 1000 modes, evenly
    values = STACKED_MODES_METRIC.compute(_inputs(fake_modes, 1000, True), {})
    assert values == {
        "stacked_modes": 300.0,
        "stacked_mode_kl": pytest.approx(math.log(1000 / 300)),
    }
    with pytest.raises(ValueError, match="unknown metric params"):
        STACKED_MODES_METRIC.compute(_inputs(fake_modes, 1000, True), {"min_samples": 2})


def test_metric_applies_only_to_stacked_benchmarks() -> None:
    available = {s.name: s for s in BUILTIN_METRICS}
    assert available["stacked-modes"] is STACKED_MODES_METRIC
    fake_modes = torch.arange(100)
    plain = _inputs(fake_modes, 1000, flag=False)
    assert "not a stacked mode benchmark" in why_not_applicable(STACKED_MODES_METRIC, plain)
    assert STACKED_MODES_METRIC not in select_metrics(available, None, plain)
    wrong_width = _inputs(fake_modes, 100, flag=True)
    assert "1000 modes" in why_not_applicable(STACKED_MODES_METRIC, wrong_width)
    stacked_inputs = _inputs(fake_modes, 1000, True)
    assert why_not_applicable(STACKED_MODES_METRIC, stacked_inputs) is None
    assert STACKED_MODES_METRIC in select_metrics(available, None, stacked_inputs)


# --- end to end ----------------------------------------------------------------


def test_cli_run_on_stacked_digits_records_the_mode_count(
    capsys: pytest.CaptureFixture[str],
) -> None:
    argv = ["run", "--plugin", "dcgan", "--dataset", "stacked-digits", "--steps", "20"]
    # Only the metrics this benchmark is about: the rest would add seconds, not checks.
    argv += ["--metric", "stacked-modes,fid,is", "--eval-samples", "2000"]
    assert main([*argv, "--quiet", "--json"]) == 0
    record = json.loads(capsys.readouterr().out)
    assert record["status"] == "completed"
    metrics = record["metrics"]
    modes, kl = metrics[f"stacked_modes[{SPACE}]"], metrics[f"stacked_mode_kl[{SPACE}]"]
    assert 1 <= modes <= 1000 and modes == int(modes)
    assert 0.0 <= kl <= math.log(1000) + 1e-9
    assert record["directions"][f"stacked_mode_kl[{SPACE}]"] == "lower"
    assert record["primary_metric"] == f"stacked_mode_kl[{SPACE}]"
    assert f"fid[{SPACE}]" in metrics and 1.0 <= metrics[f"is[{SPACE}]"] <= 1000.0
    protocol = record["protocol"]
    assert protocol["n_fake"] == 2000 and protocol["metric_params"]["stacked-modes"] == {
        "min_count": 1
    }
    assert "per channel" in protocol["feature_extractor"]["applied"]
    assert protocol["selection"]["metric"] == f"stacked_mode_kl[{SPACE}]"
