"""The core's own registrations: metrics, feature spaces and adversarial losses.

Registered through the same hooks as any plugin, so ``ganbench plugins``
lists them and tests treat them alike.
"""

from __future__ import annotations

from collections.abc import Callable

from ganbench.features.evaluator import EVALUATOR_SPEC
from ganbench.features.identity import IDENTITY_SPEC
from ganbench.features.inception import INCEPTION_SPEC
from ganbench.hookspecs import hookimpl
from ganbench.metrics.builtin import BUILTIN_METRICS
from ganbench.specs import FeatureExtractorSpec, MetricSpec
from ganbench.train.losses import BUILTIN_LOSSES, AdversarialLoss


@hookimpl
def ganbench_register_metrics(register: Callable[[MetricSpec], None]) -> None:
    """FID, KID, IS, class coverage, conditional accuracy, 2-D mode coverage."""
    for spec in BUILTIN_METRICS:
        register(spec)


@hookimpl
def ganbench_register_feature_extractors(
    register: Callable[[FeatureExtractorSpec], None],
) -> None:
    """The domain evaluator, the identity space and Inception-v3."""
    register(EVALUATOR_SPEC)
    register(IDENTITY_SPEC)
    register(INCEPTION_SPEC)


@hookimpl
def ganbench_register_losses(register: Callable[[AdversarialLoss], None]) -> None:
    """Minimax, non-saturating, Wasserstein, least-squares and hinge."""
    for loss in BUILTIN_LOSSES:
        register(loss)
