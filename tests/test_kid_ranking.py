"""KID ranks only with full-size subsets: below them it is kept as information,
with the reason in the protocol record, and neither leaderboards nor
``ganbench ablate`` rank by it."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np

from ganbench.ablate.running import ranked_metrics
from ganbench.leaderboard.table import build_tables
from ganbench.registry import load_registry
from ganbench.run.record import RunRecord, comparison_key
from ganbench.scoring.score import score_sets
from ganbench.scoring.sources import load_array_source

KID = "kid[identity]"


def _score(tmp_path: Path, n_real: int, n_fake: int, **kwargs):
    gen = np.random.default_rng(0)
    np.save(tmp_path / "real.npy", gen.normal(size=(n_real, 3)).astype(np.float32))
    np.save(tmp_path / "fake.npy", gen.normal(0.5, 1.0, size=(n_fake, 3)).astype(np.float32))
    return score_sets(
        load_array_source(tmp_path / "real.npy"),
        load_array_source(tmp_path / "fake.npy"),
        load_registry(),
        metrics=("kid", "fid"),
        **kwargs,
    )


def test_full_size_subsets_rank() -> None:
    rule = load_registry().metric("kid").unranked_reason
    assert rule is not None
    assert rule({}, {"kid": 1.0, "kid_subset_size": 1000.0}) is None
    assert rule({"subset_size": 300}, {"kid": 1.0, "kid_subset_size": 300.0}) is None
    assert "999" in rule({}, {"kid": 1.0, "kid_subset_size": 999.0})


def test_clipped_subsets_are_kept_as_information_with_the_reason(tmp_path: Path) -> None:
    result = _score(tmp_path, 360, 1000)
    assert result.metrics[KID] > 0  # still computed and kept
    assert result.metrics["kid_subset_size[identity]"] == 360
    assert result.directions[KID] == "info"
    assert result.directions["fid[identity]"] == "lower"  # other metrics are unaffected
    why = result.protocol["unranked_metrics"]["kid"]
    assert "360" in why and "subset_size=1000" in why


def _record(run_id: str, seed: int, kid_direction: str) -> RunRecord:
    space = "[digits-evaluator]"
    protocol = {"eval_protocol_version": 2, "dataset": "digits", "n_real": 360}
    return RunRecord(
        run_id=run_id,
        kind="model",
        status="completed",
        model="dcgan",
        dataset="digits",
        task="unconditional",
        seed=seed,
        steps=10,
        batch_size=8,
        metrics={f"fid{space}": 20.0 + seed, f"kid{space}": 300.0 + seed},
        directions={f"fid{space}": "lower", f"kid{space}": kid_direction},
        primary_metric=f"fid{space}",
        protocol=protocol,
        comparison_key=comparison_key(protocol),
        created_at="2026-12-01",
    )


def test_one_run_that_cannot_rank_by_kid_makes_its_column_informational() -> None:
    old = _record("a", 0, "lower")  # a run made before the rule
    new = _record("b", 1, "info")
    (table,) = build_tables([old, new])
    assert table.directions["kid[digits-evaluator]"] == "info"
    assert table.directions["fid[digits-evaluator]"] == "lower"
    (table,) = build_tables([old, replace(new, directions=old.directions)])
    assert table.directions["kid[digits-evaluator]"] == "lower"


def test_ablate_does_not_test_an_informational_kid() -> None:
    assert ranked_metrics(_record("b", 1, "info")) == ["fid[digits-evaluator]"]
    assert ranked_metrics(_record("a", 0, "lower")) == [
        "fid[digits-evaluator]",
        "kid[digits-evaluator]",
    ]
