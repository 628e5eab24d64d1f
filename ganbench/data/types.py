"""The in-memory form of a dataset: splits of named tensors, and what they hold."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Literal

import torch
from torch import Tensor

DataKind = Literal["image", "vector"]

#: The optional batch fields, besides ``x``, in a fixed order.
CONDITION_FIELDS = ("y", "text", "source")


@dataclass(frozen=True)
class DataInfo:
    """What a dataset holds, as a model factory and the runner see it.

    Attributes:
        name: the registered dataset name.
        kind: ``"image"`` (x is N x C x H x W in [-1, 1]) or ``"vector"``
            (x is N x D, unbounded, e.g. 2-D toy mixtures).
        shape: per-sample shape of ``x``: ``(C, H, W)`` or ``(D,)``.
        fields: which batch fields the splits carry (``x`` always).
        num_classes: number of classes when ``y`` is present.
        text_dim: width of the text embedding when ``text`` is present.
        source_shape: per-sample shape of ``source`` when present.
        paired: whether ``source[i]`` belongs with ``x[i]`` (super-resolution)
            or the two domains are independent (unpaired translation).
        extras: dataset-specific facts the metrics need (for example the
            mixture ``modes`` and ``mode_std`` of 2-D toy data).
    """

    name: str
    kind: DataKind
    shape: tuple[int, ...]
    fields: tuple[str, ...] = ("x",)
    num_classes: int | None = None
    text_dim: int | None = None
    source_shape: tuple[int, ...] | None = None
    paired: bool = True
    extras: Mapping[str, Any] = field(default_factory=dict)

    @property
    def channels(self) -> int | None:
        """Image channel count, or None for vector data."""
        return self.shape[0] if self.kind == "image" else None

    @property
    def image_size(self) -> int | None:
        """Image height (= width) in pixels, or None for vector data."""
        return self.shape[-1] if self.kind == "image" else None


@dataclass
class Batch:
    """Aligned rows of named tensors: one split of a dataset, or a batch of it.

    ``x`` is always present. Images are float32 N x C x H x W in [-1, 1];
    vectors are float32 N x D. ``y`` is int64 class labels (N,), ``text`` is
    float32 text embeddings (N, T), ``source`` is the generator's input
    domain (low-resolution or domain-A images, same layout as ``x``).
    """

    x: Tensor
    y: Tensor | None = None
    text: Tensor | None = None
    source: Tensor | None = None

    def __len__(self) -> int:
        return int(self.x.shape[0])

    def present_fields(self) -> tuple[str, ...]:
        """Names of the fields that are not None, ``x`` first."""
        return tuple(f.name for f in fields(self) if getattr(self, f.name) is not None)

    def index(self, idx: Tensor, *, source_idx: Tensor | None = None) -> Batch:
        """Rows ``idx`` of every field; ``source`` takes ``source_idx`` if given.

        ``source_idx`` lets unpaired data draw the two domains independently.
        """
        src_idx = idx if source_idx is None else source_idx
        return Batch(
            x=self.x[idx],
            y=None if self.y is None else self.y[idx],
            text=None if self.text is None else self.text[idx],
            source=None if self.source is None else self.source[src_idx],
        )

    def to(self, device: torch.device | str) -> Batch:
        """The same batch on ``device``."""
        return Batch(
            **{
                f.name: (
                    None if getattr(self, f.name) is None else getattr(self, f.name).to(device)
                )
                for f in fields(self)
            }
        )

    def with_x(self, x: Tensor) -> Batch:
        """The same conditioning with another ``x`` (e.g. generated samples)."""
        return replace(self, x=x)


@dataclass
class GanDataset:
    """A loaded dataset: its description and its deterministic splits.

    ``splits`` has the keys ``"train"``, ``"val"`` and ``"test"``. Training
    uses ``train``, checkpoint selection ``val`` and reported numbers ``test``.
    """

    info: DataInfo
    splits: dict[str, Batch]
    _fingerprint: str | None = field(default=None, init=False, repr=False, compare=False)

    def fingerprint(self) -> str:
        """sha256 of every split's content: names caches built from this data.

        Computed once: a loaded dataset is not modified, and hashing CIFAR-10's
        splits takes seconds, while a run asks for it several times.
        """
        if self._fingerprint is None:
            self._fingerprint = self._hash_content()
        return self._fingerprint

    def _hash_content(self) -> str:
        digest = hashlib.sha256()
        digest.update(repr((self.info.name, self.info.shape, self.info.fields)).encode())
        for split_name in sorted(self.splits):
            split = self.splits[split_name]
            digest.update(split_name.encode())
            for name in split.present_fields():
                tensor = getattr(split, name).contiguous().cpu()
                digest.update(name.encode())
                digest.update(str(tuple(tensor.shape)).encode())
                digest.update(tensor.numpy().tobytes())
        return digest.hexdigest()


@dataclass(frozen=True)
class DatasetOptions:
    """User options a dataset loader receives.

    Attributes:
        data_dir: folder holding the dataset's files (None: the default
            ``~/.cache/ganbench/data``-style folder chosen by the CLI).
        download: whether the loader may download missing files.
        image_size: resize images to this square size (None: native size).
        extra: loader-specific options (e.g. ``path`` for ``image-folder``).
    """

    data_dir: Path | None = None
    download: bool = False
    image_size: int | None = None
    extra: Mapping[str, str] = field(default_factory=dict)


def split_indices(
    n: int, fractions: tuple[float, float, float] = (0.6, 0.2, 0.2), seed: int = 0
) -> dict[str, Tensor]:
    """Deterministic train/val/test index split of ``n`` rows.

    The permutation depends only on ``n`` and ``seed``, never on the run's
    seed, so every run of every model sees the same splits.
    """
    if abs(sum(fractions) - 1.0) > 1e-9:
        raise ValueError(f"split fractions must sum to 1, got {fractions}")
    gen = torch.Generator().manual_seed(seed)
    perm = torch.randperm(n, generator=gen)
    n_train = int(round(fractions[0] * n))
    n_val = int(round(fractions[1] * n))
    return {
        "train": perm[:n_train].sort().values,
        "val": perm[n_train : n_train + n_val].sort().values,
        "test": perm[n_train + n_val :].sort().values,
    }
