"""``ganbench tricks --matrix`` and the page ``leaderboards/tricks.md`` it writes.

The committed page must be exactly what the command generates now, so it
cannot go stale: a trick or model whose declarations change fails this
test until the page is regenerated (the command is on the page). The
matrix is built once per module (eleven models, a few seconds) and the
other tests read that page.
"""

from __future__ import annotations

import contextlib
import io
import shutil
from pathlib import Path

import pytest
import torch
from cli_helpers import one_error_line, run_cli

from ganbench.cli.main import main
from ganbench.matrix.render import PAGE_COMMAND

REPO = Path(__file__).resolve().parent.parent
PAGE = REPO / "leaderboards" / "tricks.md"
RECORDING_TRICK = Path(__file__).parent / "task_plugins" / "recording_trick.py"


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The page as the command writes it now, with the first-party plugins only."""
    out = tmp_path_factory.mktemp("tricks") / "tricks.md"
    with pytest.MonkeyPatch.context() as env:
        # What PAGE_COMMAND sets: plugins installed beside ganbench stay off the page.
        env.setenv("GANBENCH_LOAD_PLUGINS", "ganbench")
        env.delenv("GANBENCH_PLUGINS_DIR", raising=False)
        env.delenv("GANBENCH_DISABLE_PLUGINS", raising=False)
        argv = ["tricks", "--matrix", "--write", str(out),
                "--ablations", str(REPO / "leaderboards" / "ablations")]  # fmt: skip
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            assert main(argv) == 0
    return out.read_text(encoding="utf-8")


def _row(page: str, trick: str) -> dict[str, str]:
    """The matrix row of ``trick``: model -> cell text (Markdown escapes removed)."""
    table = [line for line in page.splitlines() if line.startswith("| trick |")][0]
    models = [h.split(" (")[0] for h in table.strip("| ").split(" | ")[1:]]
    line = next(ln for ln in page.splitlines() if ln.startswith(f"| {trick} |"))
    cells = [c.replace("\\", "") for c in line.strip("| ").split(" | ")[1:]]
    return dict(zip(models, cells, strict=True))


def _reason(page: str, cell: str) -> str:
    """The refusal reason a cell's footnote number points to."""
    number = cell.split("[")[1].rstrip("]")
    return next(ln for ln in page.splitlines() if ln.startswith(f"{number}. ")).replace("\\", "")


def test_committed_page_is_what_the_command_generates(generated: str) -> None:
    assert PAGE.read_text(encoding="utf-8") == generated, (
        f"leaderboards/tricks.md is stale; regenerate it: {PAGE_COMMAND}"
    )


def test_page_says_it_is_generated_and_how_many_pairs_apply(generated: str) -> None:
    assert "do not edit" in generated and PAGE_COMMAND in generated
    assert "default parameters" in generated
    summary = next(ln for ln in generated.splitlines() if "tricks apply to" in ln)
    assert "models:" in summary and "pairs" in summary
    # No machine paths or timestamps: the page must be the same on every machine.
    assert str(REPO) not in generated and "/tmp" not in generated


def test_refused_pairs_show_their_reason(generated: str) -> None:
    smoothing = _row(generated, "label-smoothing")
    assert smoothing["wgan"].startswith("no [")
    assert "ignores D's targets" in _reason(generated, smoothing["wgan"])
    assert "label-smoothing on wgan" in _reason(generated, smoothing["wgan"])
    vbn = _row(generated, "virtual-batch-norm")
    assert vbn["cgan"].startswith("no [")
    assert "unconditional models only" in _reason(generated, vbn["cgan"])


def test_applying_pairs_show_yes(generated: str) -> None:
    assert _row(generated, "label-smoothing")["dcgan"] == "yes"
    assert _row(generated, "spectral-norm")["gan2d"] == "yes"
    # The 2-D model is built on 2-D data, the image ones on digits.
    assert "gan2d (ring8)" in generated and "cgan (digits)" in generated


def _publish_ablation(folder: Path) -> None:
    """A published ablation of gan on ring8, as ``ganbench ablate`` writes its CSV."""
    from ganbench.ablate.report import CSV_COLUMNS

    rows = [
        ["baseline", "fid", "lower", "5", "1.0", "1.0", "0.0", "0.0", "0.0", "1.0", "-", "", "k"],
        ["ema", "mode_recall", "higher", "5", "0.5", "0.7", "0.2", "0.1", "0.3", "0.03",
         "better", "0.2 0.2 0.2 0.2 0.2", "k"],
        ["ema", "fid", "lower", "5", "1.0", "0.9", "-0.1", "-0.2", "0.0", "0.2",
         "no evidence", "", "k"],
        ["ema+r1", "mode_recall", "higher", "5", "0.5", "0.4", "-0.1", "-0.2", "0.0", "0.2",
         "no evidence", "", "k"],
    ]  # fmt: skip
    (folder / "gan").mkdir(parents=True)
    text = "\n".join(",".join(row) for row in [list(CSV_COLUMNS), *rows]) + "\n"
    (folder / "gan" / "ring8.csv").write_text(text, encoding="utf-8")


def test_plugins_dir_trick_and_published_effect_show_up(tmp_path: Path, capsys) -> None:
    """A --plugins-dir trick gets a row; an ablation CSV's primary row fills its cell.

    One matrix on ring8 (five 2-D models, not eleven) checks both, and that
    building the models leaves the caller's random stream alone.
    """
    folder = tmp_path / "plugins"
    folder.mkdir()
    shutil.copy(RECORDING_TRICK, folder / RECORDING_TRICK.name)
    _publish_ablation(tmp_path / "ablations")
    torch.manual_seed(123)
    before = torch.random.get_rng_state()
    argv = ["tricks", "--matrix", "--plugins-dir", str(folder), "--dataset", "ring8",
            "--ablations", str(tmp_path / "ablations")]  # fmt: skip
    code, out, err = run_cli(argv, capsys)
    assert code == 0, err
    assert torch.equal(torch.random.get_rng_state(), before)
    row = next(line for line in out.splitlines() if "│ recording " in line)
    assert "yes" in row and "no [" not in row
    # The arm's first (primary) metric row; the two-trick arm is no single trick's effect.
    assert "yes (mode_recall +0.2, better)" in out
    assert "ablation: ema on gan (ring8, 5 seeds)" in out and "ema+r1" not in out
    # Image-only models do not fit ring8: listed as not built, with the reason.
    assert "not built: dcgan:" in out and "'ring8'" in out


def test_unknown_dataset_is_one_error_line(capsys) -> None:
    code, out, err = run_cli(["tricks", "--matrix", "--dataset", "nope-data"], capsys)
    line = one_error_line(err)
    assert code == 2 and out == ""
    assert "'nope-data'" in line and "digits" in line and "ring8" in line


def test_plain_listing_shows_hook_points(capsys) -> None:
    code, out, err = run_cli(["tricks"], capsys)
    assert code == 0, err
    assert "label-smoothing" in out and "targets" in out
