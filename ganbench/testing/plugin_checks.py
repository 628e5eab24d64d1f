"""Checking a whole plugin, or one registered name: :func:`check_plugin`."""

from __future__ import annotations

from collections.abc import Callable

from ganbench.errors import UnknownNameError
from ganbench.registry import Registry, load_registry
from ganbench.testing.dataset_checks import check_dataset
from ganbench.testing.feature_checks import check_feature_extractor
from ganbench.testing.metric_checks import check_metric
from ganbench.testing.model_checks import check_model
from ganbench.testing.results import CheckResult
from ganbench.testing.trick_checks import check_trick

#: Registry table -> (result kind, checker), in the order a plugin's items are checked.
_CHECKERS: dict[str, tuple[str, Callable[..., list[CheckResult]]]] = {
    "datasets": ("dataset", lambda spec, registry: check_dataset(spec)),
    "models": ("model", check_model),
    "tricks": ("trick", check_trick),
    "metrics": ("metric", lambda spec, registry: check_metric(spec)),
    "feature_extractors": ("feature_extractor", check_feature_extractor),
}

#: ``progress(kind, name)`` is told what is about to be checked.
Progress = Callable[[str, str], None]


def check_plugin(
    name: str, registry: Registry | None = None, *, progress: Progress | None = None
) -> list[CheckResult]:
    """Check everything a plugin registered, or one registered thing.

    ``name`` is a plugin as ``ganbench plugins`` lists it (the entry-point
    name such as ``"dcgan"``, a plugins-folder file's stem, or
    ``"ganbench-core"``): the first result says whether it loaded (a load
    error is one failed ``plugin loads`` result) and the rest check each
    model, trick, dataset, metric and feature extractor it registered. If no
    plugin has that name but registered things do (a dataset ``ring8`` of
    plugin ``toy2d``), just those are checked.

    Args:
        name: plugin name, or the name of a registered model, trick, dataset,
            metric or feature extractor.
        registry: the loaded plugins (default: :func:`ganbench.registry.load_registry`).
        progress: called with ``(kind, name)`` before each item is checked.

    Raises:
        UnknownNameError: neither a plugin nor anything registered has that name;
            the message lists the plugin names.
    """
    registry = registry if registry is not None else load_registry()
    reports = {report.name: report for report in registry.reports}
    results: list[CheckResult] = []
    if name in reports:
        report = reports[name]
        ok = report.error is None
        results.append(
            CheckResult(
                "plugin",
                name,
                "plugin loads",
                "passed" if ok else "failed",
                report.error or f"{report.source}",
            )
        )
        targets = [(table, item) for table in _CHECKERS for item in report.registers.get(table, [])]
    else:
        targets = [(table, name) for table in _CHECKERS if name in getattr(registry, table)]
        if not targets:
            raise UnknownNameError("plugin", name, reports)
    for table, item in targets:
        kind, checker = _CHECKERS[table]
        if progress is not None:
            progress(kind, item)
        results.extend(checker(getattr(registry, table)[item], registry))
    return results


def failures(results: list[CheckResult]) -> list[CheckResult]:
    """The failed results among ``results``."""
    return [r for r in results if r.status == "failed"]


def assert_plugin_conforms(name: str, registry: Registry | None = None) -> None:
    """Run :func:`check_plugin` and raise if any check failed (skipped ones are fine).

    Raises:
        AssertionError: one line per failed check: ``kind subject: check: detail``.
        UnknownNameError: see :func:`check_plugin`.
    """
    failed = failures(check_plugin(name, registry))
    if failed:
        lines = [f"{r.kind} {r.subject}: {r.check}: {r.detail}" for r in failed]
        raise AssertionError(
            f"{len(failed)} conformance check(s) of {name!r} failed:\n" + "\n".join(lines)
        )
