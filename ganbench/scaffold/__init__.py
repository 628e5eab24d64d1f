"""``ganbench new-plugin``: scaffolds of complete, pip-installable plugin packages.

One module per concern: :mod:`~ganbench.scaffold.names` (the naming rule and
clashes), :mod:`~ganbench.scaffold.template` and the ``*_files`` modules (the
text of each file, per kind), :mod:`~ganbench.scaffold.render` (assembling a
package), :mod:`~ganbench.scaffold.writer` (writing it all or nothing) and
:mod:`~ganbench.scaffold.create` (the whole job).
"""

from __future__ import annotations

from ganbench.scaffold.create import CreatedPackage, create_plugin_package
from ganbench.scaffold.names import (
    PLUGIN_KINDS,
    PLUGIN_NAME_PATTERN,
    PluginNameError,
    PluginNames,
    plugin_names,
)
from ganbench.scaffold.render import render_package
from ganbench.scaffold.writer import TargetExistsError

__all__ = [
    "PLUGIN_KINDS",
    "PLUGIN_NAME_PATTERN",
    "CreatedPackage",
    "PluginNameError",
    "PluginNames",
    "TargetExistsError",
    "create_plugin_package",
    "plugin_names",
    "render_package",
]
