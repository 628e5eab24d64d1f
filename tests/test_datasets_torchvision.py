"""``mnist``, ``fashion-mnist`` and ``cifar10`` on small fake files in the real formats."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
import torch
from fakedata import write_fake_cifar10, write_fake_mnist

from ganbench.api import DataMissingError, DatasetOptions, DatasetSpec, GanbenchError
from ganbench_plugins import torchvision_datasets as tvd


def _spec(name: str) -> DatasetSpec:
    specs: list[DatasetSpec] = []
    tvd.ganbench_register_datasets(specs.append)
    return {s.name: s for s in specs}[name]


def test_registers_three_datasets() -> None:
    specs: list[DatasetSpec] = []
    tvd.ganbench_register_datasets(specs.append)
    assert [s.name for s in specs] == ["mnist", "fashion-mnist", "cifar10"]
    assert all(s.eval_samples == 10_000 and s.primary_metric == "fid" for s in specs)


def test_fake_cifar10_loads(tmp_path: Path) -> None:
    write_fake_cifar10(tmp_path, n_train_per_batch=100, n_test=50)
    data = _spec("cifar10").load(DatasetOptions(data_dir=tmp_path))
    info = data.info
    assert (info.kind, info.shape, info.fields, info.num_classes) == (
        "image",
        (3, 32, 32),
        ("x", "y"),
        10,
    )
    assert info.extras["classes"][0] == "airplane"
    assert {k: len(v) for k, v in data.splits.items()} == {"train": 450, "val": 50, "test": 50}
    for split in data.splits.values():
        assert split.x.dtype == torch.float32 and split.y.dtype == torch.int64
        assert split.x.min() >= -1.0 and split.x.max() <= 1.0
        assert 0 <= split.y.min() and split.y.max() <= 9
    assert (
        data.fingerprint() == _spec("cifar10").load(DatasetOptions(data_dir=tmp_path)).fingerprint()
    )


def test_cifar10_pixels_and_labels_match_the_files(tmp_path: Path) -> None:
    folder = write_fake_cifar10(tmp_path, n_train_per_batch=20, n_test=30)
    pixels, labels = tvd.read_cifar_batch(folder / "test_batch")
    test = _spec("cifar10").load(DatasetOptions(data_dir=tmp_path)).splits["test"]
    assert torch.equal(test.y, torch.from_numpy(labels))
    expected = torch.from_numpy(pixels.astype(np.float32)) / 127.5 - 1
    assert torch.allclose(test.x, expected)


def test_fake_cifar10_is_what_torchvision_reads(tmp_path: Path, monkeypatch) -> None:
    """The fake's format is torchvision's (md5 checks off: the bytes are not official)."""
    from torchvision.datasets import cifar

    write_fake_cifar10(tmp_path, n_train_per_batch=10, n_test=5)
    monkeypatch.setattr(cifar, "check_integrity", lambda *args, **kwargs: True)
    theirs = cifar.CIFAR10(str(tmp_path), train=False)
    ours = _spec("cifar10").load(DatasetOptions(data_dir=tmp_path)).splits["test"]
    assert theirs.targets == ours.y.tolist()
    their_x = torch.from_numpy(theirs.data).permute(0, 3, 1, 2).float() / 127.5 - 1
    assert torch.allclose(their_x, ours.x)


@pytest.mark.parametrize(
    ("name", "folder"), [("mnist", "MNIST"), ("fashion-mnist", "FashionMNIST")]
)
def test_fake_mnist_like_loads(tmp_path: Path, name: str, folder: str) -> None:
    write_fake_mnist(tmp_path, n_train=100, n_test=40, folder_name=folder)
    data = _spec(name).load(DatasetOptions(data_dir=tmp_path))
    assert (data.info.shape, data.info.num_classes) == ((1, 28, 28), 10)
    assert {k: len(v) for k, v in data.splits.items()} == {"train": 90, "val": 10, "test": 40}
    assert all(s.x.min() >= -1.0 and s.x.max() <= 1.0 for s in data.splits.values())


def test_image_size_resizes(tmp_path: Path) -> None:
    write_fake_mnist(tmp_path, n_train=20, n_test=10)
    data = _spec("mnist").load(DatasetOptions(data_dir=tmp_path, image_size=32))
    assert data.info.shape == (1, 32, 32)
    assert data.splits["test"].x.shape == (10, 1, 32, 32)
    assert data.splits["test"].x.abs().max() <= 1.0


def test_train_val_split_is_fixed_and_disjoint() -> None:
    train, val = tvd.train_val_indices(1000)
    again_train, again_val = tvd.train_val_indices(1000)
    assert torch.equal(train, again_train) and torch.equal(val, again_val)
    assert (len(train), len(val)) == (900, 100)
    assert sorted(torch.cat([train, val]).tolist()) == list(range(1000))


@pytest.mark.parametrize(
    ("name", "subfolder", "expected"),
    [
        ("cifar10", "cifar-10-batches-py", "data_batch_1..5 and test_batch"),
        ("mnist", "MNIST/raw", "train-images-idx3-ubyte"),
        ("fashion-mnist", "FashionMNIST/raw", "t10k-labels-idx1-ubyte"),
    ],
)
def test_missing_folder_names_folder_and_files(
    tmp_path: Path, name: str, subfolder: str, expected: str
) -> None:
    with pytest.raises(DataMissingError) as caught:
        _spec(name).load(DatasetOptions(data_dir=tmp_path / "nowhere"))
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(f"{name}: no data in ")
    assert str(tmp_path / "nowhere" / subfolder) in message
    assert expected in message and "--download" in message


def test_partly_missing_files_are_named(tmp_path: Path) -> None:
    folder = write_fake_cifar10(tmp_path)
    (folder / "data_batch_3").unlink()
    with pytest.raises(DataMissingError, match=r"missing data_batch_3 in .*cifar-10-batches-py"):
        _spec("cifar10").load(DatasetOptions(data_dir=tmp_path))


def test_default_data_dir_comes_from_the_environment(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("GANBENCH_DATA_DIR", str(tmp_path))
    assert tvd.default_data_dir() == tmp_path
    write_fake_mnist(tmp_path, n_train=20, n_test=10)
    assert len(_spec("mnist").load(DatasetOptions()).splits["test"]) == 10
    monkeypatch.delenv("GANBENCH_DATA_DIR")
    monkeypatch.setenv("GANBENCH_CACHE_DIR", str(tmp_path / "cache"))
    assert tvd.default_data_dir() == tmp_path / "cache" / "data"
    monkeypatch.delenv("GANBENCH_CACHE_DIR")
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    assert tvd.default_data_dir() == Path.home() / ".cache" / "ganbench" / "data"


def test_corrupt_cifar_file_is_a_one_line_error(tmp_path: Path) -> None:
    folder = write_fake_cifar10(tmp_path)
    (folder / "data_batch_2").write_bytes((folder / "data_batch_2").read_bytes()[:500])
    with pytest.raises(GanbenchError) as caught:
        _spec("cifar10").load(DatasetOptions(data_dir=tmp_path))
    message = str(caught.value)
    assert "\n" not in message
    assert str(folder) in message and "data_batch_2" in message


def test_cifar_pickle_with_foreign_objects_is_refused(tmp_path: Path) -> None:
    folder = write_fake_cifar10(tmp_path)
    # A pickle that would call os.system on load must not run.
    payload = b"cos\nsystem\n(S'echo pwned'\ntR."
    (folder / "test_batch").write_bytes(payload)
    with pytest.raises(GanbenchError, match="unexpected object os.system"):
        _spec("cifar10").load(DatasetOptions(data_dir=tmp_path))


@pytest.mark.parametrize("cut", [0, 3, 1000])
def test_corrupt_mnist_file_is_a_one_line_error(tmp_path: Path, cut: int) -> None:
    raw = write_fake_mnist(tmp_path)
    path = raw / "train-images-idx3-ubyte"
    path.write_bytes(path.read_bytes()[:cut])
    with pytest.raises(GanbenchError) as caught:
        _spec("mnist").load(DatasetOptions(data_dir=tmp_path))
    message = str(caught.value)
    assert "\n" not in message and str(raw) in message


def test_download_failure_is_a_one_line_error(tmp_path: Path, monkeypatch) -> None:
    def offline(root: Path) -> None:
        raise OSError("<urlopen error [Errno -3] Temporary failure in name resolution>")

    source = dataclasses.replace(tvd.CIFAR10_SOURCE, download=offline)
    with pytest.raises(DataMissingError, match=r"cifar10: download into .* failed \(<urlopen"):
        tvd.load_torchvision(source, DatasetOptions(data_dir=tmp_path, download=True))
