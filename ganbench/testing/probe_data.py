"""Data the kit checks plugins on: registered datasets (loaded once) and tiny synthetic sets."""

from __future__ import annotations

import math
from collections import OrderedDict
from dataclasses import dataclass

import torch

from ganbench.data.types import Batch, DataInfo, DatasetOptions, GanDataset
from ganbench.errors import DataMissingError, GanbenchError, PluginContractError
from ganbench.registry import Registry
from ganbench.run.preparation import model_misfit_reason
from ganbench.specs import DatasetSpec, ModelSpec

#: Loaded datasets are kept for the next check while they fit this many bytes in all
#: (stacked-digits takes 50 MB); larger ones (CIFAR-10: 700 MB) are loaded each time.
_CACHE_BYTES = 256 * 2**20
_cache: OrderedDict[tuple[int, str], tuple[DatasetSpec, GanDataset, int]] = OrderedDict()


@dataclass(frozen=True)
class Unavailable:
    """A registered dataset that cannot be loaded here, and why (one line)."""

    name: str
    reason: str


def load_for_checks(spec: DatasetSpec, options: DatasetOptions | None = None) -> GanDataset:
    """``spec.load(options)`` offline, remembered for later checks in this process.

    Raises:
        DataMissingError: the data files are not on disk.
        GanbenchError: the loader needs options the kit cannot guess
            (e.g. ``image-folder`` without a folder), or broke its contract.
        Exception: whatever a broken loader raises.
    """
    options = options or DatasetOptions()
    # The spec object is part of the key: two registries may map one name to two loaders.
    key = (id(spec), repr(options))
    if key in _cache:
        _cache.move_to_end(key)
        return _cache[key][1]
    dataset = spec.load(options)
    if not isinstance(dataset, GanDataset):
        raise PluginContractError(
            f"dataset {spec.name!r}: load() returned {type(dataset).__name__}, not a GanDataset"
        )
    size = _nbytes(dataset)
    if size <= _CACHE_BYTES // 2:
        _cache[key] = (spec, dataset, size)  # holding the spec keeps its id from being reused
        while sum(entry[2] for entry in _cache.values()) > _CACHE_BYTES:
            _cache.popitem(last=False)
    return dataset


def _nbytes(dataset: GanDataset) -> int:
    """Bytes held by the tensors of every split."""
    return sum(
        getattr(split, name).element_size() * getattr(split, name).nelement()
        for split in dataset.splits.values()
        for name in split.present_fields()
    )


def registered_datasets(
    registry: Registry, kinds: tuple[str, ...]
) -> list[GanDataset | Unavailable]:
    """Every registered dataset of one of ``kinds``, loaded with default options, by name.

    Datasets whose files are missing, or that need options (a folder), come
    back as :class:`Unavailable`; so do loaders that raise, with the error.
    """
    found: list[GanDataset | Unavailable] = []
    for name, spec in sorted(registry.datasets.items()):
        if spec.kind not in kinds:
            continue
        try:
            found.append(load_for_checks(spec))
        except DataMissingError as exc:
            found.append(Unavailable(name, f"data missing: {exc}"))
        except GanbenchError as exc:
            found.append(Unavailable(name, f"cannot load with default options: {exc}"))
        except Exception as exc:
            found.append(Unavailable(name, f"failed to load: {type(exc).__name__}: {exc}"))
    return found


def why_model_does_not_fit(spec: ModelSpec, info: DataInfo) -> str | None:
    """Why ``spec`` cannot train on data described by ``info``: ``ganbench run``'s own rule."""
    return model_misfit_reason(spec, info)


# --- tiny synthetic data for tricks and metrics ------------------------------------

#: Mixture means of the probe vector data: four points on the axes.
PROBE_MODES = ((1.0, 0.0), (0.0, 1.0), (-1.0, 0.0), (0.0, -1.0))
PROBE_MODE_STD = 0.05


def probe_vectors(n: int = 256, seed: int = 0) -> Batch:
    """``n`` 2-D points of a four-mode mixture (float32 n x 2) with mode labels ``y``."""
    gen = torch.Generator().manual_seed(seed)
    y = torch.randint(len(PROBE_MODES), (n,), generator=gen)
    x = torch.tensor(PROBE_MODES)[y] + PROBE_MODE_STD * torch.randn(n, 2, generator=gen)
    return Batch(x=x.float(), y=y)


def probe_images(n: int = 256, size: int = 8, seed: int = 0) -> Batch:
    """``n`` one-channel ``size`` x ``size`` images in [-1, 1]: four stripe patterns, noisy.

    Returns ``x`` float32 n x 1 x size x size and ``y`` int64 (the pattern, 0..3).
    """
    gen = torch.Generator().manual_seed(seed)
    y = torch.randint(4, (n,), generator=gen)
    coords = torch.arange(size, dtype=torch.float32) / size * 2 * math.pi
    rows, cols = torch.meshgrid(coords, coords, indexing="ij")
    patterns = torch.stack([torch.sin(rows), torch.sin(cols), torch.sin(rows + cols), -rows.cos()])
    x = patterns[y] + 0.1 * torch.randn(n, size, size, generator=gen)
    return Batch(x=x.clamp(-1, 1).unsqueeze(1).contiguous(), y=y)


def probe_info(batch: Batch, name: str = "kit-probe") -> DataInfo:
    """A :class:`DataInfo` for a probe batch (labelled, 4 classes)."""
    kind = "image" if batch.x.dim() == 4 else "vector"
    extras = (
        {"modes": [list(m) for m in PROBE_MODES], "mode_std": PROBE_MODE_STD}
        if kind == "vector"
        else {}
    )
    return DataInfo(
        name=name,
        kind=kind,
        shape=tuple(batch.x.shape[1:]),
        fields=("x", "y"),
        num_classes=4,
        extras=extras,
    )
