"""The plugin conformance kit: checks that a plugin keeps ganbench's contracts.

Shipped with ganbench for plugin authors' tests and for ``ganbench
check-plugin``. Each ``check_*`` function runs the checks of one kind of
registration and returns :class:`CheckResult` records (``passed``,
``failed`` or ``skipped`` with a one-line detail); it never raises for a
broken plugin::

    from ganbench.testing import assert_plugin_conforms

    def test_my_gan_conforms():
        assert_plugin_conforms("my-gan")

Checks run on the CPU, in seconds, offline (missing data or weights give
``skipped``), and leave torch's global RNG as they found it. Pytest
fixtures for plugin test suites are in :mod:`ganbench.testing.fixtures`
(``pytest_plugins = ["ganbench.testing.fixtures"]``).
"""

from __future__ import annotations

from ganbench.testing.dataset_checks import check_dataset
from ganbench.testing.feature_checks import check_feature_extractor
from ganbench.testing.metric_checks import MetricCase, ToyFeatures, check_metric, constructed_inputs
from ganbench.testing.model_checks import check_model
from ganbench.testing.plugin_checks import assert_plugin_conforms, check_plugin, failures
from ganbench.testing.results import CheckResult
from ganbench.testing.trick_checks import check_trick

__all__ = [
    "CheckResult",
    "MetricCase",
    "ToyFeatures",
    "assert_plugin_conforms",
    "check_dataset",
    "check_feature_extractor",
    "check_metric",
    "check_model",
    "check_plugin",
    "check_trick",
    "constructed_inputs",
    "failures",
]
