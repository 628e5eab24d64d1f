"""The ``digits`` dataset: shapes, ranges, labels, fixed splits, resizing."""

from __future__ import annotations

import torch

from ganbench.api import DatasetOptions, DatasetSpec
from ganbench_plugins import digits


def test_registers_one_image_spec() -> None:
    specs: list[DatasetSpec] = []
    digits.ganbench_register_datasets(specs.append)
    assert [s.name for s in specs] == ["digits"]
    spec = specs[0]
    assert (spec.kind, spec.feature_extractor, spec.primary_metric) == ("image", "evaluator", "fid")
    assert "load_digits" in spec.description


def test_shapes_ranges_labels_and_split_sizes() -> None:
    data = digits.load_digits(DatasetOptions())
    info = data.info
    assert (info.kind, info.shape, info.fields, info.num_classes) == (
        "image",
        (1, 8, 8),
        ("x", "y"),
        10,
    )
    assert {k: len(v) for k, v in data.splits.items()} == {"train": 1078, "val": 359, "test": 360}
    for split in data.splits.values():
        assert split.x.dtype == torch.float32 and split.y.dtype == torch.int64
        assert split.x.shape[1:] == (1, 8, 8)
        assert split.x.min() >= -1.0 and split.x.max() <= 1.0
    x = torch.cat([s.x for s in data.splits.values()])
    y = torch.cat([s.y for s in data.splits.values()])
    # Pixel values 0..16 map to exactly -1..1; all ten classes appear.
    assert x.min() == -1.0 and x.max() == 1.0
    assert set(y.tolist()) == set(range(10))


def test_loading_is_deterministic() -> None:
    first = digits.load_digits(DatasetOptions())
    second = digits.load_digits(DatasetOptions())
    assert first.fingerprint() == second.fingerprint()
    for name in ("train", "val", "test"):
        assert torch.equal(first.splits[name].x, second.splits[name].x)
        assert torch.equal(first.splits[name].y, second.splits[name].y)


def test_image_size_resizes() -> None:
    native = digits.load_digits(DatasetOptions(image_size=8))
    resized = digits.load_digits(DatasetOptions(image_size=16))
    assert native.info.shape == (1, 8, 8)
    assert resized.info.shape == (1, 16, 16)
    assert resized.splits["train"].x.shape == (1078, 1, 16, 16)
    assert resized.splits["train"].x.abs().max() <= 1.0
    assert torch.equal(resized.splits["train"].y, native.splits["train"].y)
    assert resized.fingerprint() != native.fingerprint()
