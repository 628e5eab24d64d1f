"""``ganbench plugins``: what is installed, from where, and what failed to load.

Also: broken plugins in a ``--plugins-dir`` are reported in their own entry
while everything else keeps working, and the environment switches
``GANBENCH_PLUGINS_DIR``, ``GANBENCH_LOAD_PLUGINS`` and
``GANBENCH_DISABLE_PLUGINS``.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

import ganbench
from ganbench.api import API_VERSION
from ganbench.cli.main import main

BROKEN_PLUGINS = Path(__file__).parent / "broken_plugins"

FIRST_PARTY = {
    "gan": {"models": ["gan"]},
    "dcgan": {"models": ["dcgan"]},
    "cgan": {"models": ["cgan"]},
    "digits": {"datasets": ["digits"]},
    "toy2d": {"datasets": ["grid25", "ring8"]},
    "torchvision-datasets": {"datasets": ["cifar10", "fashion-mnist", "mnist"]},
    "image-folder": {"datasets": ["image-folder"]},
    "stacked": {"datasets": ["stacked-digits", "stacked-mnist"]},
    "gan2d": {"models": ["gan2d"]},
    "pacgan": {"models": ["pacgan"]},
    "wgan": {"models": ["wgan"]},
    "wgan-gp": {"models": ["wgan-gp"]},
    "lsgan": {"models": ["lsgan"]},
    "acgan": {"models": ["acgan"]},
    "infogan": {"models": ["infogan"], "metrics": ["code-alignment"]},
    "unrolled": {"models": ["unrolled"]},
    "gradient-penalty": {"tricks": ["gradient-penalty"]},
    "ema": {"tricks": ["ema"]},
    "spectral-norm": {"tricks": ["spectral-norm"]},
    "spherical-latent": {"tricks": ["spherical-latent"]},
    "d-pretrain": {"tricks": ["d-pretrain"]},
    "label-smoothing": {"tricks": ["label-smoothing"]},
    "label-flip": {"tricks": ["label-flip"]},
    "instance-noise": {"tricks": ["instance-noise"]},
    "uniform-latent": {"tricks": ["uniform-latent"]},
    "dcgan-init": {"tricks": ["dcgan-init"]},
    "d-dropout": {"tricks": ["d-dropout"]},
    "ttur": {"tricks": ["ttur"]},
    "d-steps": {"tricks": ["d-steps"]},
    "r1": {"tricks": ["r1"]},
    "historical-averaging": {"tricks": ["historical-averaging"]},
    "smooth-gradients": {"tricks": ["smooth-gradients"]},
    "output-noise": {"tricks": ["output-noise"]},
    "feature-matching": {"tricks": ["feature-matching"]},
    "mixed-batches": {"tricks": ["mixed-batches"]},
    "minibatch-discrimination": {"tricks": ["minibatch-discrimination"]},
    "minibatch-stddev": {"tricks": ["minibatch-stddev"]},
    "virtual-batch-norm": {"tricks": ["virtual-batch-norm"]},
    "simultaneous-updates": {"tricks": ["simultaneous-updates"]},
    "early-stop": {"tricks": ["early-stop"]},
    "sr-photos": {"datasets": ["sr-photos"]},
    "digits-m": {"datasets": ["digits-m"]},
    "srgan": {"models": ["srgan"]},
    "lapgan": {"models": ["lapgan"]},
    "cyclegan": {"models": ["cyclegan"]},
    "cyclegan-folder": {"datasets": ["cyclegan-folder"]},
    "digits-captions": {"datasets": ["digits-captions"]},
    "gan-int-cls": {"models": ["gan-cls", "gan-int", "gan-int-cls"]},
    "srresnet": {"models": ["srresnet"]},
    "bicubic": {"models": ["bicubic"]},
    "identity": {"models": ["identity"]},
    "sr-folder": {"datasets": ["sr-folder"]},
    "caption-folder": {"datasets": ["caption-folder"]},
}
CORE = "ganbench-core"

#: The broken plugin files and what their error must mention.
BROKEN = {
    "import_error": ["import failed", "ImportError", "some_missing_dependency"],
    "syntax_error": ["import failed", "SyntaxError"],
    "invalid_spec": ["no-paper", "paper", "Bad Name", "not-callable", "callable"],
    "duplicate_dcgan": ["'dcgan'", "already registered", "plugin 'dcgan'"],
    "raising_hook": ["ganbench_register_metrics", "RuntimeError", "boom while registering"],
    "future_api": ["999", str(API_VERSION)],
}


def run_cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """``ganbench ARGV`` in-process: (exit code, stdout, stderr)."""
    try:
        code = main(argv)
    except SystemExit as exc:
        code = exc.code
    out, err = capsys.readouterr()
    return code, out, err


def plugins_json(capsys, *argv: str) -> dict[str, dict]:
    """``ganbench plugins --json [ARGV]`` as {name: entry}; checks exit 0 and quiet stderr."""
    code, out, err = run_cli(["plugins", "--json", *argv], capsys)
    assert code == 0, err
    assert err == ""
    entries = json.loads(out)
    assert isinstance(entries, list)
    by_name = {entry["name"]: entry for entry in entries}
    assert len(by_name) == len(entries), "plugin names must be unique in the listing"
    return by_name


def plugins_dir(tmp_path: Path, *files: str) -> Path:
    """A fresh plugins folder with copies of the named test plugins."""
    folder = tmp_path / "plugins"
    folder.mkdir(parents=True, exist_ok=True)
    for name in files:
        shutil.copy(BROKEN_PLUGINS / name, folder / name)
    return folder


def broken_plugins_dir(tmp_path: Path) -> Path:
    """The good tiny plugin next to one file for each way of breaking."""
    folder = plugins_dir(
        tmp_path, "good_tiny.py", *(f"{n}.py" for n in BROKEN if n != "syntax_error")
    )
    (folder / "syntax_error.py").write_text("def broken(:\n")
    (folder / "_private_helper.py").write_text(
        "raise RuntimeError('files starting with _ are skipped')\n"
    )
    (folder / "notes.txt").write_text("not a plugin")
    return folder


def assert_first_party_ok(entries: dict[str, dict]) -> None:
    for name, registers in FIRST_PARTY.items():
        entry = entries[name]
        assert entry["error"] is None, entry
        assert entry["registers"] == registers, entry
        assert entry["version"] == ganbench.__version__
        assert "ganbench_plugins." in entry["source"]


# --- the listing ------------------------------------------------------------------


def test_json_lists_core_and_first_party_plugins(capsys) -> None:
    entries = plugins_json(capsys)
    assert set(entries) == {CORE, *FIRST_PARTY}
    for entry in entries.values():
        assert {"name", "version", "source", "registers", "error"} <= set(entry)
        assert isinstance(entry["source"], str) and entry["source"]
        assert all(isinstance(names, list) for names in entry["registers"].values())
    assert_first_party_ok(entries)
    core = entries[CORE]
    assert core["error"] is None and core["version"] == ganbench.__version__
    assert {"fid", "kid", "is"} <= set(core["registers"]["metrics"])
    assert {"evaluator", "identity", "inception-v3"} <= set(core["registers"]["feature_extractors"])


def test_table_lists_plugins(capsys, monkeypatch) -> None:
    monkeypatch.setenv("COLUMNS", "250")  # no wrapping inside names
    code, out, err = run_cli(["plugins"], capsys)
    assert code == 0 and err == ""
    for name in [CORE, *FIRST_PARTY, "ring8", "cifar10", "fid"]:
        assert name in out
    assert "error" in out and "registers" in out and "source" in out and "version" in out


def test_table_shows_load_errors(tmp_path: Path, capsys, monkeypatch) -> None:
    monkeypatch.setenv("COLUMNS", "400")
    folder = broken_plugins_dir(tmp_path)
    code, out, err = run_cli(["plugins", "--plugins-dir", str(folder)], capsys)
    assert code == 0 and err == ""
    for name in [*BROKEN, "good_tiny", "dcgan"]:
        assert name in out
    assert "some_missing_dependency" in out and "1.2.3" in out


# --- broken plugins are reported, the rest works ----------------------------------


def test_broken_plugins_each_reported_in_their_own_entry(tmp_path: Path, capsys) -> None:
    folder = broken_plugins_dir(tmp_path)
    entries = plugins_json(capsys, "--plugins-dir", str(folder))
    assert "_private_helper" not in entries and "notes" not in entries
    for name, needles in BROKEN.items():
        error = entries[name]["error"]
        assert isinstance(error, str) and "\n" not in error, (name, error)
        for needle in needles:
            assert needle in error, (name, needle, error)
        assert entries[name]["source"].endswith(f"{name}.py")
    # Nothing invalid got registered.
    assert entries["invalid_spec"]["registers"] == {}
    assert entries["duplicate_dcgan"]["registers"] == {}
    assert entries["future_api"]["registers"] == {}
    good = entries["good_tiny"]
    assert good["error"] is None
    assert good["version"] == "1.2.3"
    assert good["source"] == str(folder / "good_tiny.py")
    assert good["registers"] == {
        "models": ["tiny", "tiny-baddisc", "tiny-notmodel", "tiny-wrong"],
        "tricks": ["noop"],
    }
    assert_first_party_ok(entries)


def test_good_and_first_party_plugins_still_run(tmp_path: Path, capsys) -> None:
    folder = broken_plugins_dir(tmp_path)
    common = ["--plugins-dir", str(folder), "--dataset", "ring8", "--steps", "2",
              "--eval-samples", "64", "--quiet", "--json"]  # fmt: skip
    records = {}
    for model in ("tiny", "gan"):
        code, out, err = run_cli(["run", "--plugin", model, *common], capsys)
        assert code == 0, err
        records[model] = json.loads(out)
    for model, record in records.items():
        assert record["model"] == model and record["status"] == "completed"
        assert record["steps_done"] == 2
        assert Path(record["run_dir"]).is_dir()
    assert Path(os.environ["GANBENCH_STORE"]).is_file()
    # The impostor dcgan (no size check, a build that fails) did not replace the real one.
    argv = ["run", "--plugin", "dcgan", "--image-size", "3", *common[:2]]
    code, _, err = run_cli(argv, capsys)
    assert code == 2 and "DCGAN cannot upsample to 3 px" in err


def test_trick_from_a_plugin_runs(tmp_path: Path, capsys) -> None:
    folder = plugins_dir(tmp_path, "good_tiny.py")
    argv = ["run", "--plugins-dir", str(folder), "--plugin", "tiny", "--dataset", "ring8",
            "--trick", "noop:0.5", "--steps", "2", "--eval-samples", "64", "--json"]  # fmt: skip
    code, out, err = run_cli(argv, capsys)
    assert code == 0, err
    assert json.loads(out)["tricks"] == [{"name": "noop", "params": {"std": 0.5}}]


def test_plugin_exiting_at_import_is_reported(tmp_path: Path, capsys) -> None:
    folder = plugins_dir(tmp_path, "good_tiny.py", "exits_on_import.py")
    entries = plugins_json(capsys, "--plugins-dir", str(folder))  # exit code 3 today
    assert "SystemExit" in entries["exits_on_import"]["error"]
    assert entries["good_tiny"]["error"] is None


def test_misspelled_hook_is_reported(tmp_path: Path, capsys) -> None:
    folder = plugins_dir(tmp_path, "typo_hook.py")
    entries = plugins_json(capsys, "--plugins-dir", str(folder))
    error = entries["typo_hook"]["error"]
    assert error is not None and "ganbench_register_modles" in error


def test_trylast_plugin_cannot_take_over_a_first_party_name(tmp_path: Path, capsys) -> None:
    folder = plugins_dir(tmp_path, "trylast_duplicate.py")
    entries = plugins_json(capsys, "--plugins-dir", str(folder))
    assert entries["dcgan"]["error"] is None
    assert entries["dcgan"]["registers"] == {"models": ["dcgan"]}
    assert "plugin 'dcgan'" in (entries["trylast_duplicate"]["error"] or "")


def test_plugin_with_a_numeric_version_does_not_break_the_table(tmp_path: Path, capsys) -> None:
    folder = plugins_dir(tmp_path, "float_version.py")
    try:
        code, out, err = run_cli(["plugins", "--plugins-dir", str(folder)], capsys)
    except TypeError as exc:
        pytest.fail(f"`ganbench plugins` crashed: {exc!r}")
    assert code == 0 and "float_version" in out
    assert plugins_json(capsys, "--plugins-dir", str(folder))["float_version"]["version"] == "1.5"


# --- where plugins come from: flag and environment --------------------------------


@pytest.mark.parametrize(
    "command",
    [["plugins", "--json"], ["leaderboard", "build"], ["run", "--plugin", "tiny", "--steps", "x"]],
    ids=["plugins", "leaderboard", "run"],
)
def test_every_command_accepts_plugins_dir(command: list[str], tmp_path: Path, capsys) -> None:
    folder = plugins_dir(tmp_path, "good_tiny.py")
    code, out, err = run_cli([*command, "--plugins-dir", str(folder)], capsys)
    assert "unrecognized arguments" not in err
    if command[0] == "plugins":
        assert code == 0 and "good_tiny" in out
    elif command[0] == "leaderboard":
        assert code == 2 and "no results store" in err
    else:
        assert code == 2 and "--steps" in err


def test_plugins_dir_from_environment(tmp_path: Path, capsys, monkeypatch) -> None:
    folder = plugins_dir(tmp_path, "good_tiny.py", "import_error.py")
    monkeypatch.setenv("GANBENCH_PLUGINS_DIR", str(folder))
    entries = plugins_json(capsys)
    assert entries["good_tiny"]["registers"]["models"][0] == "tiny"
    assert "ImportError" in entries["import_error"]["error"]
    code, _, err = run_cli(["run", "--plugin", "tiny-wrong", "--dataset", "ring8"], capsys)
    assert code == 2 and "'tiny-wrong'" in err  # the model is found through the env var


def test_plugins_dir_flag_overrides_environment(tmp_path: Path, capsys, monkeypatch) -> None:
    env_folder = plugins_dir(tmp_path / "env", "import_error.py")
    flag_folder = plugins_dir(tmp_path / "flag", "good_tiny.py")
    monkeypatch.setenv("GANBENCH_PLUGINS_DIR", str(env_folder))
    entries = plugins_json(capsys, "--plugins-dir", str(flag_folder))
    assert "good_tiny" in entries and "import_error" not in entries


def test_disable_plugins(capsys, monkeypatch) -> None:
    monkeypatch.setenv("GANBENCH_DISABLE_PLUGINS", "dcgan")
    entries = plugins_json(capsys)
    assert set(entries) == {CORE, *FIRST_PARTY} - {"dcgan"}
    code, _, err = run_cli(["run", "--plugin", "dcgan"], capsys)
    assert code == 2
    assert len(err.splitlines()) == 1
    assert "unknown model 'dcgan'" in err
    choices = err.split("valid choices:")[1]
    assert "cgan" in choices and "dcgan" not in choices
    assert_runs_dir_empty()


def test_disable_several_plugins(capsys, monkeypatch) -> None:
    monkeypatch.setenv("GANBENCH_DISABLE_PLUGINS", " dcgan , toy2d ")
    assert set(plugins_json(capsys)) == {CORE, *FIRST_PARTY} - {"dcgan", "toy2d"}


def test_load_only_listed_plugins(capsys, monkeypatch) -> None:
    monkeypatch.setenv("GANBENCH_LOAD_PLUGINS", "digits,dcgan")
    assert set(plugins_json(capsys)) == {CORE, "digits", "dcgan"}
    code, _, err = run_cli(["run", "--plugin", "gan"], capsys)
    assert code == 2 and "unknown model 'gan'" in err and "dcgan" in err


def test_load_plugins_empty_means_none(capsys, monkeypatch) -> None:
    monkeypatch.setenv("GANBENCH_LOAD_PLUGINS", "")
    assert set(plugins_json(capsys)) == {CORE}
    code, _, err = run_cli(["run", "--plugin", "dcgan"], capsys)
    assert code == 2 and "(none registered)" in err


def test_load_plugins_by_distribution_name(capsys, monkeypatch) -> None:
    monkeypatch.setenv("GANBENCH_LOAD_PLUGINS", "ganbench")  # the distribution of all first-party
    assert set(plugins_json(capsys)) == {CORE, *FIRST_PARTY}


def test_disable_wins_over_load(capsys, monkeypatch) -> None:
    monkeypatch.setenv("GANBENCH_LOAD_PLUGINS", "digits,dcgan")
    monkeypatch.setenv("GANBENCH_DISABLE_PLUGINS", "dcgan")
    assert set(plugins_json(capsys)) == {CORE, "digits"}


def test_load_plugins_does_not_hide_plugins_dir(tmp_path: Path, capsys, monkeypatch) -> None:
    folder = plugins_dir(tmp_path, "good_tiny.py")
    monkeypatch.setenv("GANBENCH_LOAD_PLUGINS", "")
    assert set(plugins_json(capsys, "--plugins-dir", str(folder))) == {CORE, "good_tiny"}


def assert_runs_dir_empty() -> None:
    runs = Path(os.environ["GANBENCH_RUNS_DIR"])
    assert not runs.exists() or not any(runs.iterdir())
    assert not Path(os.environ["GANBENCH_STORE"]).exists()


# --- parameters of models and tricks ----------------------------------------------

#: A plugins-folder file with a model that declares parameters (one with choices).
PARAM_MODEL_PLUGIN = """
import math

import torch
from torch import nn

import ganbench
from ganbench.api import GANModel, ModelSpec, Param, TaskKind


class Knobs(GANModel):
    latent_dim = 4

    def __init__(self, info, params):
        super().__init__()
        self.shape = tuple(info.shape)
        size = math.prod(self.shape)
        self.generator = nn.Linear(4, size)
        self.discriminator = nn.Linear(size, 1)
        self.lr = float(params["lr"])

    def generate(self, z, cond):
        return torch.tanh(self.generator(z)).view(z.shape[0], *self.shape)

    def discriminate(self, x, cond):
        return self.discriminator(x.flatten(1)).squeeze(1)

    def configure_optimizers(self):
        return self.adam_optimizers(lr=self.lr)


@ganbench.hookimpl
def ganbench_register_models(register):
    register(
        ModelSpec(
            name="knobs",
            build=Knobs,
            task=TaskKind.UNCONDITIONAL,
            data_kinds=("vector",),
            paper="test plugin, no paper",
            params=(
                Param("width", int, 3, "hidden units per layer"),
                Param("body", str, "auto", "which networks", choices=("auto", "mlp", "conv")),
                Param("lr", float, 1e-3, "Adam learning rate"),
            ),
        )
    )
"""


def params_plugins_dir(tmp_path: Path) -> Path:
    """good_tiny (a trick with a parameter, models without) and a model with parameters."""
    folder = plugins_dir(tmp_path, "good_tiny.py")
    (folder / "knobs.py").write_text(PARAM_MODEL_PLUGIN)
    return folder


def test_json_lists_model_and_trick_parameters(tmp_path: Path, capsys) -> None:
    entries = plugins_json(capsys, "--plugins-dir", str(params_plugins_dir(tmp_path)))
    assert entries["knobs"]["error"] is None
    assert entries["knobs"]["params"] == {
        "models": {
            "knobs": [
                {"name": "width", "type": "int", "default": 3, "choices": [],
                 "help": "hidden units per layer"},
                {"name": "body", "type": "str", "default": "auto",
                 "choices": ["auto", "mlp", "conv"], "help": "which networks"},
                {"name": "lr", "type": "float", "default": 1e-3, "choices": [],
                 "help": "Adam learning rate"},
            ]
        }
    }  # fmt: skip
    # The trick's parameter, shown the same way; models without parameters are left out.
    assert entries["good_tiny"]["params"] == {
        "tricks": {
            "noop": [{"name": "std", "type": "float", "default": 0.1, "choices": [], "help": ""}]
        }
    }
    assert all(entries[name]["params"] == {} for name in ("gan", "digits", CORE))


def test_json_parameters_are_those_of_the_registered_specs(capsys) -> None:
    """First-party models and tricks too (pacgan, ema, ...): every declared parameter, in order."""
    from ganbench.registry import load_registry

    registry = load_registry()
    entries = plugins_json(capsys)
    for table in ("models", "tricks"):
        declared = {name: spec for name, spec in getattr(registry, table).items() if spec.params}
        listed = {
            name: params
            for entry in entries.values()
            for name, params in entry["params"].get(table, {}).items()
        }
        assert set(listed) == set(declared), table
        for name, spec in declared.items():
            assert [p["name"] for p in listed[name]] == [p.name for p in spec.params]
            assert [p["default"] for p in listed[name]] == [p.default for p in spec.params]


def test_table_shows_model_and_trick_parameters(tmp_path: Path, capsys, monkeypatch) -> None:
    monkeypatch.setenv("COLUMNS", "400")
    folder = params_plugins_dir(tmp_path)
    code, out, err = run_cli(["plugins", "--plugins-dir", str(folder)], capsys)
    assert code == 0 and err == ""
    _, params = out.split("model and trick parameters", 1)
    cells = [
        [cell.strip() for cell in line.split("│")[1:-1]]
        for line in params.splitlines()
        if line.count("│") >= 8
    ]
    rows = {(row[1], row[2]): row for row in cells}  # (registered, parameter)
    assert rows["model knobs", "width (first)"] == [
        "knobs", "model knobs", "width (first)", "int", "3", "-", "hidden units per layer",
    ]  # fmt: skip
    assert rows["model knobs", "body"][4:6] == ["'auto'", "'auto', 'mlp', 'conv'"]
    assert rows["model knobs", "lr"][3:5] == ["float", "0.001"]
    assert rows["trick noop", "std (first)"][:5] == [
        "good_tiny", "trick noop", "std (first)", "float", "0.1",
    ]  # fmt: skip


def test_no_parameter_table_without_parameters(capsys, monkeypatch) -> None:
    monkeypatch.setenv("GANBENCH_LOAD_PLUGINS", "digits,dcgan")
    code, out, err = run_cli(["plugins"], capsys)
    assert code == 0 and err == ""
    assert "ganbench plugins" in out and "model and trick parameters" not in out
