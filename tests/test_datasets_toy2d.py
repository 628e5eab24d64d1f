"""``ring8`` and ``grid25``: PacGAN's mixtures, sampled deterministically."""

from __future__ import annotations

import math

import pytest
import torch

from ganbench.api import DatasetOptions, DatasetSpec
from ganbench_plugins import toy2d


def _load(name: str):
    specs: list[DatasetSpec] = []
    toy2d.ganbench_register_datasets(specs.append)
    spec = {s.name: s for s in specs}[name]
    return spec, spec.load(DatasetOptions())


def test_registers_both_mixtures() -> None:
    specs: list[DatasetSpec] = []
    toy2d.ganbench_register_datasets(specs.append)
    assert sorted(s.name for s in specs) == ["grid25", "ring8"]
    for spec in specs:
        assert (spec.kind, spec.feature_extractor, spec.primary_metric) == (
            "vector",
            "identity",
            "coverage",
        )
        assert spec.eval_samples == 2500


def test_primary_metric_resolves_to_prdc_coverage_in_identity_space() -> None:
    """Selection and ranking need the full name and direction of the primary metric."""
    from ganbench.eval.protocol import primary_metric_name, primary_metric_spec
    from ganbench.features.identity import IdentityFeatures
    from ganbench.metrics.builtin import BUILTIN_METRICS

    specs: list[DatasetSpec] = []
    toy2d.ganbench_register_datasets(specs.append)
    metrics = {metric.name: metric for metric in BUILTIN_METRICS}
    for spec in specs:
        metric = primary_metric_spec(metrics, spec.primary_metric)
        assert metric is not None and metric.name == "prdc"
        assert metric.outputs[spec.primary_metric] == "higher"
        name = primary_metric_name(metrics, spec.primary_metric, IdentityFeatures())
        assert name == "coverage[identity]"
        # Without a feature space there is no coverage to select or rank on.
        assert primary_metric_name(metrics, spec.primary_metric, None) is None


def test_mode_positions() -> None:
    _, ring = _load("ring8")
    _, grid = _load("grid25")
    ring_modes = torch.tensor(ring.info.extras["modes"])
    assert ring_modes.shape == (8, 2)
    assert torch.allclose(ring_modes.norm(dim=1), torch.ones(8))
    assert torch.allclose(ring_modes[2], torch.tensor([0.0, 1.0]), atol=1e-6)  # angle pi/2
    assert ring.info.extras["mode_std"] == 0.01
    grid_modes = {tuple(m) for m in grid.info.extras["modes"]}
    values = (-4.0, -2.0, 0.0, 2.0, 4.0)
    assert grid_modes == {(a, b) for a in values for b in values}
    assert grid.info.extras["mode_std"] == 0.05


@pytest.mark.parametrize("name", ["ring8", "grid25"])
def test_samples_sit_on_the_modes_with_the_given_std(name: str) -> None:
    _, data = _load(name)
    assert (data.info.kind, data.info.shape, data.info.fields) == ("vector", (2,), ("x",))
    assert {k: len(v) for k, v in data.splits.items()} == {
        "train": 50_000,
        "val": 2_500,
        "test": 2_500,
    }
    modes = torch.tensor(data.info.extras["modes"])
    std = data.info.extras["mode_std"]
    x = data.splits["train"].x
    assert x.dtype == torch.float32 and data.splits["train"].y is None
    nearest = torch.cdist(x, modes).argmin(dim=1)
    offsets = x - modes[nearest]
    # Per-axis std of the offsets matches the mixture's; means sit on the modes.
    assert offsets.std(dim=0) == pytest.approx([std, std], rel=0.03)
    for k in range(len(modes)):
        assert offsets[nearest == k].mean(dim=0).abs().max() < 4 * std / math.sqrt(1000)
    # Equal weights: every mode holds about 1/K of the points.
    counts = torch.bincount(nearest, minlength=len(modes)).float() / len(x)
    assert counts.sub(1 / len(modes)).abs().max() < 0.01


@pytest.mark.parametrize("name", ["ring8", "grid25"])
def test_splits_are_fixed_and_independent(name: str) -> None:
    _, first = _load(name)
    _, second = _load(name)
    assert first.fingerprint() == second.fingerprint()
    torch.manual_seed(123)  # a run's seed must not matter
    _, third = _load(name)
    assert third.fingerprint() == first.fingerprint()
    assert not torch.equal(first.splits["val"].x, first.splits["test"].x)
    assert not torch.equal(first.splits["val"].x, first.splits["train"].x[:2500])
