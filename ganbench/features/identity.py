"""Identity features: the samples themselves, for low-dimensional toy data."""

from __future__ import annotations

from typing import Any

from torch import Tensor

from ganbench.data.types import DataInfo, GanDataset
from ganbench.features.base import FeatureContext
from ganbench.specs import FeatureExtractorSpec


class IdentityFeatures:
    """Flattened samples as features; no classifier."""

    space = "identity"

    def features(self, x: Tensor) -> Tensor:
        return x.reshape(x.shape[0], -1).float().cpu()

    def class_probs(self, x: Tensor) -> Tensor | None:
        return None

    def protocol(self) -> dict[str, Any]:
        return {"name": "identity", "space": self.space, "weights_sha256": None}


def _check(info: DataInfo) -> str | None:
    # Pixel-space Fréchet distances on images say little; keep identity to vectors.
    if info.kind != "vector":
        return "identity features are for vector data (2-D toy mixtures), not images"
    return None


def build_identity(dataset: GanDataset, ctx: FeatureContext) -> IdentityFeatures:
    """Factory matching :class:`FeatureExtractorSpec.build`."""
    return IdentityFeatures()


IDENTITY_SPEC = FeatureExtractorSpec(
    name="identity",
    build=build_identity,
    check=_check,
    description="the samples themselves (2-D toy data)",
)
