"""Assembling the text of every file of a new plugin package."""

from __future__ import annotations

from ganbench.scaffold import dataset_files, metric_files, model_files, package_files, trick_files
from ganbench.scaffold.names import PluginNames
from ganbench.scaffold.template import KindTemplate, fill

#: The kind-specific templates, by plugin kind.
KIND_TEMPLATES: dict[str, KindTemplate] = {
    template.kind: template
    for template in (
        model_files.TEMPLATE,
        trick_files.TEMPLATE,
        dataset_files.TEMPLATE,
        metric_files.TEMPLATE,
    )
}


def render_package(names: PluginNames, api_version: int) -> dict[str, str]:
    """Every file of the package, as {path relative to the package folder: text}.

    Args:
        names: the checked names (see :func:`ganbench.scaffold.names.plugin_names`).
        api_version: the plugin API version the code is written for; stated
            in the plugin module as ``GANBENCH_API_VERSION``.

    Returns:
        ``pyproject.toml``, ``README.md``, ``.gitignore``, ``conftest.py``,
        ``src/<package>/__init__.py``, ``src/<package>/plugin.py`` and
        ``tests/test_plugin.py``, in that order.
    """
    kind = KIND_TEMPLATES[names.kind]

    def render(text: str, **extra: str) -> str:
        return fill(text, names, api_version, **extra)

    summary = render(kind.summary)
    common = {
        "summary": summary,
        "summary_sentence": f"{summary[0].upper()}{summary[1:]}.",
        "run_command": render(kind.run_command),
        "usage": render(kind.readme_usage),
    }
    source = f"src/{names.package}"
    return {
        "pyproject.toml": render(package_files.PYPROJECT, **common),
        "README.md": render(package_files.README, **common),
        ".gitignore": package_files.GITIGNORE,
        "conftest.py": package_files.CONFTEST,
        f"{source}/__init__.py": render(package_files.INIT, **common),
        f"{source}/plugin.py": render(
            kind.plugin_module, api_version_lines=render(package_files.API_VERSION_LINES)
        ),
        "tests/test_plugin.py": render(
            kind.tests, api_version_test=render(package_files.API_VERSION_TEST)
        ),
    }
