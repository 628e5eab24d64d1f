"""The plugin manager: loads plugins, collects and validates their registrations.

Plugins come from three places, in this order:

1. the core's own registrations (metrics and feature extractors);
2. the ``ganbench`` entry-point group (first-party plugins included);
3. ``.py`` files in ``--plugins-dir`` or ``$GANBENCH_PLUGINS_DIR``.

A plugin that fails to import, registers something invalid, or raises while
registering is reported in its :class:`PluginReport`; everything else loads.
"""

from __future__ import annotations

import importlib.util
import os
import re
import sys
import traceback
from collections.abc import Iterable
from dataclasses import dataclass, field, fields
from importlib.metadata import entry_points
from pathlib import Path
from types import ModuleType
from typing import Any

import pluggy

from ganbench import hookspecs
from ganbench.errors import UnknownNameError
from ganbench.specs import DatasetSpec, FeatureExtractorSpec, MetricSpec, ModelSpec, TrickSpec
from ganbench.tasks import TaskKind
from ganbench.train.losses import AdversarialLoss
from ganbench.trick import HOOK_POINTS

#: Registration kinds: (kind name, hook name, spec class).
KINDS: tuple[tuple[str, str, type], ...] = (
    ("models", "ganbench_register_models", ModelSpec),
    ("datasets", "ganbench_register_datasets", DatasetSpec),
    ("metrics", "ganbench_register_metrics", MetricSpec),
    ("feature_extractors", "ganbench_register_feature_extractors", FeatureExtractorSpec),
    ("tricks", "ganbench_register_tricks", TrickSpec),
    ("losses", "ganbench_register_losses", AdversarialLoss),
)

#: Singular nouns for error messages.
KIND_NOUNS = {
    "models": "model",
    "datasets": "dataset",
    "metrics": "metric",
    "feature_extractors": "feature extractor",
    "tricks": "trick",
    "losses": "loss",
}

NAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]*$")
ENTRY_POINT_GROUP = "ganbench"
CORE_PLUGIN_NAME = "ganbench-core"


@dataclass
class PluginReport:
    """What ``ganbench plugins`` shows for one plugin."""

    name: str
    version: str | None
    source: str
    registers: dict[str, list[str]] = field(default_factory=dict)
    error: str | None = None
    #: The installed distribution the plugin came from (None: a plugins-folder
    #: file or an in-process plugin).
    distribution: str | None = None

    def add_error(self, message: str) -> None:
        """Record a problem; several are joined into one line."""
        self.error = message if self.error is None else f"{self.error}; {message}"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form for ``ganbench plugins --json``."""
        return {
            "name": self.name,
            "version": self.version,
            "source": self.source,
            "registers": {kind: sorted(names) for kind, names in self.registers.items()},
            "error": self.error,
            "distribution": self.distribution,
        }


@dataclass
class Registry:
    """Everything registered, by kind and name, and where it came from."""

    models: dict[str, ModelSpec] = field(default_factory=dict)
    datasets: dict[str, DatasetSpec] = field(default_factory=dict)
    metrics: dict[str, MetricSpec] = field(default_factory=dict)
    feature_extractors: dict[str, FeatureExtractorSpec] = field(default_factory=dict)
    tricks: dict[str, TrickSpec] = field(default_factory=dict)
    losses: dict[str, AdversarialLoss] = field(default_factory=dict)
    owners: dict[tuple[str, str], str] = field(default_factory=dict)
    reports: list[PluginReport] = field(default_factory=list)

    def _lookup(self, kind: str, name: str) -> Any:
        table: dict[str, Any] = getattr(self, kind)
        if name not in table:
            raise UnknownNameError(KIND_NOUNS[kind], name, table)
        return table[name]

    def model(self, name: str) -> ModelSpec:
        """The model registered as ``name``; unknown names raise with the choices."""
        return self._lookup("models", name)

    def dataset(self, name: str) -> DatasetSpec:
        """The dataset registered as ``name``."""
        return self._lookup("datasets", name)

    def metric(self, name: str) -> MetricSpec:
        """The metric registered as ``name``."""
        return self._lookup("metrics", name)

    def feature_extractor(self, name: str) -> FeatureExtractorSpec:
        """The feature extractor registered as ``name``."""
        return self._lookup("feature_extractors", name)

    def trick(self, name: str) -> TrickSpec:
        """The trick registered as ``name``."""
        return self._lookup("tricks", name)

    def loss(self, name: str) -> AdversarialLoss:
        """The adversarial loss registered as ``name``."""
        return self._lookup("losses", name)

    def owner(self, kind: str, name: str) -> str:
        """Name of the plugin that registered ``name`` of ``kind``."""
        return self.owners[(kind, name)]

    def made_by(self, kind: str, name: str) -> dict[str, str | None]:
        """Who registered ``name`` of ``kind``: plugin, distribution and version.

        What the protocol record says made a number, so a row can be traced
        to the code (and its version) that trained it.
        """
        plugin = self.owners.get((kind, name))
        report = next((r for r in self.reports if r.name == plugin), None)
        return {
            "plugin": plugin,
            "distribution": None if report is None else report.distribution,
            "version": None if report is None else report.version,
        }


def _validate(kind: str, spec_class: type, spec: Any) -> str | None:
    """Why ``spec`` is not a valid registration of ``kind``, or None."""
    noun = KIND_NOUNS[kind]
    if not isinstance(spec, spec_class):
        return f"register() for {kind} expects {spec_class.__name__}, got {type(spec).__name__}"
    name = getattr(spec, "name", None)
    if not isinstance(name, str) or not NAME_PATTERN.match(name):
        return (
            f"{noun} name {name!r} is invalid: use lowercase letters, digits, '.', '_' or '-', "
            "starting with a letter or digit"
        )
    for f in fields(spec):
        value = getattr(spec, f.name)
        if f.name in ("build", "load", "compute") and not callable(value):
            return f"{noun} {name!r}: field {f.name!r} must be callable, got {value!r}"
    if isinstance(spec, ModelSpec):
        if not isinstance(spec.task, TaskKind):
            return f"model {name!r}: task must be a TaskKind, got {spec.task!r}"
        bad = [k for k in spec.data_kinds if k not in ("image", "vector")]
        if not spec.data_kinds or bad:
            return f"model {name!r}: data_kinds must be a non-empty subset of ('image', 'vector')"
        if not spec.paper:
            return f"model {name!r}: missing field 'paper' (cite the architecture's source)"
    if isinstance(spec, TrickSpec):
        bad = [h for h in spec.hook_points if h not in HOOK_POINTS]
        if not spec.hook_points or bad:
            return (
                f"trick {name!r}: hook_points {list(spec.hook_points)} must be a non-empty "
                f"subset of {list(HOOK_POINTS)}"
            )
    if isinstance(spec, ModelSpec | TrickSpec):
        problem = _params_problem(f"{noun} {name!r}", spec.params)
        if problem is not None:
            return problem
    if isinstance(spec, AdversarialLoss) and not (
        spec.decision_threshold is None or isinstance(spec.decision_threshold, int | float)
    ):
        return f"loss {name!r}: decision_threshold must be a number or None"
    if isinstance(spec, MetricSpec) and not spec.outputs:
        return f"metric {name!r}: missing field 'outputs'"
    if isinstance(spec, DatasetSpec) and spec.kind not in ("image", "vector"):
        return f"dataset {name!r}: kind must be 'image' or 'vector', got {spec.kind!r}"
    return None


def _params_problem(owner: str, params: Any) -> str | None:
    """Why a model's or trick's ``params`` are malformed, or None."""
    from ganbench.specs import Param

    seen: set[str] = set()
    for param in params:
        if not isinstance(param, Param):
            return f"{owner}: params must be Param objects, got {type(param).__name__}"
        if param.name in seen:
            return f"{owner}: parameter {param.name!r} is declared twice"
        seen.add(param.name)
        if param.choices and param.default not in param.choices:
            return f"{owner}: parameter {param.name!r} default {param.default!r} is not a choice"
    return None


def _error_line(exc: BaseException) -> str:
    """One line for an exception, with the innermost frame's place."""
    frames = traceback.extract_tb(exc.__traceback__)
    where = f" (at {Path(frames[-1].filename).name}:{frames[-1].lineno})" if frames else ""
    return f"{type(exc).__name__}: {exc}{where}".replace("\n", " ")


def _env_list(name: str) -> set[str] | None:
    """A comma list from the environment; None when unset."""
    value = os.environ.get(name)
    if value is None:
        return None
    return {part.strip() for part in value.split(",") if part.strip()}


def _load_file_module(path: Path) -> ModuleType:
    """Import a plugin ``.py`` file under a private module name."""
    module_name = f"ganbench_local_plugins.{path.stem}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(module_name, None)
        raise
    return module


def _version_text(plugin: object) -> str | None:
    """The plugin's ``__version__`` as text (some plugins state a number)."""
    version = getattr(plugin, "__version__", None)
    return None if version is None else str(version)


def _check_api_version(module: object) -> str | None:
    """A mismatch message if the plugin states another plugin API version."""
    from ganbench.api import API_VERSION

    stated = getattr(module, "GANBENCH_API_VERSION", None)
    if stated is not None and stated != API_VERSION:
        return (
            f"written for ganbench plugin API version {stated}, "
            f"this ganbench provides version {API_VERSION}"
        )
    return None


class PluginLoader:
    """Builds a :class:`Registry` from the core, entry points and a plugins folder."""

    def __init__(self) -> None:
        self.pm = pluggy.PluginManager(hookspecs.PROJECT_NAME)
        self.pm.add_hookspecs(hookspecs)
        self.reports: dict[str, PluginReport] = {}

    def _add(self, plugin: object, report: PluginReport) -> None:
        if report.name in self.reports:
            # Two plugins with one name: keep the first, report the second.
            report.name = f"{report.name} ({report.source})"
            report.add_error("a plugin with this name is already loaded; skipped")
            self.reports[report.name] = report
            return
        self.reports[report.name] = report
        if report.error is not None:
            return
        api_problem = _check_api_version(plugin)
        if api_problem is not None:
            report.add_error(api_problem)
            return
        try:
            self.pm.register(plugin, name=report.name)
        except Exception as exc:  # pluggy rejects malformed hook implementations
            report.add_error(_error_line(exc))
            return
        unknown = sorted(c.name for c in self.pm.get_hookcallers(plugin) or () if not c.has_spec())
        if unknown:
            report.add_error(
                f"unknown hook(s) {', '.join(unknown)}; valid hooks: "
                f"{', '.join(hook for _, hook, _ in KINDS)}"
            )

    def load_core(self) -> None:
        """Register the core's own metrics and feature extractors."""
        from ganbench import __version__, builtin_plugin

        self._add(
            builtin_plugin,
            PluginReport(CORE_PLUGIN_NAME, __version__, "ganbench (core)", distribution="ganbench"),
        )

    def load_entry_points(self) -> None:
        """Import every ``ganbench`` entry point, honouring the env switches.

        ``GANBENCH_LOAD_PLUGINS`` (comma list of entry-point or distribution
        names; empty for none) restricts loading; ``GANBENCH_DISABLE_PLUGINS``
        skips the names it lists.
        """
        only = _env_list("GANBENCH_LOAD_PLUGINS")
        disabled = _env_list("GANBENCH_DISABLE_PLUGINS") or set()
        for ep in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
            dist_name = ep.dist.name if ep.dist is not None else None
            names = {ep.name, dist_name} - {None}
            if only is not None and not names & only:
                continue
            if names & disabled:
                continue
            version = ep.dist.version if ep.dist is not None else None
            source = f"{dist_name or '?'} {version or ''} ({ep.value})".replace("  ", " ")
            report = PluginReport(ep.name, version, source, distribution=dist_name)
            plugin: object | None = None
            try:
                plugin = ep.load()
            except (Exception, SystemExit) as exc:
                report.add_error(f"import failed: {_error_line(exc)}")
            self._add(plugin, report)

    def load_directory(self, directory: Path) -> None:
        """Import each ``*.py`` file (not starting with ``_``) in ``directory``."""
        if not directory.is_dir():
            from ganbench.errors import GanbenchError

            raise GanbenchError(f"plugins folder {str(directory)!r} does not exist")
        for path in sorted(directory.glob("*.py")):
            if path.name.startswith("_"):
                continue
            report = PluginReport(path.stem, None, str(path))
            plugin: ModuleType | None = None
            try:
                plugin = _load_file_module(path)
                report.version = _version_text(plugin)
            except (Exception, SystemExit) as exc:
                report.add_error(f"import failed: {_error_line(exc)}")
            self._add(plugin, report)

    def collect(self) -> Registry:
        """Call every registration hook of every plugin, one plugin at a time."""
        registry = Registry()
        load_order = {name: i for i, name in enumerate(self.reports)}
        for kind, hook_name, spec_class in KINDS:
            hook = getattr(self.pm.hook, hook_name)
            # Call implementations one by one (pluggy's own call would stop at
            # the first exception and not say which plugin raised).
            # Load order, so the first plugin loaded keeps a name whatever its
            # tryfirst/trylast markers (pluggy's own order puts trylast first).
            for impl in sorted(hook.get_hookimpls(), key=lambda i: load_order[i.plugin_name]):
                report = self.reports[impl.plugin_name]
                registered = report.registers.setdefault(kind, [])

                def register(
                    spec: Any,
                    *,
                    _kind=kind,
                    _cls=spec_class,
                    _report=report,
                    _registered=registered,
                ) -> None:
                    problem = _validate(_kind, _cls, spec)
                    if problem is None and spec.name in getattr(registry, _kind):
                        first = registry.owners[(_kind, spec.name)]
                        problem = (
                            f"{KIND_NOUNS[_kind]} {spec.name!r} is already registered by "
                            f"plugin {first!r}"
                        )
                    if problem is not None:
                        _report.add_error(problem)
                        return
                    getattr(registry, _kind)[spec.name] = spec
                    registry.owners[(_kind, spec.name)] = _report.name
                    _registered.append(spec.name)

                try:
                    impl.function(register=register)
                except (Exception, SystemExit) as exc:
                    report.add_error(f"{hook_name} raised {_error_line(exc)}")
                if not registered:
                    report.registers.pop(kind, None)
        registry.reports = sorted(self.reports.values(), key=lambda r: r.name)
        return registry


def load_registry(
    plugins_dir: Path | None = None,
    *,
    include_entry_points: bool = True,
    extra_plugins: Iterable[tuple[str, object]] = (),
) -> Registry:
    """Load all plugins and return what they registered.

    Args:
        plugins_dir: a folder of plugin ``.py`` files; defaults to
            ``$GANBENCH_PLUGINS_DIR`` when set.
        include_entry_points: load the ``ganbench`` entry-point group.
        extra_plugins: ``(name, plugin object)`` pairs registered directly,
            used by tests and by programs embedding ganbench.
    """
    loader = PluginLoader()
    loader.load_core()
    if include_entry_points:
        loader.load_entry_points()
    if plugins_dir is None and os.environ.get("GANBENCH_PLUGINS_DIR"):
        plugins_dir = Path(os.environ["GANBENCH_PLUGINS_DIR"])
    if plugins_dir is not None:
        loader.load_directory(plugins_dir)
    for name, plugin in extra_plugins:
        loader._add(plugin, PluginReport(name, _version_text(plugin), "in-process"))
    return loader.collect()
