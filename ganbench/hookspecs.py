"""Hook specifications: what a ganbench plugin may implement.

Every hook takes a ``register`` callback, so one plugin can register several
things (the style of llm and tox). The core validates each registration and
reports a bad one against the plugin that made it, without stopping others.

Example plugin module::

    import ganbench

    @ganbench.hookimpl
    def ganbench_register_models(register):
        register(ganbench.ModelSpec(name="my-gan", build=build, task=..., ...))
"""

from __future__ import annotations

from collections.abc import Callable

import pluggy

from ganbench.specs import DatasetSpec, FeatureExtractorSpec, MetricSpec, ModelSpec, TrickSpec
from ganbench.train.losses import AdversarialLoss

PROJECT_NAME = "ganbench"

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)


@hookspec
def ganbench_register_models(register: Callable[[ModelSpec], None]) -> None:
    """Register architectures: call ``register(ModelSpec(...))`` for each."""


@hookspec
def ganbench_register_datasets(register: Callable[[DatasetSpec], None]) -> None:
    """Register datasets: call ``register(DatasetSpec(...))`` for each."""


@hookspec
def ganbench_register_metrics(register: Callable[[MetricSpec], None]) -> None:
    """Register metrics: call ``register(MetricSpec(...))`` for each."""


@hookspec
def ganbench_register_feature_extractors(
    register: Callable[[FeatureExtractorSpec], None],
) -> None:
    """Register feature spaces: call ``register(FeatureExtractorSpec(...))``."""


@hookspec
def ganbench_register_tricks(register: Callable[[TrickSpec], None]) -> None:
    """Register training tricks: call ``register(TrickSpec(...))`` for each."""


@hookspec
def ganbench_register_losses(register: Callable[[AdversarialLoss], None]) -> None:
    """Register adversarial losses: call ``register(AdversarialLoss(...))`` for each.

    A model names its loss (``GANModel.loss``); each loss declares D's
    decision threshold (or None), which the attack metric attacks.
    """
