"""``ganbench --help`` and rejected flags answer before torch is imported."""

from __future__ import annotations

import subprocess
import sys

import pytest

#: Runs the CLI in a fresh interpreter and reports whether torch got imported.
PROBE = """
import sys
from ganbench.cli.main import main
try:
    code = main({argv!r})
except SystemExit as exc:
    code = exc.code
print(code, "torch" in sys.modules)
"""


@pytest.mark.parametrize(
    "argv",
    [
        ["--help"],
        ["run", "--help"],
        ["run", "--steps", "many"],
        ["run", "--device", "tpu"],
        ["score", "--metric"],
        ["stats"],
        ["new-plugin", "x", "--kind", "widget"],
        ["store", "remove", "x"],
        ["leaderboard", "publish"],
    ],
)
def test_parsing_and_flag_errors_do_not_import_torch(argv: list[str]) -> None:
    done = subprocess.run(
        [sys.executable, "-c", PROBE.format(argv=argv)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    code, torch_imported = done.stdout.split()[-2:]
    assert code in ("0", "2"), done.stderr
    assert torch_imported == "False", f"{argv} imported torch"


def test_the_public_api_still_loads_on_first_use() -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, ganbench; before = 'torch' in sys.modules; "
            "ganbench.hookimpl; ganbench.GANModel; "
            "print(before, 'torch' in sys.modules, 'hookimpl' in ganbench.__all__)",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.stdout.split() == ["False", "True", "True"], done.stderr
