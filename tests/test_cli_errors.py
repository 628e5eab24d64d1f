"""Bad input on the command line: one clear error line, exit code 2, nothing written.

Every case checks the three parts of the contract: stderr is exactly one
line naming the bad value (and the valid choices where there is a set of
them), the exit code is 2, and no run folder or store file was created.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from cli_helpers import one_error_line, run_cli

BROKEN_PLUGINS = Path(__file__).parent / "broken_plugins"


def assert_nothing_written() -> None:
    """No run folder under the runs dir, no results store file."""
    runs = Path(os.environ["GANBENCH_RUNS_DIR"])
    store = Path(os.environ["GANBENCH_STORE"])
    assert not runs.exists() or not any(runs.iterdir()), list(runs.iterdir())
    assert not store.exists()


def plugins_dir(tmp_path: Path, *files: str) -> Path:
    """A fresh ``--plugins-dir`` holding copies of the named test plugins."""
    folder = tmp_path / "plugins"
    folder.mkdir(parents=True, exist_ok=True)
    for name in files:
        shutil.copy(BROKEN_PLUGINS / name, folder / name)
    return folder


def expect_usage_error(argv: list[str], capsys, *needles: str) -> str:
    code, out, err = run_cli(argv, capsys)
    line = one_error_line(err)
    assert code == 2, (code, err)
    for needle in needles:
        assert needle in line, f"{needle!r} not in {line!r}"
    assert_nothing_written()
    return line


# --- unknown names ------------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "needles"),
    [
        (["run", "--plugin", "nope-model"], ["'nope-model'", "dcgan", "gan", "cgan"]),
        (["run", "--model", "nope-model"], ["'nope-model'", "dcgan"]),
        (
            ["run", "--plugin", "dcgan", "--dataset", "nope-data"],
            ["'nope-data'", "digits", "ring8"],
        ),
        (["run", "--plugin", "dcgan", "--metric", "nope-metric"], ["'nope-metric'", "fid", "kid"]),
        (["run", "--plugin", "dcgan", "--metric", "fid,nope-metric"], ["'nope-metric'", "fid"]),
        (["run", "--plugin", "dcgan", "--trick", "nope-trick"], ["'nope-trick'", "valid choices"]),
        (
            ["run", "--plugin", "dcgan", "--feature-extractor", "nope-fx"],
            ["'nope-fx'", "evaluator", "identity"],
        ),
        (["run"], ["--plugin", "dcgan"]),
    ],
    ids=["plugin", "model-alias", "dataset", "metric", "metric-in-list", "trick", "fx", "none"],
)
def test_unknown_name(argv: list[str], needles: list[str], capsys) -> None:
    line = expect_usage_error(argv, capsys, *needles)
    assert line.startswith("ganbench: error: ")


def test_unknown_trick_lists_registered_tricks(tmp_path: Path, capsys) -> None:
    folder = plugins_dir(tmp_path, "good_tiny.py")
    argv = ["run", "--plugins-dir", str(folder), "--plugin", "tiny", "--dataset", "ring8",
            "--trick", "nope-trick"]  # fmt: skip
    expect_usage_error(argv, capsys, "'nope-trick'", "noop")


@pytest.mark.parametrize(
    ("trick", "needles"),
    [
        ("noop:abc", ["noop", "std", "abc", "float"]),
        ("noop:zz=1", ["noop", "'zz'", "std"]),
    ],
    ids=["bad-value", "unknown-param"],
)
def test_bad_trick_parameter(trick: str, needles: list[str], tmp_path: Path, capsys) -> None:
    folder = plugins_dir(tmp_path, "good_tiny.py")
    argv = ["run", "--plugins-dir", str(folder), "--plugin", "tiny", "--dataset", "ring8",
            "--trick", trick]  # fmt: skip
    expect_usage_error(argv, capsys, *needles)


# --- bad flag values ----------------------------------------------------------


@pytest.mark.parametrize(
    ("flags", "needles"),
    [
        (["--steps", "abc"], ["--steps", "abc"]),
        (["--steps", "-1"], ["--steps", "-1"]),
        (["--device", "tpu"], ["--device", "tpu", "cpu", "cuda"]),
        (["--batch-size", "0"], ["--batch-size", "0"]),
        (["--seed", "x"], ["--seed", "'x'"]),
        (["--eval-samples", "0"], ["--eval-samples", "0"]),
        (["--checkpoint-every", "-5"], ["--checkpoint-every", "-5"]),
        (["--image-size", "big"], ["--image-size", "big"]),
        (["--metric", ","], ["--metric"]),
        (["--bogus-flag"], ["--bogus-flag"]),
    ],
    ids=[
        "steps-abc",
        "steps-neg",
        "device",
        "batch-zero",
        "seed-x",
        "eval-zero",
        "ckpt-neg",
        "image-size",
        "metric-empty",
        "unknown-flag",
    ],  # fmt: skip
)
def test_bad_flag_value(flags: list[str], needles: list[str], capsys) -> None:
    expect_usage_error(["run", "--plugin", "dcgan", *flags], capsys, *needles)


def test_unknown_command_lists_commands(capsys) -> None:
    expect_usage_error(["frobnicate"], capsys, "frobnicate", "run", "plugins", "leaderboard")


def test_batch_size_larger_than_the_data(capsys) -> None:
    expect_usage_error(["run", "--plugin", "gan", "--batch-size", "5000"], capsys, "5000", "digits")


# --- model and dataset that do not fit ---------------------------------------


def test_dcgan_does_not_fit_ring8(capsys) -> None:
    line = expect_usage_error(
        ["run", "--plugin", "dcgan", "--dataset", "ring8"], capsys, "'dcgan'", "'ring8'"
    )
    fitting = line.split(":")[-1]
    assert "digits" in fitting and "cifar10" in fitting
    assert "ring8" not in fitting and "grid25" not in fitting


def test_conditional_model_on_unlabelled_data(capsys) -> None:
    expect_usage_error(
        ["run", "--plugin", "cgan", "--dataset", "ring8"], capsys, "'cgan'", "'ring8'", "y"
    )


def test_dcgan_image_size_too_small(capsys) -> None:
    expect_usage_error(["run", "--plugin", "dcgan", "--image-size", "3"], capsys, "'dcgan'", "3")


def test_feature_extractor_that_does_not_apply(capsys) -> None:
    argv = ["run", "--plugin", "gan", "--dataset", "ring8", "--feature-extractor", "evaluator"]
    expect_usage_error(argv, capsys, "'evaluator'", "'ring8'", "identity", "none")


# --- missing data -------------------------------------------------------------


def test_cifar10_in_an_empty_data_dir(tmp_path: Path, capsys) -> None:
    empty = tmp_path / "data"
    empty.mkdir()
    argv = ["run", "--plugin", "dcgan", "--dataset", "cifar10", "--data-dir", str(empty)]
    expect_usage_error(argv, capsys, "cifar10", str(empty), "data_batch_1", "test_batch")
    assert list(empty.iterdir()) == []  # the loader did not start writing there either


def test_mnist_in_a_missing_data_dir(tmp_path: Path, capsys) -> None:
    missing = tmp_path / "no-such-folder"
    argv = ["run", "--plugin", "gan", "--dataset", "mnist", "--data-dir", str(missing)]
    expect_usage_error(argv, capsys, "mnist", str(missing), "train-images-idx3-ubyte")
    assert not missing.exists()


def test_image_folder_without_a_path(capsys) -> None:
    expect_usage_error(
        ["run", "--plugin", "gan", "--dataset", "image-folder"], capsys, "--data-path"
    )


def test_image_folder_path_missing(tmp_path: Path, capsys) -> None:
    missing = tmp_path / "no-images"
    argv = ["run", "--plugin", "gan", "--dataset", "image-folder", "--data-path", str(missing)]
    expect_usage_error(argv, capsys, str(missing))


# --- plugins that break their contract ---------------------------------------


@pytest.mark.parametrize(
    ("model", "needles"),
    [
        ("tiny-wrong", ["'tiny-wrong'", "generator", "(2, 3)", "(2, 2)", "ring8"]),
        ("tiny-baddisc", ["'tiny-baddisc'", "discriminator", "(2, 3)", "(2,)"]),
        ("tiny-notmodel", ["'tiny-notmodel'", "Linear", "GANModel"]),
    ],
)
def test_model_returning_the_wrong_shape(model: str, needles: list[str], tmp_path, capsys) -> None:
    folder = plugins_dir(tmp_path, "good_tiny.py")
    argv = ["run", "--plugins-dir", str(folder), "--plugin", model, "--dataset", "ring8",
            "--steps", "2"]  # fmt: skip
    expect_usage_error(argv, capsys, *needles)


def test_dataset_loader_returning_the_wrong_type(tmp_path: Path, capsys) -> None:
    folder = plugins_dir(tmp_path, "good_tiny.py", "none_loader.py")
    argv = ["run", "--plugins-dir", str(folder), "--plugin", "tiny", "--dataset", "none-loader"]
    try:
        code, _, err = run_cli(argv, capsys)
    except AttributeError as exc:
        pytest.fail(f"traceback instead of one error line: {exc!r}")
    line = one_error_line(err)
    assert code == 2
    assert "none-loader" in line and "NoneType" in line
    assert_nothing_written()


def test_metric_returning_the_wrong_shape(tmp_path: Path, capsys) -> None:
    folder = plugins_dir(tmp_path, "good_tiny.py", "bad_metric.py")
    argv = ["run", "--plugins-dir", str(folder), "--plugin", "tiny", "--dataset", "ring8",
            "--steps", "2", "--eval-samples", "50", "--quiet", "--metric", "bad-metric"]  # fmt: skip
    try:
        code, _, err = run_cli(argv, capsys)
    except AttributeError as exc:
        pytest.fail(f"traceback instead of one error line: {exc!r}")
    line = one_error_line(err)
    assert code == 2
    assert "bad-metric" in line
    assert_nothing_written()


# --- resume, leaderboard, plugins folder --------------------------------------


def test_resume_of_a_nonexistent_run(capsys) -> None:
    expect_usage_error(["run", "--resume", "no-such-run-123"], capsys, "no-such-run-123")


def test_leaderboard_build_without_a_store(tmp_path: Path, capsys) -> None:
    out = tmp_path / "boards"
    line = expect_usage_error(["leaderboard", "build", "--out", str(out)], capsys, "store")
    assert os.environ["GANBENCH_STORE"] in line
    assert not out.exists()


def test_leaderboard_build_with_a_missing_store_flag(tmp_path: Path, capsys) -> None:
    store = tmp_path / "nowhere.sqlite"
    argv = ["leaderboard", "build", "--store", str(store), "--out", str(tmp_path / "boards")]
    expect_usage_error(argv, capsys, str(store))
    assert not store.exists()


@pytest.mark.parametrize(
    "command", [["plugins"], ["run", "--plugin", "gan"], ["leaderboard", "build"]]
)
def test_missing_plugins_dir(command: list[str], tmp_path: Path, capsys) -> None:
    missing = tmp_path / "no-plugins-here"
    expect_usage_error([*command, "--plugins-dir", str(missing)], capsys, str(missing))


#: The fewest arguments each command takes, so that only ``--plugins-dir``'s place varies.
MINIMAL_ARGS = {
    "run": ["--plugin", "gan"],
    "score": ["a", "b"],
    "stats": ["ring8"],
    "store": ["add", "some-run"],
    "plugins": [],
    "check-plugin": ["gan"],
    "leaderboard": ["build"],
    "new-plugin": ["x", "--kind", "model"],
    "ablate": ["--plugin", "gan", "--trick", "ema"],
    "tricks": ["--matrix"],
    "sweep": ["sweep.toml"],
}


def test_every_command_is_covered_by_the_plugins_dir_cases() -> None:
    from ganbench.cli.main import COMMANDS

    assert set(MINIMAL_ARGS) == set(COMMANDS)


@pytest.mark.parametrize("command", sorted(MINIMAL_ARGS))
@pytest.mark.parametrize("where", ["before the command", "after the command"])
def test_plugins_dir_is_accepted_before_and_after_the_command(command: str, where: str) -> None:
    """README: every command accepts ``--plugins-dir``, on either side of its name."""
    from ganbench.cli.main import build_parser

    flag = ["--plugins-dir", "some/dir"]
    rest = [command, *MINIMAL_ARGS[command]]
    argv = [*flag, *rest] if where == "before the command" else [*rest, *flag]
    args = build_parser().parse_args(argv)
    assert args.command == command
    assert args.plugins_dir == Path("some/dir")


def test_plugins_dir_after_the_command_wins_over_before() -> None:
    from ganbench.cli.main import build_parser

    args = build_parser().parse_args(["--plugins-dir", "a", "plugins", "--plugins-dir", "b"])
    assert args.plugins_dir == Path("b")
    assert build_parser().parse_args(["plugins"]).plugins_dir is None  # $GANBENCH_PLUGINS_DIR


def test_plugins_dir_before_check_plugin_loads_the_folder(capsys) -> None:
    """``ganbench --plugins-dir DIR check-plugin NAME`` used to fail with "invalid choice".

    The folder's file ``good_tiny.py`` is the plugin ``good_tiny`` (a file's
    stem), so ``good-tiny`` is no plugin's name: the one error line lists the
    plugins, the folder's among them, which shows the folder was loaded.
    """
    argv = ["--plugins-dir", str(BROKEN_PLUGINS), "check-plugin", "good-tiny"]
    code, out, err = run_cli(argv, capsys)
    line = one_error_line(err)
    assert "invalid choice" not in line
    assert code == 2 and out == ""
    assert "'good-tiny'" in line and "good_tiny" in line
    # A model of that folder is checked (build() returns no GANModel: exit 1, failed checks).
    argv = ["--plugins-dir", str(BROKEN_PLUGINS), "check-plugin", "tiny-notmodel", "--json"]
    code, out, err = run_cli(argv, capsys)
    assert code == 1, err
    results = json.loads(out)
    assert results and all(r["subject"] == "tiny-notmodel" for r in results)
    assert any(r["status"] == "failed" and "not a GANModel" in r["detail"] for r in results)
    assert_nothing_written()


# --- the real console command -------------------------------------------------


def test_console_command_exit_code_and_one_line(tmp_path: Path) -> None:
    """The real ``python -m ganbench.cli.main``: exit status 2 and exactly one stderr line,
    for a core error (main() returns 2) and an argparse error (SystemExit(2)) alike."""
    cases = {
        "unknown-plugin": (["run", "--plugin", "nope-model"], "dcgan"),
        "bad-flag": (["run", "--plugin", "dcgan", "--steps", "abc"], "abc"),
    }
    # Started together: each process spends seconds importing torch.
    procs = {
        name: subprocess.Popen(
            [sys.executable, "-m", "ganbench.cli.main", *argv],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=tmp_path,
            env={**os.environ, "COLUMNS": "200"},
        )
        for name, (argv, _) in cases.items()
    }
    for name, proc in procs.items():
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 2, (name, err)
        assert out == "", name
        assert err.endswith("\n") and err.count("\n") == 1, (name, err)
        assert err.startswith("ganbench") and cases[name][1] in err, (name, err)
    assert_nothing_written()
    assert list(tmp_path.iterdir()) == []  # nothing in the working folder either (no ./runs)
