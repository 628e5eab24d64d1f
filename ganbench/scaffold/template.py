"""What each plugin kind contributes to a scaffolded package, and how text is filled in.

Templates are Python strings (not package data files), so they ship in
every install of ganbench, editable or wheel, with no packaging settings.
They use :class:`string.Template` placeholders, which never clash with
Python or TOML syntax (neither uses ``$``):

* ``$name``: the plugin name (``my-gan``);
* ``$snake``: the name with underscores (``my_gan``);
* ``$package``: the import package (``ganbench_my_gan``);
* ``$distribution``: the pip distribution (``ganbench-my-gan``);
* ``$kind``: ``model``, ``trick``, ``dataset`` or ``metric``;
* ``$api_version``: the plugin API version the package is written for.
"""

from __future__ import annotations

from dataclasses import dataclass
from string import Template

from ganbench.scaffold.names import PluginNames


@dataclass(frozen=True)
class KindTemplate:
    """The kind-specific parts of a generated package.

    Attributes:
        kind: the plugin kind.
        summary: one line for the package description, e.g. "a small MLP GAN".
        plugin_module: text of ``src/<package>/plugin.py``: the example and its hooks.
        tests: text of ``tests/test_plugin.py``: conformance and kind-specific tests.
        readme_usage: Markdown for the README's "Use it" section.
        run_command: the ``ganbench run`` line that exercises the plugin.
    """

    kind: str
    summary: str
    plugin_module: str
    tests: str
    readme_usage: str
    run_command: str


def fill(text: str, names: PluginNames, api_version: int, **extra: str) -> str:
    """``text`` with every placeholder replaced; an unknown placeholder raises KeyError.

    ``extra`` adds placeholders (the README's ``$usage``, for example).
    """
    return Template(text).substitute(
        extra,
        name=names.name,
        snake=names.snake,
        package=names.package,
        distribution=names.distribution,
        kind=names.kind,
        api_version=str(api_version),
    )
