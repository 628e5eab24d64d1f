"""``ganbench new-plugin``: names, refusals, the files written per kind, and their quality.

Installing the generated packages and running them for real is in
``test_plugins_from_outside.py``; here everything stays in-process and fast.
"""

from __future__ import annotations

import ast
import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from cli_helpers import one_error_line, run_cli

from ganbench.api import API_VERSION
from ganbench.cli.main import main
from ganbench.errors import GanbenchError
from ganbench.registry import load_registry
from ganbench.scaffold import (
    PLUGIN_KINDS,
    PluginNameError,
    TargetExistsError,
    create_plugin_package,
    plugin_names,
    render_package,
)
from ganbench.scaffold import writer as writer_module

KINDS = tuple(PLUGIN_KINDS)

#: Per kind: the registration hook, and words the module docstring must cite.
HOOKS = {
    "model": "ganbench_register_models",
    "trick": "ganbench_register_tricks",
    "dataset": "ganbench_register_datasets",
    "metric": "ganbench_register_metrics",
}
SOURCES = {
    "model": ["Goodfellow et al. 2014", "goodfeli/adversarial"],
    "trick": ["Salimans et al. 2016", "section 3.4"],
    "dataset": ["make_moons", "Pedregosa et al. 2011"],
    "metric": ["Heusel et al. 2017"],
}


def ganbench_modules_imported(source: str) -> set[str]:
    """The modules of ganbench itself (not of the plugin) that ``source`` imports."""
    modules = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            modules.add(node.module)
    return {m for m in modules if m == "ganbench" or m.startswith("ganbench.")}


def package_files(folder: Path) -> set[str]:
    """Every file under ``folder``, as posix paths relative to it."""
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One scaffolded package per kind, written through the CLI."""
    parent = tmp_path_factory.mktemp("scaffolds")
    folders = {}
    for kind in KINDS:
        assert main(["new-plugin", f"demo-{kind}", "--kind", kind, "--dir", str(parent)]) == 0
        folders[kind] = parent / f"demo-{kind}"
    return folders


# --- names ------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["a", "gan2", "my-gan", "x1-y2-z3", "a" * 40])
def test_valid_names_and_what_they_become(name: str) -> None:
    names = plugin_names(name, "model")
    assert names.name == name
    assert names.distribution == f"ganbench-{name}"
    assert names.package == "ganbench_" + name.replace("-", "_")
    assert names.package.isidentifier()


@pytest.mark.parametrize(
    "name",
    ["", "My-Gan", "1gan", "-gan", "gan-", "my--gan", "my_gan", "gan.x", "ga n", "gän", "a" * 41],
)
def test_invalid_names_are_refused_with_the_rule(
    name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # "--": a name starting with "-" would otherwise be read as an option.
    argv = ["new-plugin", "--kind", "model", "--dir", str(tmp_path), "--", name]
    code, out, err = run_cli(argv, capsys)
    assert code == 2 and out == ""
    line = one_error_line(err)
    assert repr(name) in line
    if len(name) <= 40:
        assert "^[a-z][a-z0-9]*(-[a-z0-9]+)*$" in line and "lowercase letters" in line
        assert "ganbench-NAME" in line and "ganbench_NAME" in line
    else:
        assert "at most 40" in line
    assert list(tmp_path.iterdir()) == []


def test_a_name_shadowing_a_ganbench_package_is_refused() -> None:
    with pytest.raises(PluginNameError, match="ganbench_plugins"):
        plugin_names("plugins", "dataset")


def test_unknown_kind(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(PluginNameError, match="valid choices: model, trick, dataset, metric"):
        plugin_names("ok", "loss")
    code, _, err = run_cli(["new-plugin", "ok", "--kind", "loss", "--dir", str(tmp_path)], capsys)
    assert code == 2 and "invalid choice: 'loss'" in one_error_line(err)
    code, _, err = run_cli(["new-plugin", "ok", "--dir", str(tmp_path)], capsys)
    assert code == 2 and "--kind" in one_error_line(err)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("name", "kind", "owner"),
    [
        ("dcgan", "model", "plugin 'dcgan'"),
        ("ring8", "dataset", "plugin 'toy2d'"),
        ("fid", "metric", "plugin 'ganbench-core'"),
        ("toy2d", "trick", "plugin named 'toy2d' is already installed"),
    ],
)
def test_names_in_use_are_refused(
    name: str, kind: str, owner: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Same kind or same plugin name: the new package would be rejected when loaded."""
    code, _, err = run_cli(["new-plugin", name, "--kind", kind, "--dir", str(tmp_path)], capsys)
    assert code == 2
    line = one_error_line(err)
    assert repr(name) in line and owner in line and "choose another name" in line
    assert list(tmp_path.iterdir()) == []


def test_a_name_used_by_another_kind_is_fine(tmp_path: Path) -> None:
    """Registered names are per kind: a trick may be called like a dataset."""
    created = create_plugin_package("ring8", "trick", tmp_path, load_registry())
    assert created.folder == tmp_path / "ring8"


# --- where it writes, and never overwriting --------------------------------------


def test_default_dir_is_the_current_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    code, out, err = run_cli(["new-plugin", "here", "--kind", "metric"], capsys)
    assert code == 0 and err == ""
    assert (tmp_path / "here" / "pyproject.toml").is_file()
    assert f"created {tmp_path / 'here'}" in out
    assert "ganbench run --plugin dcgan --metric here" in out
    assert "pip install -e" in out and "pytest" in out


def test_missing_parent_folders_are_created(tmp_path: Path) -> None:
    created = create_plugin_package("deep", "dataset", tmp_path / "a" / "b")
    assert (created.folder / "README.md").is_file()


def test_the_folder_gets_the_usual_permissions(tmp_path: Path) -> None:
    """Not a temporary folder's private ones: the package is the user's to share."""
    created = create_plugin_package("perm", "metric", tmp_path)
    (tmp_path / "sibling").mkdir()
    assert created.folder.stat().st_mode == (tmp_path / "sibling").stat().st_mode


@pytest.mark.parametrize("existing", ["empty folder", "folder", "file"])
def test_an_existing_target_is_never_overwritten(
    existing: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "taken"
    if existing == "file":
        target.write_text("mine")
    else:
        target.mkdir()
        if existing == "folder":
            (target / "notes.txt").write_text("mine")
    before = package_files(tmp_path)
    code, out, err = run_cli(
        ["new-plugin", "taken", "--kind", "model", "--dir", str(tmp_path)], capsys
    )
    assert code == 2 and out == ""
    line = one_error_line(err)
    assert str(target) in line and "already exists" in line and "never overwrites" in line
    assert package_files(tmp_path) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["taken"]  # no temporary folder left


def test_a_failure_while_writing_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_write = Path.write_text
    written: list[Path] = []

    def failing_write(self: Path, text: str, *args, **kwargs) -> int:
        if written:
            raise OSError(28, "No space left on device")
        written.append(self)
        return real_write(self, text, *args, **kwargs)

    monkeypatch.setattr(Path, "write_text", failing_write)
    with pytest.raises(GanbenchError, match="No space left on device"):
        create_plugin_package("half", "trick", tmp_path)
    assert written, "the first file was written before the failure"
    assert list(tmp_path.iterdir()) == []


def test_a_target_appearing_during_the_write_is_not_replaced(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """rename() would silently replace an empty folder: it is checked again just before."""
    target = tmp_path / "racy"
    real_check = writer_module.check_target_free
    calls = []

    def check_then_create(path: Path) -> None:
        calls.append(path)
        if len(calls) == 2:  # the check right before the rename
            target.mkdir()
        real_check(path)

    monkeypatch.setattr(writer_module, "check_target_free", check_then_create)
    with pytest.raises(TargetExistsError):
        writer_module.write_tree(target, {"a.txt": "x"})
    assert target.is_dir() and list(target.iterdir()) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["racy"]


def test_paths_outside_the_folder_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="inside the package folder"):
        writer_module.write_tree(tmp_path / "pkg", {"../escape.txt": "x"})
    assert list(tmp_path.iterdir()) == []


# --- what is written, per kind ----------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_files_written(kind: str, generated: dict[str, Path]) -> None:
    folder = generated[kind]
    package = f"ganbench_demo_{kind}"
    assert package_files(folder) == {
        "pyproject.toml",
        "README.md",
        ".gitignore",
        "conftest.py",
        f"src/{package}/__init__.py",
        f"src/{package}/plugin.py",
        "tests/test_plugin.py",
    }
    for path in folder.rglob("*"):
        if path.is_file():
            assert "$" not in path.read_text(encoding="utf-8"), f"unfilled placeholder in {path}"


@pytest.mark.parametrize("kind", KINDS)
def test_pyproject_declares_the_distribution_and_entry_point(
    kind: str, generated: dict[str, Path]
) -> None:
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    config = tomllib.loads((generated[kind] / "pyproject.toml").read_text())
    project = config["project"]
    assert project["name"] == f"ganbench-demo-{kind}"
    assert project["dependencies"] == ["ganbench"]
    assert any(dep.startswith("pytest") for dep in project["optional-dependencies"]["test"])
    assert project["entry-points"]["ganbench"] == {f"demo-{kind}": f"ganbench_demo_{kind}.plugin"}
    assert config["tool"]["setuptools"]["packages"]["find"]["where"] == ["src"]


@pytest.mark.parametrize("kind", KINDS)
def test_plugin_module_states_source_name_and_api_version(
    kind: str, generated: dict[str, Path]
) -> None:
    text = (generated[kind] / f"src/ganbench_demo_{kind}/plugin.py").read_text()
    docstring = text.split('"""')[1]
    assert docstring.startswith(f"demo-{kind}: ")
    for source in SOURCES[kind]:
        assert source in docstring, source
    assert f"GANBENCH_API_VERSION = {API_VERSION}\n" in text
    assert f'NAME = "demo-{kind}"' in text
    assert f"@ganbench.hookimpl\ndef {HOOKS[kind]}(" in text
    assert ganbench_modules_imported(text) == {"ganbench", "ganbench.api"}


@pytest.mark.parametrize("kind", KINDS)
def test_tests_use_the_conformance_kit(kind: str, generated: dict[str, Path]) -> None:
    tests = (generated[kind] / "tests/test_plugin.py").read_text()
    assert f'assert_plugin_conforms("demo-{kind}")' in tests
    assert (
        'pytest_plugins = ["ganbench.testing.fixtures"]'
        in (generated[kind] / "conftest.py").read_text()
    )
    assert ganbench_modules_imported(tests) <= {"ganbench", "ganbench.api", "ganbench.testing"}
    if kind == "metric":
        assert tests.count("MetricCase(") >= 3 and "check_metric(" in tests


@pytest.mark.parametrize("kind", KINDS)
def test_readme_says_how_to_install_test_run_and_publish(
    kind: str, generated: dict[str, Path]
) -> None:
    readme = (generated[kind] / "README.md").read_text()
    run_line = {
        "model": "ganbench run --plugin demo-model",
        "trick": "ganbench run --plugin dcgan --trick demo-trick",
        "dataset": "ganbench run --plugin gan --dataset demo-dataset",
        "metric": "ganbench run --plugin dcgan --metric demo-metric",
    }[kind]
    for needle in (
        f"# ganbench-demo-{kind}",
        'pip install -e ".[test]"',
        "ganbench plugins",
        "pytest",
        f"ganbench check-plugin demo-{kind}",
        run_line,
        "## Publish",
        "twine upload",
        f"pip install ganbench-demo-{kind}",
    ):
        assert needle in readme, needle


@pytest.mark.parametrize("kind", KINDS)
def test_generated_python_compiles(kind: str, generated: dict[str, Path]) -> None:
    for path in generated[kind].rglob("*.py"):
        compile(path.read_text(encoding="utf-8"), str(path), "exec")


def test_generated_python_passes_ruff(generated: dict[str, Path]) -> None:
    """With the lint settings the package's own pyproject.toml declares."""
    if importlib.util.find_spec("ruff") is None:
        pytest.skip("ruff is not installed (it is in ganbench's test extra)")
    folders = [str(folder) for folder in generated.values()]
    result = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--no-cache", *folders],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_names_flow_through_the_templates() -> None:
    names = plugin_names("x-y", "metric")
    files = render_package(names, API_VERSION)
    assert 'OUTPUT = "x_y"' in files["src/ganbench_x_y/plugin.py"]


# --- the generated plugin module, loaded by ganbench without installing ----------


@pytest.mark.parametrize("kind", KINDS)
def test_generated_plugin_registers_cleanly(
    kind: str, generated: dict[str, Path], tmp_path: Path
) -> None:
    """The module loads as a ``--plugins-dir`` file: one registration, no error."""
    folder = tmp_path / "plugins"
    folder.mkdir()
    shutil.copy(generated[kind] / f"src/ganbench_demo_{kind}/plugin.py", folder / "demo.py")
    registry = load_registry(folder, include_entry_points=False)
    report = {r.name: r for r in registry.reports}["demo"]
    assert report.error is None
    assert report.registers == {PLUGIN_KINDS[kind]: [f"demo-{kind}"]}


def test_the_stated_api_version_is_the_one_checked(
    generated: dict[str, Path], tmp_path: Path
) -> None:
    folder = tmp_path / "plugins"
    folder.mkdir()
    text = (generated["trick"] / "src/ganbench_demo_trick/plugin.py").read_text()
    stated = f"GANBENCH_API_VERSION = {API_VERSION}\n"
    (folder / "demo.py").write_text(text.replace(stated, "GANBENCH_API_VERSION = 999\n"))
    registry = load_registry(folder, include_entry_points=False)
    report = {r.name: r for r in registry.reports}["demo"]
    assert report.error is not None and "999" in report.error
    assert "demo-trick" not in registry.tricks
