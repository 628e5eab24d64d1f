"""Small fake datasets written in the real on-disk formats, for loader tests.

Each writer produces the files a torchvision ``root`` holds after a real
download (same names, same binary layout), filled with seeded random
pixels and labels, so the loaders' parsing is tested without the data.
Only the bytes differ from the official files, so md5 checks fail.
"""

from __future__ import annotations

import pickle
import struct
from pathlib import Path

import numpy as np

CIFAR10_LABEL_NAMES = [
    "airplane", "automobile", "bird", "cat", "deer",
    "dog", "frog", "horse", "ship", "truck",
]  # fmt: skip


def write_fake_cifar10(
    root: Path, n_train_per_batch: int = 100, n_test: int = 50, seed: int = 0
) -> Path:
    """Write ``root/cifar-10-batches-py`` as the official python tarball unpacks.

    Files: ``data_batch_1..5`` and ``test_batch`` (pickled dicts with
    ``data``: uint8 N x 3072, the R, G, B planes of a 32 x 32 image in row
    order, ``labels``: list of int 0..9, ``batch_label``, ``filenames``) and
    ``batches.meta`` (``label_names``, ``num_cases_per_batch``, ``num_vis``).
    The official files are Python 2 pickles whose keys load as ``str`` with
    ``encoding="latin1"`` (torchvision's way); ``str`` keys reproduce that.

    Returns:
        The ``cifar-10-batches-py`` folder.
    """
    rng = np.random.default_rng(seed)
    folder = Path(root) / "cifar-10-batches-py"
    folder.mkdir(parents=True, exist_ok=True)
    batches = [(f"data_batch_{i}", n_train_per_batch) for i in range(1, 6)]
    for file_name, n in [*batches, ("test_batch", n_test)]:
        entry = {
            "batch_label": f"fake {file_name}",
            "labels": [int(v) for v in rng.integers(0, 10, n)],
            "data": rng.integers(0, 256, (n, 3 * 32 * 32), dtype=np.uint8),
            "filenames": [f"fake_{file_name}_{i}.png" for i in range(n)],
        }
        _write_pickle(folder / file_name, entry)
    meta = {
        "label_names": CIFAR10_LABEL_NAMES,
        "num_cases_per_batch": n_train_per_batch,
        "num_vis": 3 * 32 * 32,
    }
    _write_pickle(folder / "batches.meta", meta)
    return folder


def write_fake_mnist(
    root: Path, n_train: int = 100, n_test: int = 50, seed: int = 0, folder_name: str = "MNIST"
) -> Path:
    """Write ``root/<folder_name>/raw`` with the four unpacked idx-ubyte files.

    The idx format (LeCun's MNIST page): a big-endian magic number
    ``0x0000 0x08 ndim`` (0x08 = unsigned byte), ``ndim`` big-endian int32
    sizes, then the raw bytes. Images: N x 28 x 28, labels: N values 0..9.
    ``folder_name="FashionMNIST"`` gives the Fashion-MNIST layout.

    Returns:
        The ``raw`` folder.
    """
    rng = np.random.default_rng(seed)
    raw = Path(root) / folder_name / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        images = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
        labels = rng.integers(0, 10, n, dtype=np.uint8)
        _write_idx(raw / f"{prefix}-images-idx3-ubyte", images)
        _write_idx(raw / f"{prefix}-labels-idx1-ubyte", labels)
    return raw


def _write_idx(path: Path, array: np.ndarray) -> None:
    """One uint8 idx file: magic 0x0000 08 ndim, sizes, data (all big-endian)."""
    header = struct.pack(">BBBB", 0, 0, 0x08, array.ndim)
    header += struct.pack(f">{array.ndim}I", *array.shape)
    path.write_bytes(header + np.ascontiguousarray(array, dtype=np.uint8).tobytes())


def _write_pickle(path: Path, obj: object) -> None:
    # Protocol 2: the newest a Python 2 cPickle (which wrote the originals) reads.
    with path.open("wb") as handle:
        pickle.dump(obj, handle, protocol=2)
