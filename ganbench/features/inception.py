"""The standard FID/IS/KID feature space: Inception-v3 with the 2015-12-05 weights.

Heusel et al., "GANs Trained by a Two Time-Scale Update Rule Converge to a
Local Nash Equilibrium" (NeurIPS 2017), define FID on the 2048-d pool
features of this network; Salimans et al. (2016) define IS on its softmax.
ganbench runs torch-fidelity's ``FeatureExtractorInceptionV3``, which
reproduces the TensorFlow graph's preprocessing (TF 1.x bilinear resize to
299x299, ``(x - 128) / 128``), so numbers match the reference implementations.
Values in this space are named ``metric[inception-v3]``.
"""

from __future__ import annotations

import dataclasses
import weakref
from collections import OrderedDict
from typing import TYPE_CHECKING, Any

import torch
from torch import Tensor

from ganbench.data.types import DataInfo, GanDataset
from ganbench.features.base import FeatureContext
from ganbench.features.inception_weights import (
    build_torch_fidelity_network,
    read_inception_weights,
    resolve_inception_weights,
)
from ganbench.progress import TrainingProgress
from ganbench.specs import FeatureExtractorSpec

if TYPE_CHECKING:
    from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3

SPACE = "inception-v3"
FEATURE_DIM = 2048
NUM_CLASSES = 1008
#: Images per forward pass unless the context asks for another size: 299x299
#: activations make the generic default (500) several GB.
DEFAULT_BATCH_SIZE = 64

PREPROCESSING = (
    "images in [-1, 1] -> uint8 round((x + 1) * 127.5) clamped to [0, 255]; "
    "1 channel repeated to 3; torch-fidelity FeatureExtractorInceptionV3: "
    "TF 1.x-compatible bilinear resize (align_corners=False) to 299x299, then (x - 128) / 128"
)


def to_uint8_rgb(x: Tensor) -> Tensor:
    """Images as torch-fidelity expects them.

    Args:
        x: float N x C x H x W in [-1, 1], C = 1 or 3 (values outside are clamped).

    Returns:
        uint8 N x 3 x H x W in [0, 255]: ``round((x + 1) * 127.5)``, grayscale repeated.
    """
    if x.ndim != 4 or x.shape[1] not in (1, 3):
        raise ValueError(f"expected images N x C x H x W with C = 1 or 3, got {tuple(x.shape)}")
    if not x.is_floating_point():
        raise ValueError(f"expected float images in [-1, 1], got dtype {x.dtype}")
    if not torch.isfinite(x).all():
        raise ValueError("images contain NaN or infinite values")
    pixels = ((x.float() + 1.0) * 127.5).round().clamp(0, 255).to(torch.uint8)
    return pixels.expand(-1, 3, -1, -1) if pixels.shape[1] == 1 else pixels


#: How many inputs' outputs are remembered: real and fake sets of one evaluation.
MEMO_SIZE = 2


class _ForwardMemo:
    """Outputs of the last few inputs, keyed by tensor identity.

    A hit needs the very same tensor object (held weakly, so a new tensor
    that reuses a freed one's address is not mistaken for it), with the same
    storage, shape, strides and version counter (an in-place change bumps
    it). Inference-mode tensors have no version counter: an in-place change
    to one, made inside inference mode between two calls, is not seen.
    Cached outputs modified in place by a caller are dropped, not returned.
    """

    def __init__(self, size: int) -> None:
        self.size = size
        self._entries: OrderedDict[int, tuple[Any, ...]] = OrderedDict()

    @staticmethod
    def _signature(x: Tensor) -> tuple[Any, ...]:
        return (
            x.data_ptr(),
            tuple(x.shape),
            x.stride(),
            x.dtype,
            x.device,
            _ForwardMemo._version(x),
        )

    @staticmethod
    def _version(t: Tensor) -> int | None:
        return None if t.is_inference() else t._version

    def get(self, x: Tensor) -> tuple[Tensor, Tensor] | None:
        entry = self._entries.get(id(x))
        if entry is None:
            return None
        ref, signature, feats, probs, versions = entry
        if ref() is not x or signature != self._signature(x):
            del self._entries[id(x)]
            return None
        if versions != (self._version(feats), self._version(probs)):
            del self._entries[id(x)]
            return None
        self._entries.move_to_end(id(x))
        return feats, probs

    def put(self, x: Tensor, feats: Tensor, probs: Tensor) -> None:
        versions = (self._version(feats), self._version(probs))
        self._entries[id(x)] = (weakref.ref(x), self._signature(x), feats, probs, versions)
        self._entries.move_to_end(id(x))
        while len(self._entries) > self.size:
            self._entries.popitem(last=False)


class InceptionV3Features:
    """torch-fidelity's FID Inception-v3 as a ganbench feature extractor.

    One forward pass gives both the pool features and the class
    probabilities; the last :data:`MEMO_SIZE` inputs' outputs are kept, so
    ``features(x)`` followed by ``class_probs(x)`` runs the network once.
    Returned tensors are shared with that memo: do not modify them in place.
    """

    space = SPACE

    def __init__(
        self,
        net: FeatureExtractorInceptionV3,
        weights_sha256: str,
        device: torch.device,
        batch_size: int = DEFAULT_BATCH_SIZE,
        quiet: bool = True,
    ) -> None:
        self.net = net.to(device).eval()
        self.weights_sha256 = weights_sha256
        self.device = device
        self.batch_size = batch_size
        self.quiet = quiet
        self._memo = _ForwardMemo(MEMO_SIZE)

    @torch.no_grad()
    def _run(self, x: Tensor) -> tuple[Tensor, Tensor]:
        cached = self._memo.get(x)
        if cached is not None:
            return cached
        n = x.shape[0]
        to_uint8_rgb(x[:1])  # shape and dtype errors before any work
        feats, probs = [], []
        progress = TrainingProgress(
            n, f"{SPACE} features", quiet=self.quiet or n == 0, unit="images"
        )
        with progress:
            for start in range(0, n, self.batch_size):
                # Converted batch by batch: a float copy of a whole eval set can be gigabytes.
                batch = to_uint8_rgb(x[start : start + self.batch_size].detach())
                pool, logits_unbiased = self.net(batch.to(self.device))
                feats.append(pool.float().cpu())
                # float64 softmax: float32 rows of 1008 small values sum to 1 only to ~1e-6.
                probs.append(torch.softmax(logits_unbiased.double(), dim=1).float().cpu())
                progress.update(min(start + self.batch_size, n), {}, every=1)
        out_feats = torch.cat(feats) if feats else torch.empty(0, FEATURE_DIM)
        out_probs = torch.cat(probs) if probs else torch.empty(0, NUM_CLASSES)
        self._memo.put(x, out_feats, out_probs)
        return out_feats, out_probs

    def features(self, x: Tensor) -> Tensor:
        """Pool features, float32 N x 2048, of images ``x`` (float N x C x H x W in [-1, 1])."""
        return self._run(x)[0]

    def class_probs(self, x: Tensor) -> Tensor:
        """Softmax of the unbiased 1008-way logits (IS's p(y|x)), float32 N x 1008.

        "Unbiased": the classifier's bias is left out, as in the original
        Inception Score code (torch-fidelity's ``logits_unbiased``).
        """
        return self._run(x)[1]

    def protocol(self) -> dict[str, Any]:
        # Every field here is comparison-relevant (the leaderboard hashes the
        # whole dict), so nothing machine-specific such as the file's path.
        return {
            "name": SPACE,
            "space": self.space,
            "weights_sha256": self.weights_sha256,
            "implementation": "torch-fidelity FeatureExtractorInceptionV3",
            "feature_layer": "2048 (final average pool)",
            "feature_dim": FEATURE_DIM,
            "class_probs": "softmax of the 1008-way logits without the fc bias (logits_unbiased)",
            "preprocessing": PREPROCESSING,
        }


def _batch_size(ctx: FeatureContext) -> int:
    # FeatureContext's default suits small evaluators; an explicit value is honoured.
    generic_default = next(
        f.default for f in dataclasses.fields(FeatureContext) if f.name == "batch_size"
    )
    return DEFAULT_BATCH_SIZE if ctx.batch_size == generic_default else ctx.batch_size


def load_inception(ctx: FeatureContext, *, download: bool = True) -> InceptionV3Features:
    """The Inception-v3 extractor with the weights ``ctx`` points at (or found, or downloaded).

    Raises:
        InceptionWeightsMissingError: no weights file and no download.
        InceptionWeightsInvalidError: the file is not one of the two known weights files.
    """
    path = resolve_inception_weights(
        ctx.inception_weights, download=download, progress=not ctx.quiet
    )
    weights = read_inception_weights(path)
    net = build_torch_fidelity_network(weights)
    return InceptionV3Features(
        net, weights.sha256, ctx.device, batch_size=_batch_size(ctx), quiet=ctx.quiet
    )


def build_inception(dataset: GanDataset, ctx: FeatureContext) -> InceptionV3Features:
    """Factory matching :class:`FeatureExtractorSpec.build` (the dataset is not needed)."""
    return load_inception(ctx, download=ctx.download)


def _check(info: DataInfo) -> str | None:
    if info.kind != "image":
        return "Inception-v3 features are for images; this dataset holds vectors"
    if info.channels not in (1, 3):
        return f"Inception-v3 takes 1- or 3-channel images; this dataset has {info.channels}"
    return None


INCEPTION_SPEC = FeatureExtractorSpec(
    name=SPACE,
    build=build_inception,
    check=_check,
    description="FID Inception-v3 (2015-12-05 weights, torch-fidelity): pool features, softmax",
)
