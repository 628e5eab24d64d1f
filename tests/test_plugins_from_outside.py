"""Proof from outside: plugin packages installed with pip work, and broken ones are contained.

For each kind, ``ganbench new-plugin`` scaffolds a package into a temporary
folder; pip installs it (editable, no dependencies, no build isolation);
then, in subprocesses, ``ganbench plugins --json`` lists it without error,
``ganbench check-plugin`` passes, a short ``ganbench run`` uses it, and the
package's own test suite passes; ``pip uninstall`` then removes every trace.
A deliberately broken package (an import error, a registration missing a
field, a model whose G returns the wrong shape) is installed the same way:
each problem is one clear line, and the rest of ganbench keeps working.

Where the packages are installed: not into the environment running the
tests, but into a throw-away virtual environment layered on top of it (a
``.pth`` file adds this environment's site-packages, so ganbench, torch and
pytest are the very ones under test). Installing into the running
environment would show the test packages to every other test process using
it meanwhile (``test_plugins_cmd.py`` asserts the exact plugin list), and a
crashed run would leave them installed; the layer is deleted afterwards,
whatever happened, and nothing outside the temporary folder changes.
"""

from __future__ import annotations

import importlib.util
import json
import os
import secrets
import shutil
import site
import subprocess
import textwrap
import venv
from collections.abc import Iterator
from dataclasses import dataclass
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

import pytest

from ganbench.api import API_VERSION
from ganbench.scaffold import PLUGIN_KINDS, create_plugin_package

#: About a minute of subprocesses: skippable with -m "not slow", like the other end-to-end runs.
pytestmark = pytest.mark.slow

#: Unique per session, so packages of an earlier, crashed session never clash.
SESSION_TAG = secrets.token_hex(3)

#: Run settings: short, and small enough to evaluate in a second.
SHORT_RUN = ["--steps", "20", "--eval-samples", "64", "--quiet", "--json"]

#: Runs ganbench commands one after the other in one interpreter (saving the
#: start-up and torch import per command) and prints one JSON list of
#: {argv, code, stdout, stderr}; each command goes through the CLI's main().
BATCH_DRIVER = textwrap.dedent(
    """
    import contextlib, io, json, sys
    from ganbench.cli.main import main

    results = []
    for argv in json.loads(sys.argv[1]):
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = main(argv)
            except SystemExit as exc:
                code = exc.code
        results.append(
            {"argv": argv, "code": code, "stdout": out.getvalue(), "stderr": err.getvalue()}
        )
    print(json.dumps(results))
    """
)


@dataclass
class Layer:
    """A throw-away virtual environment on top of the running one."""

    root: Path
    python: Path
    env: dict[str, str]

    def run(
        self, args: list[str], cwd: Path | None = None, timeout: float = 300
    ) -> subprocess.CompletedProcess[str]:
        """``python ARGS`` in the layer."""
        return subprocess.run(
            [str(self.python), *args],
            cwd=cwd,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def pip_install(self, *folders: Path) -> None:
        """Editable installs without dependencies or build isolation (seconds, offline).

        Without setuptools in the environment (Python 3.12+ venvs lack it),
        pip builds in isolation instead, fetching setuptools from the index.
        """
        args = ["-m", "pip", "install", "--no-deps", "-q"]
        if importlib.util.find_spec("setuptools") is not None:
            args += ["--no-build-isolation", "--no-index"]
        for folder in folders:
            args += ["-e", str(folder)]
        result = self.run(args)
        assert result.returncode == 0, result.stdout + result.stderr

    def pip_uninstall(self, *distributions: str) -> None:
        """``pip uninstall -y`` in the layer."""
        result = self.run(["-m", "pip", "uninstall", "-y", "-q", *distributions])
        assert result.returncode == 0, result.stdout + result.stderr

    def ganbench(self, *commands: list[str]) -> list[dict[str, Any]]:
        """Run ganbench ``commands`` in one subprocess; one result dict per command."""
        result = self.run(["-c", BATCH_DRIVER, json.dumps(list(commands))])
        assert result.returncode == 0, result.stderr[-3000:]
        return json.loads(result.stdout.splitlines()[-1])


def make_layer(root: Path, runs: Path) -> Layer:
    """Create the layer at ``root``; its ganbench runs go to ``runs``."""
    if importlib.util.find_spec("pip") is None:
        pytest.skip("pip is not installed in the test environment")
    venv.EnvBuilder(with_pip=False, symlinks=os.name != "nt", clear=True).create(root)
    python = root / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    probe = subprocess.run(
        [str(python), "-c", "import site; print(site.getsitepackages()[0])"],
        capture_output=True,
        text=True,
        check=True,
    )
    # addsitedir (not a bare path) so the .pth files there run too: ganbench's
    # own editable install is one.
    site_dirs = list(site.getsitepackages())
    if site.ENABLE_USER_SITE and os.path.isdir(site.getusersitepackages()):
        site_dirs.append(site.getusersitepackages())
    lines = "".join(f"import site; site.addsitedir({d!r})\n" for d in site_dirs)
    Path(probe.stdout.strip(), "_ganbench_test_layer.pth").write_text(lines)
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("GANBENCH_", "PYTEST_", "PIP_", "VIRTUAL_ENV", "PYTHONHOME"))
    }
    env.update(
        OMP_NUM_THREADS="1",
        MKL_NUM_THREADS="1",
        PIP_DISABLE_PIP_VERSION_CHECK="1",
        PIP_NO_INPUT="1",
        GANBENCH_RUNS_DIR=str(runs),
        GANBENCH_STORE=str(runs / "results.sqlite"),
    )
    # The session's cache (conftest.py): the digits evaluator trains once per session.
    if os.environ.get("GANBENCH_CACHE_DIR"):
        env["GANBENCH_CACHE_DIR"] = os.environ["GANBENCH_CACHE_DIR"]
    return Layer(root=root, python=python, env=env)


def plugin_entries(layer: Layer) -> dict[str, dict[str, Any]]:
    """``ganbench plugins --json`` in the layer, by plugin name."""
    (result,) = layer.ganbench(["plugins", "--json"])
    assert result["code"] == 0 and result["stderr"] == "", result
    return {entry["name"]: entry for entry in json.loads(result["stdout"])}


def one_line(text: str) -> str:
    """The only line of ``text``; fails on a traceback or several lines."""
    assert "Traceback" not in text, text
    lines = text.strip().splitlines()
    assert len(lines) == 1, text
    return lines[0]


# --- packages scaffolded by ganbench new-plugin ----------------------------------


@dataclass
class Installed:
    """The four scaffolded packages, installed in a layer."""

    layer: Layer
    names: dict[str, str]  # kind -> plugin name
    folders: dict[str, Path]  # kind -> package folder


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Installed]:
    base = tmp_path_factory.mktemp("outside")
    layer = make_layer(base / "layer", base / "runs")
    try:
        names = {kind: f"gbt-{SESSION_TAG}-{kind}" for kind in PLUGIN_KINDS}
        folders = {
            kind: create_plugin_package(name, kind, base / "src").folder
            for kind, name in names.items()
        }
        layer.pip_install(*folders.values())
        yield Installed(layer=layer, names=names, folders=folders)
    finally:
        shutil.rmtree(layer.root, ignore_errors=True)


def test_ganbench_plugins_lists_them(installed: Installed) -> None:
    entries = plugin_entries(installed.layer)
    for kind, name in installed.names.items():
        entry = entries[name]
        assert entry["error"] is None, entry
        assert entry["registers"] == {PLUGIN_KINDS[kind]: [name]}
        assert entry["version"] == "0.1.0"
        assert entry["source"].startswith(f"ganbench-{name} 0.1.0")
    # The packages broke nothing that was there before.
    assert all(entry["error"] is None for entry in entries.values()), entries


def test_the_running_environment_does_not_see_them(installed: Installed) -> None:
    """The packages are visible inside the layer only."""
    ours = set(installed.names.values())
    assert not ours & {ep.name for ep in entry_points(group="ganbench")}


def test_check_plugin_passes_and_runs_use_them(installed: Installed) -> None:
    """``check-plugin`` for each; then each kind in its README's ``ganbench run``."""
    names = installed.names
    results = installed.layer.ganbench(
        *(["check-plugin", name, "--json"] for name in names.values()),
        ["run", "--plugin", names["model"], *SHORT_RUN],
        ["run", "--plugin", "gan", "--dataset", names["dataset"], *SHORT_RUN],
        ["run", "--plugin", "dcgan", "--trick", names["trick"], *SHORT_RUN],
        ["run", "--plugin", "dcgan", "--metric", f"fid,{names['metric']}", *SHORT_RUN],
    )
    checks, runs = results[:4], results[4:]
    for kind, check in zip(names, checks, strict=True):
        assert check["code"] == 0, (kind, check["stdout"][-2000:], check["stderr"])
        reports = json.loads(check["stdout"])
        assert reports[0]["check"] == "plugin loads" and reports[0]["status"] == "passed"
        assert any(r["status"] == "passed" and r["subject"] == names[kind] for r in reports[1:])

    for result in runs:
        assert result["code"] == 0, (result["argv"], result["stderr"])
    model_run, dataset_run, trick_run, metric_run = (json.loads(r["stdout"]) for r in runs)
    for record in (model_run, dataset_run, trick_run, metric_run):
        assert record["status"] == "completed" and record["steps_done"] == 20
    assert model_run["model"] == names["model"] and model_run["dataset"] == "digits"
    assert dataset_run["dataset"] == names["dataset"]
    assert "kid[identity]" in dataset_run["metrics"]  # the dataset's own feature space
    assert trick_run["tricks"] == [{"name": names["trick"], "params": {"smoothing": 0.9}}]
    output = names["metric"].replace("-", "_") + "[digits-evaluator]"
    assert set(metric_run["metrics"]) == {"fid[digits-evaluator]", output}
    assert metric_run["directions"][output] == "lower"
    assert metric_run["metrics"][output] >= 0.0


@pytest.mark.parametrize("kind", tuple(PLUGIN_KINDS))
def test_the_packages_own_tests_pass(installed: Installed, kind: str) -> None:
    result = installed.layer.run(
        ["-m", "pytest", "-q", "-p", "no:cacheprovider"], cwd=installed.folders[kind]
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert " passed" in result.stdout and "skipped" not in result.stdout


def test_uninstalling_removes_them(installed: Installed) -> None:
    """Last of the module's uses of the installed packages: pip uninstall leaves no trace."""
    installed.layer.pip_uninstall(*(f"ganbench-{name}" for name in installed.names.values()))
    entries = plugin_entries(installed.layer)
    assert not set(installed.names.values()) & set(entries)
    assert all(entry["error"] is None for entry in entries.values())


# --- a deliberately broken package ------------------------------------------------

BROKEN_PYPROJECT = """\
[build-system]
requires = ["setuptools>=64"]
build-backend = "setuptools.build_meta"

[project]
name = "gbtest-broken-{tag}"
version = "0.0.1"
dependencies = ["ganbench"]

[project.entry-points.ganbench]
gbt-{tag}-import = "gbtest_broken_{tag}.import_error"
gbt-{tag}-nofield = "gbtest_broken_{tag}.missing_field"
gbt-{tag}-shape = "gbtest_broken_{tag}.wrong_shape"

[tool.setuptools.packages.find]
where = ["src"]
"""

BROKEN_MODULES = {
    "__init__.py": '"""Three plugins, each breaking the contract in one way."""\n',
    "import_error.py": textwrap.dedent(
        """
        \"\"\"Fails to import: a dependency that is not installed.\"\"\"
        import ganbench_test_dependency_that_does_not_exist  # noqa: F401
        """
    ),
    "missing_field.py": textwrap.dedent(
        """
        \"\"\"Registers a model without its ``paper``.\"\"\"
        import ganbench
        from ganbench.api import ModelSpec, TaskKind

        GANBENCH_API_VERSION = {api}

        @ganbench.hookimpl
        def ganbench_register_models(register):
            register(ModelSpec(name="gbt-{tag}-nofield", build=dict,
                               task=TaskKind.UNCONDITIONAL, data_kinds=("image",), paper=""))
        """
    ),
    "wrong_shape.py": textwrap.dedent(
        """
        \"\"\"A valid registration of a model whose G returns one value too many per sample.\"\"\"
        import math
        import torch
        import ganbench
        from ganbench.api import ModelSpec, TaskKind, UnconditionalGAN

        GANBENCH_API_VERSION = {api}

        class WrongShape(UnconditionalGAN):
            latent_dim = 4

            def __init__(self, info):
                super().__init__()
                size = math.prod(info.shape)
                self.generator = torch.nn.Linear(4, size + 1)  # flat, and one too many
                self.discriminator = torch.nn.Sequential(
                    torch.nn.Flatten(), torch.nn.Linear(size, 1), torch.nn.Flatten(0)
                )

            def configure_optimizers(self):
                return self.adam_optimizers()

        @ganbench.hookimpl
        def ganbench_register_models(register):
            register(ModelSpec(name="gbt-{tag}-shape", build=WrongShape,
                               task=TaskKind.UNCONDITIONAL, data_kinds=("image", "vector"),
                               paper="a test double"))
        """
    ),
}


@pytest.fixture(scope="module")
def broken(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Layer]:
    base = tmp_path_factory.mktemp("outside-broken")
    package = base / "src" / "broken"
    source = package / "src" / f"gbtest_broken_{SESSION_TAG}"
    source.mkdir(parents=True)
    (package / "pyproject.toml").write_text(BROKEN_PYPROJECT.format(tag=SESSION_TAG))
    for name, text in BROKEN_MODULES.items():
        (source / name).write_text(
            text.replace("{tag}", SESSION_TAG).replace("{api}", str(API_VERSION))
        )
    layer = make_layer(base / "layer", base / "runs")
    try:
        layer.pip_install(package)
        yield layer
    finally:
        shutil.rmtree(layer.root, ignore_errors=True)


def test_broken_plugins_are_each_one_line_and_the_rest_works(broken: Layer) -> None:
    tag = SESSION_TAG
    entries = plugin_entries(broken)
    import_error = entries[f"gbt-{tag}-import"]["error"]
    assert one_line(import_error) == import_error
    assert "import failed" in import_error and "ModuleNotFoundError" in import_error
    assert "ganbench_test_dependency_that_does_not_exist" in import_error
    missing = entries[f"gbt-{tag}-nofield"]["error"]
    assert one_line(missing) == missing
    assert f"gbt-{tag}-nofield" in missing and "missing field 'paper'" in missing
    assert entries[f"gbt-{tag}-nofield"]["registers"] == {}
    shape = entries[f"gbt-{tag}-shape"]
    assert shape["error"] is None and shape["registers"] == {"models": [f"gbt-{tag}-shape"]}
    first_party = {"gan", "dcgan", "digits", "toy2d", "ganbench-core"}
    assert all(entries[name]["error"] is None for name in first_party)

    bad_run, check, good_run = broken.ganbench(
        ["run", "--plugin", f"gbt-{tag}-shape", "--steps", "5", "--quiet"],
        ["check-plugin", f"gbt-{tag}-shape", "--json"],
        ["run", "--plugin", "dcgan", "--steps", "5", "--eval-samples", "64", "--quiet", "--json"],
    )
    assert bad_run["code"] == 2 and bad_run["stdout"] == ""
    line = one_line(bad_run["stderr"])
    assert line.startswith("ganbench: error: ") and f"'gbt-{tag}-shape'" in line
    assert "generator returned shape (2, 65)" in line and "expected (2, 1, 8, 8)" in line

    assert check["code"] == 1
    failed = [r for r in json.loads(check["stdout"]) if r["status"] == "failed"]
    assert failed and all(r["check"].startswith("generator output shape") for r in failed)
    assert any("expected (8, 1, 8, 8)" in r["detail"] for r in failed)

    assert good_run["code"] == 0, good_run["stderr"]
    record = json.loads(good_run["stdout"])
    assert record["model"] == "dcgan" and record["status"] == "completed"
