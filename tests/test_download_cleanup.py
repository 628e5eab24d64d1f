"""A failed ``--download`` leaves the data folder as it was: no empty folders, no partial files.

Nothing here reaches the network: torchvision's archive download is replaced
by one that writes part of a file and then fails as offline, and any real
``urlopen`` would fail the test.
"""

from __future__ import annotations

import dataclasses
import urllib.request
from pathlib import Path
from urllib.error import URLError

import pytest
from fakedata import write_fake_cifar10

from ganbench.api import DataMissingError, DatasetOptions
from ganbench_plugins import torchvision_datasets as tvd


@pytest.fixture(autouse=True)
def _offline(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """torchvision's download writes a partial archive, then fails as offline; records the URLs."""
    from torchvision.datasets import mnist

    urls: list[str] = []

    def partial_then_offline(url: str, download_root: str, filename: str, md5: str) -> None:
        urls.append(url)
        (Path(download_root) / filename).write_bytes(b"\x1f\x8b partial")
        raise URLError("[Errno -3] Temporary failure in name resolution")

    def no_network(*args, **kwargs):
        raise AssertionError("a test tried to reach the network")

    monkeypatch.setattr(mnist, "download_and_extract_archive", partial_then_offline)
    monkeypatch.setattr(urllib.request, "urlopen", no_network)
    return urls


def _tree(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*"))


def test_offline_mnist_download_leaves_no_empty_raw_folder(tmp_path: Path, _offline) -> None:
    root = tmp_path / "data"
    root.mkdir()
    with pytest.raises(DataMissingError, match=r"mnist: download into .* failed"):
        tvd.load_torchvision(tvd.MNIST_SOURCE, DatasetOptions(data_dir=root, download=True))
    assert _offline, "the download was not attempted"
    assert _tree(root) == []  # not even MNIST/ or MNIST/raw/


def test_files_that_were_there_stay(tmp_path: Path) -> None:
    root = tmp_path / "data"
    cifar = write_fake_cifar10(root, n_train_per_batch=2, n_test=2)
    raw = root / "MNIST" / "raw"
    raw.mkdir(parents=True)
    (raw / "train-images-idx3-ubyte").write_bytes(b"the user's own bytes")
    before = _tree(root)
    with pytest.raises(DataMissingError):
        tvd.load_torchvision(tvd.MNIST_SOURCE, DatasetOptions(data_dir=root, download=True))
    assert _tree(root) == before
    assert (raw / "train-images-idx3-ubyte").read_bytes() == b"the user's own bytes"
    assert cifar.is_dir()


def test_a_data_dir_the_download_created_is_removed(tmp_path: Path) -> None:
    root = tmp_path / "new" / "data"

    def fails_half_way(target: Path) -> None:
        folder = target / "cifar-10-batches-py"
        folder.mkdir(parents=True)
        (folder / "data_batch_1").write_bytes(b"partial")
        raise OSError("connection reset")

    source = dataclasses.replace(tvd.CIFAR10_SOURCE, download=fails_half_way)
    with pytest.raises(DataMissingError, match="connection reset"):
        tvd.load_torchvision(source, DatasetOptions(data_dir=root, download=True))
    assert list(tmp_path.iterdir()) == []


def test_an_interrupted_download_is_undone_too(tmp_path: Path) -> None:
    def interrupted(target: Path) -> None:
        (target / "cifar-10-python.tar.gz").write_bytes(b"partial")
        raise KeyboardInterrupt

    root = tmp_path / "data"
    root.mkdir()
    source = dataclasses.replace(tvd.CIFAR10_SOURCE, download=interrupted)
    with pytest.raises(KeyboardInterrupt):
        tvd.load_torchvision(source, DatasetOptions(data_dir=root, download=True))
    assert _tree(root) == []
