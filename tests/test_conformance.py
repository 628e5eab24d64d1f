"""Every registered plugin passes the conformance kit (``ganbench.testing``).

The parameters are collected from ``load_registry()`` when this module is
imported, so a model, trick, dataset, metric or feature extractor is covered
as soon as it is registered. Skipped checks are fine: MNIST and CIFAR-10
have no files here, Inception-v3 has no weights.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
import torch
from fakedata import write_fake_cifar10, write_fake_mnist
from PIL import Image
from test_caption_folder import caption_folder_options
from test_cyclegan import write_cyclegan_folder
from test_sr_folder import write_sr_folder

from ganbench.api import DatasetOptions
from ganbench.registry import Registry, load_registry
from ganbench.testing import (
    CheckResult,
    check_dataset,
    check_feature_extractor,
    check_metric,
    check_model,
    check_trick,
    failures,
)

REGISTRY = load_registry()
#: Registry table -> result kind, in the order the parameters are listed.
KINDS = {
    "models": "model",
    "tricks": "trick",
    "datasets": "dataset",
    "metrics": "metric",
    "feature_extractors": "feature_extractor",
}
SUBJECTS = [
    (kind, name) for table, kind in KINDS.items() for name in sorted(getattr(REGISTRY, table))
]
#: Subjects that cannot be exercised on this machine, and why: everything of
#: theirs is skipped. Any other subject must pass a check beyond its registration.
NOTHING_TO_RUN_OFFLINE = {
    ("feature_extractor", "inception-v3"): "its weights are not on this machine",
    # Applies to InfoGAN models only; tests/test_infogan.py gives the kit its known answers.
    ("metric", "code-alignment"): "the kit's generic inputs have no categorical code",
    # Needs a caption table; tests/test_digits_captions.py gives the kit its known answers.
    ("metric", "caption-match"): "the kit's generic inputs carry no captions",
    # Needs a translation model with an inverse; tests/test_cyclegan.py gives its known answers.
    ("metric", "cycle-error"): "the kit's generic inputs have no translation model",
}


def _image_folder(root: Path) -> DatasetOptions:
    """Ten small PNGs in two class folders: enough for image-folder's 80/10/10 splits."""
    rng = np.random.default_rng(0)
    for label in ("circles", "squares"):
        (root / label).mkdir(parents=True)
        for i in range(5):
            pixels = rng.integers(0, 256, size=(12, 12, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(root / label / f"{i}.png")
    return DatasetOptions(extra={"path": str(root)}, image_size=8)


def _fake_mnist(folder_name: str) -> Callable[[Path], DatasetOptions]:
    def options(root: Path) -> DatasetOptions:
        write_fake_mnist(root, folder_name=folder_name)
        return DatasetOptions(data_dir=root)

    return options


def _fake_cifar10(root: Path) -> DatasetOptions:
    write_fake_cifar10(root)
    return DatasetOptions(data_dir=root)


#: Datasets that need a user's files get a small one in the real on-disk
#: format, so that they are checked, not skipped.
DATASET_OPTIONS: dict[str, Callable[[Path], DatasetOptions]] = {
    "image-folder": _image_folder,
    "mnist": _fake_mnist("MNIST"),
    "stacked-mnist": _fake_mnist("MNIST"),
    "fashion-mnist": _fake_mnist("FashionMNIST"),
    "cifar10": _fake_cifar10,
    "cyclegan-folder": lambda root: DatasetOptions(
        extra={"path": str(write_cyclegan_folder(root))}, image_size=8
    ),
    "sr-folder": lambda root: DatasetOptions(
        extra={"path": str(write_sr_folder(root / "sr", {"train": 3, "test": 2}))}
    ),
    "caption-folder": caption_folder_options,
}


@pytest.fixture(scope="module", autouse=True)
def _one_thread() -> Iterator[None]:
    """Tiny networks gain nothing from intra-op threads on a busy machine."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _check(kind: str, name: str, registry: Registry, tmp_path: Path) -> list[CheckResult]:
    if kind == "model":
        return check_model(registry.model(name), registry)
    if kind == "trick":
        return check_trick(registry.trick(name), registry)
    if kind == "dataset":
        options = DATASET_OPTIONS[name](tmp_path) if name in DATASET_OPTIONS else None
        return check_dataset(registry.dataset(name), options)
    if kind == "metric":
        return check_metric(registry.metric(name))
    return check_feature_extractor(registry.feature_extractor(name), registry)


@pytest.mark.parametrize(("kind", "name"), SUBJECTS, ids=[f"{k}:{n}" for k, n in SUBJECTS])
def test_registered_plugin_conforms(kind: str, name: str, tmp_path: Path) -> None:
    results = _check(kind, name, REGISTRY, tmp_path)
    assert results and all(r.kind == kind and r.subject == name for r in results)
    failed = failures(results)
    assert not failed, "\n".join(f"{r.check}: {r.detail}" for r in failed)
    # Something was really checked beyond the registration record: a kit run
    # where every check was skipped proves nothing.
    exercised = any(r.status == "passed" and r.check != "registration" for r in results)
    if (kind, name) not in NOTHING_TO_RUN_OFFLINE:
        assert exercised, "every check was skipped: " + "; ".join(
            f"{r.check}: {r.detail}" for r in results if r.status == "skipped"
        )
