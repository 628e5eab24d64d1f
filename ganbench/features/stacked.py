"""A base dataset's classifier applied channel by channel, for stacked-channel datasets.

Stacked MNIST (Metz et al. 2017, "Unrolled Generative Adversarial Networks";
Srivastava et al. 2017, VEEGAN; Lin et al. 2018, PacGAN) puts three
independently drawn digits into the three channels of one image. Its 1,000
classes are not learnt by a 1,000-way classifier: each channel is classified
by a classifier of single digits, and the image's class is the triple of the
three predictions. This module is that composition, for any base dataset.

A dataset declares that it is built this way with ``info.extras``:

- ``extras["stacked_base"]``: the base :class:`~ganbench.data.types.GanDataset`
  (single-channel labelled images of the same height and width, K classes).
  Channel c of a stacked image is an image of the base dataset's matching
  split, and the stacked label is ``y = sum_c k_c * K**(C - 1 - c)`` for the
  channels' base labels ``k_c`` (for digits: ``100 * d_r + 10 * d_g + d_b``),
  so ``info.num_classes == K**C``.

``extras`` lives only in memory: it is never written into records or stores.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from ganbench.data.types import Batch, DataInfo, GanDataset
from ganbench.features.base import FeatureExtractor

#: The ``DataInfo.extras`` key naming the base dataset of a stacked-channel dataset.
STACKED_BASE_KEY = "stacked_base"


def stacked_base(info: DataInfo) -> GanDataset | None:
    """The base dataset a stacked-channel dataset declares, or None for other datasets."""
    base = info.extras.get(STACKED_BASE_KEY)
    return base if isinstance(base, GanDataset) else None


def stacked_base_problem(info: DataInfo) -> str | None:
    """Why ``info``'s stacked-channel declaration is unusable, or None if it is sound.

    Also None for datasets that declare no base at all.
    """
    if STACKED_BASE_KEY not in info.extras:
        return None
    base = stacked_base(info)
    if base is None:
        found = type(info.extras[STACKED_BASE_KEY]).__name__
        return f"extras[{STACKED_BASE_KEY!r}] is a {found}, not the base GanDataset"
    b = base.info
    if info.kind != "image" or b.kind != "image" or b.shape[0] != 1:
        return f"stacking needs images over a single-channel base; base {b.name!r} is {b.shape}"
    if tuple(b.shape[1:]) != tuple(info.shape[1:]):
        return f"base {b.name!r} images are {b.shape[1:]}, the stacked ones {info.shape[1:]}"
    if "y" not in b.fields or not b.num_classes:
        return f"base {b.name!r} has no class labels to classify channels with"
    if info.num_classes != b.num_classes ** info.shape[0]:
        return (
            f"{info.shape[0]} channels of {b.num_classes} classes make "
            f"{b.num_classes ** info.shape[0]} classes, but {info.name!r} declares "
            f"{info.num_classes}"
        )
    return None


def joint_class_probs(channel_probs: list[Tensor]) -> Tensor:
    """The product distribution of independent per-channel class probabilities.

    Args:
        channel_probs: C tensors N x K (rows sum to 1), channel 0 first.

    Returns:
        N x K**C float32, row-major over the channels: column
        ``sum_c k_c * K**(C - 1 - c)`` holds ``prod_c p_c[k_c]``, so its
        argmax is the triple of the per-channel argmaxes in the stacked
        label encoding.
    """
    joint = channel_probs[0].float()
    for probs in channel_probs[1:]:
        joint = (joint[:, :, None] * probs.float()[:, None, :]).reshape(len(joint), -1)
    return joint


def encode_channel_labels(channel_labels: Tensor, num_base_classes: int) -> Tensor:
    """Stacked labels (N,) int64 from per-channel base labels (N x C), channel 0 most significant."""
    weights = num_base_classes ** torch.arange(channel_labels.shape[1] - 1, -1, -1)
    return (channel_labels.long() * weights).sum(dim=1)


class PerChannelClassifier:
    """A single-channel classifier's feature space, applied to each channel of an image.

    ``features(x)`` concatenates the C channels' features (N x C*D);
    ``class_probs(x)`` is :func:`joint_class_probs` of the channels' softmaxes
    (N x K**C). The space keeps the base classifier's name (for stacked
    digits: ``digits-evaluator``, the same network with the same weights);
    the protocol record says that it is applied per channel.
    """

    def __init__(self, base: FeatureExtractor, channels: int, num_base_classes: int) -> None:
        self.base = base
        self.channels = channels
        self.num_base_classes = num_base_classes
        self.space = base.space
        self.test_accuracy: float | None = None

    def _per_channel(self, x: Tensor, fn) -> list[Tensor]:
        if x.shape[1] != self.channels:
            raise ValueError(f"expected {self.channels}-channel images, got shape {tuple(x.shape)}")
        return [fn(x[:, c : c + 1].contiguous()) for c in range(self.channels)]

    def features(self, x: Tensor) -> Tensor:
        """Features N x (C * D) of images N x C x H x W in [-1, 1]."""
        return torch.cat(self._per_channel(x, self.base.features), dim=1)

    def channel_probs(self, x: Tensor) -> list[Tensor]:
        """The base classifier's probabilities of each channel: C tensors N x K."""
        probs = self._per_channel(x, self.base.class_probs)
        if any(p is None for p in probs):
            raise ValueError(f"feature space {self.space!r} is not a classifier")
        return probs

    def class_probs(self, x: Tensor) -> Tensor:
        """Joint class probabilities N x K**C in the stacked label order."""
        return joint_class_probs(self.channel_probs(x))

    def predict(self, x: Tensor) -> Tensor:
        """Stacked class (N,) int64: the per-channel argmaxes, encoded like the labels.

        Cheaper than ``class_probs(x).argmax(1)`` (no N x K**C matrix) and equal to it
        (the product is largest where every factor is, exact ties aside).
        """
        labels = torch.stack([p.argmax(dim=1) for p in self.channel_probs(x)], dim=1)
        return encode_channel_labels(labels, self.num_base_classes)

    def measure_accuracy(self, split: Batch) -> float:
        """Share of ``split`` whose every channel is classified right; kept for the protocol."""
        assert split.y is not None
        self.test_accuracy = float((self.predict(split.x) == split.y).double().mean())
        return self.test_accuracy

    def protocol(self) -> dict[str, Any]:
        record = dict(self.base.protocol())
        record.update(
            {
                "applied": (
                    f"per channel: each of the {self.channels} channels is classified as a "
                    f"1-channel image; features concatenated, class probabilities the product "
                    f"of the channels' softmaxes over {self.num_base_classes}^{self.channels} "
                    "classes"
                ),
                "channel_test_accuracy": record.get("test_accuracy"),
                # Every channel right, on the stacked dataset's test split.
                "test_accuracy": (
                    None if self.test_accuracy is None else round(self.test_accuracy, 6)
                ),
            }
        )
        return record


def build_per_channel(
    dataset: GanDataset, base_extractor: FeatureExtractor, base: GanDataset
) -> PerChannelClassifier:
    """Wrap ``base_extractor`` (trained on ``base``) for ``dataset``, with its test accuracy."""
    assert base.info.num_classes is not None
    extractor = PerChannelClassifier(base_extractor, dataset.info.shape[0], base.info.num_classes)
    extractor.measure_accuracy(dataset.splits["test"])
    return extractor
