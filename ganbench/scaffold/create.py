"""``ganbench new-plugin``'s work: check the name, render the files, write the folder."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ganbench.scaffold.names import PluginNames, check_name_is_free, plugin_names
from ganbench.scaffold.render import render_package
from ganbench.scaffold.writer import check_target_free, write_tree

if TYPE_CHECKING:
    from ganbench.registry import Registry


@dataclass(frozen=True)
class CreatedPackage:
    """A package written by :func:`create_plugin_package`.

    Attributes:
        names: the plugin, distribution and package names.
        folder: the package folder (absolute).
        files: the files written, relative to ``folder``.
    """

    names: PluginNames
    folder: Path
    files: tuple[str, ...]


def create_plugin_package(
    name: str,
    kind: str,
    parent: Path,
    registry: Registry | None = None,
) -> CreatedPackage:
    """Write a complete, pip-installable plugin package into ``parent / name``.

    Args:
        name: the plugin name (``^[a-z][a-z0-9]*(-[a-z0-9]+)*$``), used as the
            entry point and the registered name; the distribution is
            ``ganbench-NAME`` and the package ``ganbench_NAME``.
        kind: ``"model"``, ``"trick"``, ``"dataset"`` or ``"metric"``.
        parent: the folder to create the package folder in (created if missing).
        registry: the installed plugins; when given, a name already used by
            a plugin or by a registration of the same kind is refused.

    Returns:
        What was written.

    Raises:
        ganbench.scaffold.names.PluginNameError: bad name or kind, or a clash.
        ganbench.scaffold.writer.TargetExistsError: ``parent / name`` exists.
        ganbench.errors.GanbenchError: the folder cannot be written.
        Nothing is left on disk when any of these is raised.
    """
    from ganbench.api import API_VERSION

    names = plugin_names(name, kind)
    target = parent.expanduser().absolute() / names.name
    check_target_free(target)
    if registry is not None:
        check_name_is_free(names, registry)
    files = render_package(names, API_VERSION)
    folder = write_tree(target, files)
    return CreatedPackage(names=names, folder=folder, files=tuple(files))
