"""``mnist``, ``fashion-mnist`` and ``cifar10``, read from torchvision's folder layout.

The user's data folder (``--data-dir``; default below) is a torchvision
``root``::

    <root>/MNIST/raw/{train,t10k}-{images-idx3,labels-idx1}-ubyte
    <root>/FashionMNIST/raw/{train,t10k}-{images-idx3,labels-idx1}-ubyte
    <root>/cifar-10-batches-py/{data_batch_1..5,test_batch}

so a folder already filled by ``torchvision.datasets`` works as is.
With ``download`` the missing files are fetched by ``torchvision.datasets``
(which verifies the archives' md5). Without it, missing files are a
:class:`~ganbench.api.DataMissingError` that names the folder and files.

Reading: MNIST and Fashion-MNIST go through ``torchvision.datasets.MNIST`` /
``FashionMNIST``, which only check that the raw files exist. CIFAR-10's
batches are read here, in the format documented on the CIFAR page (pickled
dicts with ``data``: uint8 N x 3072, planes R, G, B, and ``labels``),
because ``torchvision.datasets.CIFAR10`` insists on the md5 of every batch
file: that would refuse anything but the exact official bytes (test
fixtures included) and hash 180 MB on each load. A damaged file still fails
loudly: the parser checks the pickle, the array shapes and the labels, and
every loaded dataset is fingerprinted (sha256 of its splits) in the run's
protocol record, so silently different bytes cannot pass as the same data.

Splits: the official test set is ``test``; the official training set is
split by a fixed permutation (seed 0) into ``train`` (90%) and ``val``
(the last 10%), independent of any run seed.
"""

from __future__ import annotations

import os
import pickle
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

import ganbench
from ganbench.api import (
    Batch,
    DataInfo,
    DataMissingError,
    DatasetOptions,
    DatasetSpec,
    GanDataset,
)
from ganbench_plugins._image_utils import uint8_to_images

#: Environment variable naming the default data folder.
DATA_DIR_ENV = "GANBENCH_DATA_DIR"
#: Fraction of the official training set held out as the validation split.
VAL_FRACTION = 0.1
SPLIT_SEED = 0

#: What reading a damaged file can raise, from torchvision's parsers or ours.
_READ_ERRORS = (
    AssertionError,
    EOFError,
    IndexError,
    KeyError,
    OSError,
    RuntimeError,
    TypeError,
    ValueError,
    pickle.UnpicklingError,
)

PixelsAndLabels = tuple[np.ndarray, np.ndarray]


def default_data_dir() -> Path:
    """The data folder used when ``options.data_dir`` is None.

    ``$GANBENCH_DATA_DIR`` if set, else ``data`` in ganbench's cache folder
    (``$GANBENCH_CACHE_DIR``, else ``$XDG_CACHE_HOME/ganbench``, else
    ``~/.cache/ganbench``): the same rule as the core's default, repeated
    here because plugins may use only the public API.
    """
    if os.environ.get(DATA_DIR_ENV):
        return Path(os.environ[DATA_DIR_ENV]).expanduser()
    if os.environ.get("GANBENCH_CACHE_DIR"):
        return Path(os.environ["GANBENCH_CACHE_DIR"]).expanduser() / "data"
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache).expanduser() / "ganbench" / "data"


@dataclass(frozen=True)
class TorchvisionSource:
    """Where one dataset lives under the root and how to read it.

    Attributes:
        name: the registered dataset name.
        subfolder: the files' folder relative to the root.
        files: the file names that must exist there.
        expected: the files and their origin, as the error message says them.
        read: ``read(root, train) -> (pixels, labels)``: uint8 N x H x W or
            N x C x H x W, and int64 N labels.
        download: ``download(root)`` fetches the files into the root.
        shape: per-image native shape (C, H, W), checked on load.
        classes: class names, label order.
    """

    name: str
    subfolder: str
    files: tuple[str, ...]
    expected: str
    read: Callable[[Path, bool], PixelsAndLabels]
    download: Callable[[Path], None]
    shape: tuple[int, int, int]
    classes: tuple[str, ...]


# --- MNIST and Fashion-MNIST: through torchvision.datasets -------------------


def _read_mnist_like(class_name: str, root: Path, train: bool) -> PixelsAndLabels:
    """Pixels uint8 N x 28 x 28 and labels int64 N of one official split."""
    from torchvision import datasets  # imported on use: keeps plugin loading fast

    dataset = getattr(datasets, class_name)(root=str(root), train=train, download=False)
    return dataset.data.numpy(), dataset.targets.numpy().astype(np.int64)


def _download_mnist_like(class_name: str, root: Path) -> None:
    from torchvision import datasets

    getattr(datasets, class_name)(root=str(root), train=True, download=True)


_MNIST_FILES = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)


def _mnist_like_source(name: str, class_name: str, classes: tuple[str, ...]) -> TorchvisionSource:
    return TorchvisionSource(
        name=name,
        subfolder=f"{class_name}/raw",
        files=_MNIST_FILES,
        expected=", ".join(_MNIST_FILES) + " (the gunzipped .gz files of the official site)",
        read=partial(_read_mnist_like, class_name),
        download=partial(_download_mnist_like, class_name),
        shape=(1, 28, 28),
        classes=classes,
    )


# --- CIFAR-10: the python batches, read here ---------------------------------

CIFAR10_FOLDER = "cifar-10-batches-py"
CIFAR10_TRAIN_FILES = tuple(f"data_batch_{i}" for i in range(1, 6))
CIFAR10_TEST_FILE = "test_batch"
CIFAR10_CLASSES = (
    "airplane", "automobile", "bird", "cat", "deer",
    "dog", "frog", "horse", "ship", "truck",
)  # fmt: skip

# The one function numpy pickles an ndarray with, whatever numpy's version
# calls its module (numpy.core.multiarray in the official Python 2 files).
_NUMPY_RECONSTRUCT = np.zeros(0).__reduce__()[0]


class _ArrayUnpickler(pickle.Unpickler):
    """Unpickles dicts, lists, strings, numbers and numpy arrays, nothing else.

    A pickle can run arbitrary code on load; the batch files come from the
    user's disk, so only the globals a CIFAR batch needs are allowed.
    """

    _ALLOWED = {
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("_codecs", "encode"),  # bytes written by Python 3 with protocol 2
    }

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in self._ALLOWED:
            raise pickle.UnpicklingError(f"unexpected object {module}.{name} in a CIFAR batch")
        if name == "_reconstruct":
            return _NUMPY_RECONSTRUCT
        return super().find_class(module, name)


def read_cifar_batch(path: Path) -> PixelsAndLabels:
    """One CIFAR-10 batch file: pixels uint8 N x 3 x 32 x 32, labels int64 N.

    The official files are Python 2 pickles: decoding them as latin-1 (like
    torchvision) gives ``str`` keys; the bytes-key form is accepted too.
    """
    with path.open("rb") as handle:
        entry = _ArrayUnpickler(handle, encoding="latin1").load()
    if not isinstance(entry, dict):
        raise ValueError(f"expected a dict, got {type(entry).__name__}")
    entry = {k.decode("latin1") if isinstance(k, bytes) else k: v for k, v in entry.items()}
    data = np.asarray(entry["data"])
    labels = np.asarray(entry["labels"], dtype=np.int64)
    if data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3 * 32 * 32:
        raise ValueError(f"data is {data.dtype} {data.shape}, expected uint8 N x 3072")
    if labels.shape != (data.shape[0],):
        raise ValueError(f"{labels.shape[0]} labels for {data.shape[0]} images")
    # Each row holds the R plane, then G, then B, each row-major: NCHW as is.
    return data.reshape(-1, 3, 32, 32), labels


def _read_cifar10(root: Path, train: bool) -> PixelsAndLabels:
    folder = root / CIFAR10_FOLDER
    names = CIFAR10_TRAIN_FILES if train else (CIFAR10_TEST_FILE,)
    parts = []
    for file_name in names:
        try:
            parts.append(read_cifar_batch(folder / file_name))
        except _READ_ERRORS as err:
            # Name the file here: the caller only knows the folder.
            raise ValueError(f"{file_name}: {_one_line(err)}") from err
    pixels = np.concatenate([p for p, _ in parts])
    labels = np.concatenate([lab for _, lab in parts])
    return pixels, labels


def _download_cifar10(root: Path) -> None:
    from torchvision import datasets

    datasets.CIFAR10(root=str(root), train=True, download=True)


CIFAR10_SOURCE = TorchvisionSource(
    name="cifar10",
    subfolder=CIFAR10_FOLDER,
    files=(*CIFAR10_TRAIN_FILES, CIFAR10_TEST_FILE),
    expected="data_batch_1..5 and test_batch from cifar-10-python.tar.gz",
    read=_read_cifar10,
    download=_download_cifar10,
    shape=(3, 32, 32),
    classes=CIFAR10_CLASSES,
)

MNIST_SOURCE = _mnist_like_source("mnist", "MNIST", tuple(str(d) for d in range(10)))
FASHION_MNIST_SOURCE = _mnist_like_source(
    "fashion-mnist",
    "FashionMNIST",
    ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
     "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"),
)  # fmt: skip


# --- loading -----------------------------------------------------------------


def _one_line(err: BaseException) -> str:
    """An exception as one short line (some, e.g. assertions, have no text)."""
    text = str(err).strip().splitlines()
    return text[0] if text else type(err).__name__


def _paths_a_download_touches(root: Path, subfolder: str) -> set[Path]:
    """The entries of ``root`` and everything below the dataset's own top folder.

    torchvision writes only there: the archive next to the data (CIFAR-10's
    tarball in the root) and the files in ``<root>/<Name>/raw`` or the
    extracted folder. Other datasets' files in the root are not walked.
    """
    if not root.is_dir():
        return set()
    top = root / Path(subfolder).parts[0]
    paths = set(root.iterdir())
    if top.is_dir():
        paths |= set(top.rglob("*"))
    return paths


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    elif path.exists() or path.is_symlink():
        path.unlink(missing_ok=True)


@contextmanager
def _undone_on_failure(root: Path, subfolder: str) -> Iterator[None]:
    """Remove every folder and file the block creates under ``root`` if it raises.

    A download that fails half-way (offline, a cut connection, a bad md5,
    Ctrl-C) leaves the data folder as it was: no empty ``MNIST/raw/``, no
    partial archive that the next attempt would trip over. Files that were
    there before are kept.
    """
    created_top = None  # the outermost folder the block creates, if root is new
    if not root.exists():
        created_top = root
        while not created_top.parent.exists():
            created_top = created_top.parent
    before = _paths_a_download_touches(root, subfolder)
    try:
        yield
    except BaseException:
        if created_top is not None:
            _remove(created_top)
        else:
            # Shallowest first: a new folder goes with everything in it.
            created = _paths_a_download_touches(root, subfolder) - before
            for path in sorted(created, key=lambda p: len(p.parts)):
                _remove(path)
        raise


def _ensure_files(source: TorchvisionSource, options: DatasetOptions, root: Path) -> Path:
    """The dataset's folder, once every file is there; downloads if allowed."""
    folder = root / source.subfolder

    def missing() -> list[str]:
        return [f for f in source.files if not (folder / f).is_file()]

    if missing() and options.download:
        try:
            with _undone_on_failure(root, source.subfolder):
                source.download(root)
        except _READ_ERRORS as err:
            raise DataMissingError(
                f"{source.name}: download into {root} failed ({_one_line(err)}); "
                f"put {source.expected} in {folder} by hand"
            ) from err
    absent = missing()
    if absent:
        what = "no data" if len(absent) == len(source.files) else f"missing {', '.join(absent)}"
        raise DataMissingError(
            f"{source.name}: {what} in {folder} (expected {source.expected}); "
            "put the files there or pass --download when online"
        )
    return folder


def _read_split(
    source: TorchvisionSource, root: Path, folder: Path, train: bool
) -> PixelsAndLabels:
    """One official split, validated; a damaged file is a one-line error."""
    split = "training" if train else "test"
    try:
        pixels, labels = source.read(root, train)
        if pixels.ndim == 3:
            pixels = pixels[:, None]
        if tuple(pixels.shape[1:]) != source.shape:
            raise ValueError(f"images are {tuple(pixels.shape[1:])}, expected {source.shape}")
        if len(labels) != len(pixels):
            raise ValueError(f"{len(labels)} labels for {len(pixels)} images")
        if len(labels) and (labels.min() < 0 or labels.max() >= len(source.classes)):
            raise ValueError(f"labels outside 0..{len(source.classes) - 1}")
    except _READ_ERRORS as err:
        raise DataMissingError(
            f"{source.name}: cannot read the {split} files in {folder} ({_one_line(err)}); "
            "replace them with intact copies or delete them and pass --download when online"
        ) from err
    return pixels, labels


def train_val_indices(n: int) -> tuple[Tensor, Tensor]:
    """Split ``n`` official training rows: the last 10% of a seed-0 permutation is val.

    Returns sorted int64 index tensors (train, val); depends only on ``n``.
    """
    perm = torch.randperm(n, generator=torch.Generator().manual_seed(SPLIT_SEED))
    n_val = int(round(n * VAL_FRACTION))
    return perm[: n - n_val].sort().values, perm[n - n_val :].sort().values


def load_torchvision(source: TorchvisionSource, options: DatasetOptions) -> GanDataset:
    """Load one dataset from ``options.data_dir`` (or :func:`default_data_dir`).

    Returns:
        Splits with ``x`` float32 N x C x S x S in [-1, 1] (pixel / 127.5 - 1;
        S = ``options.image_size`` or the native 28 / 32) and ``y`` int64.
        Full-size MNIST is 54,000 / 6,000 / 10,000 rows, CIFAR-10
        45,000 / 5,000 / 10,000.

    Raises:
        DataMissingError: files absent (and not downloadable) or unreadable.
    """
    root = Path(options.data_dir).expanduser() if options.data_dir else default_data_dir()
    folder = _ensure_files(source, options, root)
    train_pixels, train_labels = _read_split(source, root, folder, train=True)
    test_pixels, test_labels = _read_split(source, root, folder, train=False)

    def to_batch(pixels: np.ndarray, labels: np.ndarray) -> Batch:
        # Index the uint8 pixels before converting, so only the float split
        # (never a float copy of the whole training set) is materialised.
        x = uint8_to_images(
            np.ascontiguousarray(pixels), channels_last=False, size=options.image_size
        )
        return Batch(x=x, y=torch.from_numpy(np.ascontiguousarray(labels, dtype=np.int64)))

    train_idx, val_idx = train_val_indices(len(train_labels))
    splits = {
        "train": to_batch(train_pixels[train_idx.numpy()], train_labels[train_idx.numpy()]),
        "val": to_batch(train_pixels[val_idx.numpy()], train_labels[val_idx.numpy()]),
        "test": to_batch(test_pixels, test_labels),
    }
    info = DataInfo(
        name=source.name,
        kind="image",
        shape=tuple(splits["train"].x.shape[1:]),
        fields=("x", "y"),
        num_classes=len(source.classes),
        extras={"classes": list(source.classes)},
    )
    return GanDataset(info=info, splits=splits)


def _spec(
    source: TorchvisionSource, description: str, feature_extractor: str = "evaluator"
) -> DatasetSpec:
    return DatasetSpec(
        name=source.name,
        load=partial(load_torchvision, source),
        kind="image",
        description=description,
        feature_extractor=feature_extractor,
        primary_metric="fid",
        default_steps=10_000,
        default_batch_size=64,
        eval_samples=10_000,
        fields=("x", "y"),
    )


SPECS = (
    _spec(MNIST_SOURCE, "MNIST hand-written digits: 70,000 grayscale 28x28 images, 10 classes"),
    _spec(
        FASHION_MNIST_SOURCE,
        "Fashion-MNIST (Zalando): 70,000 grayscale 28x28 clothing images, 10 classes",
    ),
    # CIFAR-10 numbers in the literature are Inception numbers: report in that space
    # (offline without the weights file, the run says where to put it).
    _spec(CIFAR10_SOURCE, "CIFAR-10: 60,000 colour 32x32 images, 10 classes", "inception-v3"),
)


@ganbench.hookimpl
def ganbench_register_datasets(register: Callable[[DatasetSpec], None]) -> None:
    """Register ``mnist``, ``fashion-mnist`` and ``cifar10``."""
    for spec in SPECS:
        register(spec)
