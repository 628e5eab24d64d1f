"""The names a new plugin package gets, and the checks on them.

One name drives everything: ``my-gan`` becomes the distribution
``ganbench-my-gan``, the import package ``ganbench_my_gan``, the entry point
``my-gan`` of the ``ganbench`` group and the registered model (trick,
dataset, metric) ``my-gan``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ganbench.errors import GanbenchError

if TYPE_CHECKING:
    from ganbench.registry import Registry

#: Lowercase words of letters and digits joined by single hyphens, starting
#: with a letter: valid as a registered name (see ``registry.NAME_PATTERN``),
#: as a distribution name and, with ``-`` -> ``_``, as a Python package name.
PLUGIN_NAME_PATTERN = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")

#: Longest name accepted: it must stay readable in tables and file names.
MAX_NAME_LENGTH = 40

#: Import packages a scaffold must never create: they would shadow ganbench
#: itself or its first-party plugins (``ganbench_plugins``).
RESERVED_PACKAGES = frozenset({"ganbench_plugins"})

#: The plugin kinds ``ganbench new-plugin`` can scaffold, and the registry
#: table each one registers into.
PLUGIN_KINDS: dict[str, str] = {
    "model": "models",
    "trick": "tricks",
    "dataset": "datasets",
    "metric": "metrics",
}


class PluginNameError(GanbenchError):
    """A name ``ganbench new-plugin`` cannot use."""


@dataclass(frozen=True)
class PluginNames:
    """Every name derived from one plugin name.

    Attributes:
        name: the plugin name, e.g. ``"my-gan"``: entry point and registered name.
        kind: ``"model"``, ``"trick"``, ``"dataset"`` or ``"metric"``.
        distribution: the pip distribution, ``"ganbench-my-gan"``.
        package: the import package, ``"ganbench_my_gan"``.
        snake: the name with underscores, ``"my_gan"`` (metric output names).
    """

    name: str
    kind: str

    @property
    def distribution(self) -> str:
        return f"ganbench-{self.name}"

    @property
    def snake(self) -> str:
        return self.name.replace("-", "_")

    @property
    def package(self) -> str:
        return f"ganbench_{self.snake}"


def plugin_names(name: str, kind: str) -> PluginNames:
    """Check ``name`` and ``kind`` and derive the package's names.

    Raises:
        PluginNameError: the name breaks the naming rule, is too long or
            would shadow a ganbench package; or the kind is unknown.
    """
    if kind not in PLUGIN_KINDS:
        raise PluginNameError(
            f"unknown plugin kind {kind!r}; valid choices: {', '.join(PLUGIN_KINDS)}"
        )
    if not PLUGIN_NAME_PATTERN.match(name):
        raise PluginNameError(
            f"plugin name {name!r} must match {PLUGIN_NAME_PATTERN.pattern}: lowercase letters "
            "and digits, single hyphens between them, starting with a letter; it becomes the "
            "distribution ganbench-NAME and the package ganbench_NAME (hyphens as underscores)"
        )
    if len(name) > MAX_NAME_LENGTH:
        raise PluginNameError(
            f"plugin name {name!r} has {len(name)} characters; use at most {MAX_NAME_LENGTH}"
        )
    names = PluginNames(name=name, kind=kind)
    if names.package in RESERVED_PACKAGES:
        raise PluginNameError(
            f"plugin name {name!r} would create the package {names.package}, which ganbench "
            "uses itself; choose another name"
        )
    return names


def check_name_is_free(names: PluginNames, registry: Registry) -> None:
    """Refuse a name that the installed plugins already use.

    Two clashes make the new package fail to load, so they are refused, not
    warned about: a registration of the same kind (the second registrant is
    rejected with "already registered") and a loaded plugin (entry point) of
    the same name (the second one is skipped). Names of other kinds are fine:
    a model may be called like a dataset.

    Raises:
        PluginNameError: naming the plugin that already uses the name.
    """
    from ganbench.registry import KIND_NOUNS  # the registry imports torch: only here

    table = PLUGIN_KINDS[names.kind]
    if names.name in getattr(registry, table):
        owner = registry.owner(table, names.name)
        raise PluginNameError(
            f"a {KIND_NOUNS[table]} named {names.name!r} is already registered by plugin "
            f"{owner!r}; choose another name (see `ganbench plugins`)"
        )
    loaded = {report.name for report in registry.reports}
    if names.name in loaded:
        raise PluginNameError(
            f"a plugin named {names.name!r} is already installed (its entry point would clash "
            "with the new package's); choose another name (see `ganbench plugins`)"
        )
