"""Evaluations report their phases (sampling, features, each metric) and slow metrics their units."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import torch
from cli_helpers import run_cli
from torch import Tensor, nn

from ganbench.data.types import Batch, DataInfo
from ganbench.eval.eval_progress import NO_PROGRESS, EvalProgress
from ganbench.eval.inputs import EvalInputs
from ganbench.eval.metrics_runner import compute_metrics
from ganbench.eval.protocol import EvalSettings, cached_reference, evaluate_model
from ganbench.metrics.attack_metric import ATTACK_METRIC
from ganbench.model import UnconditionalGAN
from ganbench.registry import load_registry
from ganbench.run.preparation import prepare_run
from ganbench.run.request import RunRequest

N_FAKE = 300


class RecordingProgress:
    """An :class:`EvalProgress` that remembers what it was told."""

    def __init__(self) -> None:
        self.phases: list[str] = []
        self.updates: dict[str, list[tuple[int, int | None]]] = {}

    def phase(self, name: str, total: int = 1) -> None:
        self.phases.append(name)
        self.updates[name] = []

    def update(self, done: int, total: int | None = None) -> None:
        self.updates[self.phases[-1]].append((done, total))


def test_recorder_and_default_fit_the_protocol() -> None:
    assert isinstance(RecordingProgress(), EvalProgress)
    assert isinstance(NO_PROGRESS, EvalProgress)


def test_a_real_evaluation_reports_its_phases_in_order() -> None:
    prep = prepare_run(
        RunRequest(model="gan", dataset="ring8", steps=0, eval_samples=N_FAKE), load_registry()
    )
    settings = EvalSettings(n_fake=N_FAKE, seed=0)
    progress = RecordingProgress()
    evaluation = evaluate_model(
        prep.model,
        prep.dataset,
        prep.extractor,
        prep.metric_specs,
        settings,
        prep.device,
        progress=progress,
    )
    n_real = len(prep.dataset.splits["test"])
    metric_phases = [f"metric {name}" for name in evaluation.results.params]
    assert {"metric fid", "metric prdc"} <= set(metric_phases)
    assert progress.phases == [
        f"sampling {N_FAKE} fakes",
        f"class probabilities of {N_FAKE} fakes",  # asked by select_metrics (IS needs probs)
        f"features of {n_real} reals",
        f"features of {N_FAKE} fakes",
        *metric_phases,
    ]
    assert progress.updates[f"sampling {N_FAKE} fakes"][-1][0] == N_FAKE

    # With the reference split's cached features, the reals are not extracted again.
    reference = cached_reference(prep.dataset, "test", prep.extractor)
    again = RecordingProgress()
    evaluate_model(
        prep.model,
        prep.dataset,
        prep.extractor,
        prep.metric_specs,
        settings,
        prep.device,
        reference_cache=reference,
        progress=again,
    )
    assert again.phases == [p for p in progress.phases if not p.endswith(" reals")]


class _TinyGAN(UnconditionalGAN):
    latent_dim = 4

    def __init__(self) -> None:
        super().__init__()
        self.loss = "non-saturating"
        self.generator = nn.Linear(4, 9)
        self.discriminator = nn.Sequential(nn.Flatten(), nn.Linear(9, 1), nn.Flatten(0))


def test_the_attack_metric_reports_samples_attacked() -> None:
    gen = torch.Generator().manual_seed(0)
    images: Tensor = torch.rand(60, 1, 3, 3, generator=gen) * 2 - 1
    inputs = EvalInputs(
        info=DataInfo(name="tiny", kind="image", shape=(1, 3, 3)),
        real=Batch(x=images[:30]),
        fake=images[30:],
        fake_conditions=Batch(x=images[30:]),
        extractor=None,
        model=_TinyGAN(),
        progress=RecordingProgress(),
    )
    small = {"eps": (2, 8), "n_images": 25, "bisection_steps": 2, "batch_size": 10}
    spec = dataclasses.replace(ATTACK_METRIC, params={**ATTACK_METRIC.params, **small})
    compute_metrics([spec], inputs)
    progress = inputs.progress
    assert isinstance(progress, RecordingProgress)
    assert progress.phases == ["metric attack-robustness"]
    updates = progress.updates["metric attack-robustness"]
    # 25 reals then 25 fakes, in batches of 10: 10, 20, 25, 35, 45, 50.
    assert updates == [(0, 50), (10, 50), (20, 50), (25, 50), (35, 50), (45, 50), (50, 50)]


def test_score_shows_its_phases_unless_quiet(tmp_path: Path, capsys) -> None:
    gen = np.random.default_rng(0)
    np.save(tmp_path / "real.npy", gen.normal(size=(200, 2)).astype(np.float32))
    np.save(tmp_path / "fake.npy", gen.normal(size=(150, 2)).astype(np.float32))
    argv = ["score", str(tmp_path / "real.npy"), str(tmp_path / "fake.npy"), "--metric", "fid,prdc"]
    code, out, err = run_cli(argv, capsys)
    assert code == 0, err
    title = "scoring 150 samples against 200 reference samples: "
    phases = [line[len(title) :].split(" (at ")[0] for line in err.splitlines()]
    assert phases == [
        "features of 200 reals",
        "features of 150 fakes",
        "metric fid",
        "metric prdc",
        phases[-1],
    ]
    assert phases[-1].startswith("done in ")
    assert "fid[identity]" in out

    code, _, err = run_cli([*argv, "--quiet"], capsys)
    assert code == 0 and err == ""
