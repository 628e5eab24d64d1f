"""``ganbench ablate``: paired statistics against scipy, and the command end to end.

The sign-flip test is checked against ``scipy.stats.permutation_test`` (an
independent implementation of the same exact test), the bootstrap interval
against its definition on a constant shift, and the command on DCGAN for a
couple of steps: it writes its files, reuses every cell from the store the
second time, and refuses bad input before training anything.
"""

from __future__ import annotations

import csv

import numpy as np
import pytest
from scipy import stats

from ganbench.ablate.cells import parse_arms
from ganbench.ablate.paired import bootstrap_interval, compare_paired, sign_flip_p_value
from ganbench.ablate.running import check_arms
from ganbench.cli.main import main
from ganbench.registry import load_registry
from ganbench.run.request import RunRequest


@pytest.mark.parametrize(
    "differences",
    [[1.0, 2.0, 0.5, 1.5, 3.0, 2.2], [0.3, -0.2, 0.5, -0.1, 0.4], [2.0, -1.0, 0.5], [1.0, 1.0]],
)
def test_sign_flip_p_value_is_scipys_exact_permutation_test(differences: list[float]) -> None:
    reference = stats.permutation_test(
        (np.array(differences),),
        lambda x, axis: np.mean(x, axis=axis),
        permutation_type="samples",
        alternative="two-sided",
        n_resamples=np.inf,
    ).pvalue
    assert sign_flip_p_value(differences) == pytest.approx(reference, rel=1e-12)


def test_verdicts_need_evidence_that_n_seeds_can_give() -> None:
    baseline = {s: 10.0 + s for s in range(6)}
    better = {s: v - 1.0 - 0.1 * s for s, v in baseline.items()}
    result = compare_paired("fid", "lower", baseline, better)
    assert result.verdict == "better" and result.p_value == pytest.approx(2 / 2**6)
    assert result.ci_high < 0 and result.mean_difference == pytest.approx(-1.25)
    assert compare_paired("is", "higher", baseline, better).verdict == "worse"
    # Five seeds, every one better: p = 2/32 > 0.05, so still no evidence.
    five = compare_paired("fid", "lower", {s: baseline[s] for s in range(5)}, better)
    assert five.p_value == pytest.approx(0.0625) and five.verdict == "no evidence"
    assert bootstrap_interval([2.0, 2.0, 2.0]) == (2.0, 2.0)


def _ablate(capsys, tmp_path, *tricks: str) -> tuple[int, str]:
    argv = ["ablate", "--plugin", "dcgan", "--dataset", "digits", "--seeds", "2",
            "--steps", "2", "--metric", "fid", "--eval-samples", "200",
            "--runs-dir", str(tmp_path / "runs"), "--store", str(tmp_path / "s.sqlite"),
            "--out", str(tmp_path / "out"), "--quiet"]  # fmt: skip
    for trick in tricks:
        argv += ["--trick", trick]
    code = main(argv)
    return code, capsys.readouterr().err


def test_ablate_writes_its_report_and_reuses_stored_cells(tmp_path, capsys) -> None:
    code, err = _ablate(capsys, tmp_path, "label-smoothing")
    assert code == 0, err
    rows = list(csv.DictReader((tmp_path / "out/ablations/dcgan/digits.csv").open()))
    assert [(r["arm"], r["metric"], r["n_seeds"]) for r in rows] == [
        ("label-smoothing", "fid[digits-evaluator]", "2")
    ]
    assert len(rows[0]["differences"].split()) == 2 and rows[0]["verdict"] == "no evidence"
    page = (tmp_path / "out/ablations/dcgan/digits.md").read_text()
    assert "## Protocol `" in page and "label-smoothing" in page
    runs = sorted(p.name for p in (tmp_path / "runs").iterdir() if p.is_dir())
    assert len(runs) == 4  # 2 arms x 2 seeds
    # Again, with one more arm: only the new arm's cells train.
    code, err = _ablate(capsys, tmp_path, "label-smoothing", "label-flip")
    assert code == 0, err
    after = sorted(p.name for p in (tmp_path / "runs").iterdir() if p.is_dir())
    assert len(after) == 6 and set(runs) <= set(after)


@pytest.mark.parametrize(
    ("trick", "fragment"),
    [("no-such-trick", "unknown trick 'no-such-trick'"), ("ema:x", "must be float")],
)
def test_ablate_refuses_bad_input_before_training(tmp_path, capsys, trick, fragment) -> None:
    code, err = _ablate(capsys, tmp_path, trick)
    assert code == 2 and fragment in err and err.count("\n") == 1
    assert not (tmp_path / "runs").exists() and not (tmp_path / "out").exists()


def test_a_trick_that_does_not_apply_is_refused_or_listed_under_all(tmp_path, capsys) -> None:
    argv = ["ablate", "--plugin", "wgan", "--seeds", "1", "--steps", "0", "--metric", "fid",
            "--eval-samples", "200", "--runs-dir", str(tmp_path / "runs"),
            "--store", str(tmp_path / "s.sqlite"), "--out", str(tmp_path / "out"), "--quiet"]  # fmt: skip
    assert main([*argv, "--trick", "label-smoothing"]) == 2
    err = capsys.readouterr().err
    assert "does not apply to model 'wgan'" in err and not (tmp_path / "runs").exists()

    # Under --trick all, the tricks that do not apply are left out, each with its reason.
    registry = load_registry()
    arms = parse_arms(["all"], registry)
    base = RunRequest(model="wgan", dataset="digits", steps=0)
    kept, refused = check_arms(arms, base, registry, drop_refused=True)
    assert kept[0].label == "baseline" and "ema" in [arm.label for arm in kept]
    assert set(refused) == {"label-flip", "label-smoothing", "output-noise"}
    assert all("ignores D's targets" in refused[name] for name in ("label-flip", "label-smoothing"))
    assert "affine in D's output" in refused["output-noise"]
