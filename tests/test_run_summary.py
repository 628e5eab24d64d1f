"""The run's summary table: ranked metrics, primary first, informational values in one line."""

from __future__ import annotations

import io

from rich.console import Console

from ganbench.cli.metric_summary import (
    group_by_metric,
    informational_names,
    informational_summary,
    ranked_names,
)
from ganbench.cli.run_cmd import print_record_table
from ganbench.metrics.attack_metric import ATTACK_METRIC
from ganbench.registry import load_registry
from ganbench.run.record import RunRecord

SPACE = "[digits-evaluator]"
#: Attack outputs of an unconditional D without a classifier head (22 at the defaults).
ATTACK_NAMES = [name for name in ATTACK_METRIC.outputs if not name.startswith("aux_")]
N_INFO = len(ATTACK_NAMES) + 3 + 1


def _record() -> RunRecord:
    metrics = {f"fid{SPACE}": 41.5, f"kid{SPACE}": 0.012, f"precision{SPACE}": 0.8}
    directions = {name: ("higher" if "precision" in name else "lower") for name in metrics}
    for name in (f"kid_std{SPACE}", f"kid_subset_size{SPACE}", f"is_std{SPACE}"):
        metrics[name], directions[name] = 1.0, "info"
    for name in ATTACK_NAMES:
        metrics[name], directions[name] = 0.5, "info"
    metrics["mystery_value"], directions["mystery_value"] = 3.0, "info"
    return RunRecord(
        run_id="dcgan-digits-s0-test",
        kind="model",
        status="completed",
        model="dcgan",
        dataset="digits",
        task="unconditional",
        seed=0,
        steps=200,
        steps_done=200,
        selected_step=180,
        metrics=metrics,
        directions=directions,
        primary_metric=f"kid{SPACE}",  # not first by name: it must still come first
        run_dir="/tmp/runs/dcgan-digits-s0-test",
    )


def test_ranked_names_put_the_primary_first() -> None:
    record = _record()
    ranked = ranked_names(record.metrics, record.directions, record.primary_metric)
    assert ranked == [f"kid{SPACE}", f"fid{SPACE}", f"precision{SPACE}"]
    assert ranked_names(record.metrics, record.directions, None)[0] == f"fid{SPACE}"
    info = informational_names(record.metrics, record.directions)
    assert len(info) == N_INFO and not set(info) & set(ranked)


def test_informational_values_are_grouped_by_their_metric() -> None:
    record = _record()
    specs = load_registry().metrics
    groups = group_by_metric(informational_names(record.metrics, record.directions), specs)
    assert groups["attack-robustness"] == sorted(ATTACK_NAMES)
    assert groups["kid"] == [f"kid_std{SPACE}", f"kid_subset_size{SPACE}"]
    assert groups["is"] == [f"is_std{SPACE}"]
    assert groups["other"] == ["mystery_value"]
    line = informational_summary(sum(groups.values(), []), specs, "record.json")
    assert line == (
        f"{N_INFO} informational values (not ranked) in record.json: "
        f"attack-robustness ({len(ATTACK_NAMES)} values), "
        "is (is_std), kid (kid_std, kid_subset_size), other (mystery_value)"
    )
    assert informational_summary([], specs, "record.json") is None


def test_the_table_shows_ranked_metrics_and_one_line_for_the_rest() -> None:
    out = io.StringIO()
    print_record_table(_record(), Console(file=out, width=200), load_registry().metrics)
    text = out.getvalue()
    rows = [line for line in text.splitlines() if line.startswith("│")]
    assert len(rows) == 3  # fid, kid, precision: no attack rows
    assert "kid[digits-evaluator] (primary)" in rows[0] and "lower" in rows[0]
    assert "precision" in rows[2] and "higher" in rows[2]
    assert "fgsm_acc" not in text and "kid_std[" not in text
    assert f"{N_INFO} informational values (not ranked) in record.json" in text
    assert f"attack-robustness ({len(ATTACK_NAMES)} values)" in text
    assert "step 180" in text and "/tmp/runs/dcgan-digits-s0-test" in text
