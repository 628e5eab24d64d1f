"""The ``infogan`` plugin: its coded prior, the information term, the code-alignment
metric (best-map accuracy) and both end to end through the CLI."""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch

from ganbench.api import Batch, DataInfo, EvalInputs, UnconditionalGAN
from ganbench.cli.main import main
from ganbench.testing import MetricCase, check_metric, check_model
from ganbench_plugins.infogan import (
    CODE_ALIGNMENT,
    InfoGAN,
    InfoGANPrior,
    best_map_accuracy,
    code_class_confusion,
    information_terms,
    why_no_code_alignment,
)

CODE_ACCURACY = "code_accuracy[digits-evaluator]"
DIGITS = DataInfo(name="digits", kind="image", shape=(1, 8, 8), fields=("x", "y"), num_classes=10)
DEFAULTS = {"noise": 62, "categorical": 10, "continuous": 2, "info_weight": 1.0}


@pytest.fixture
def one_thread() -> Iterator[None]:
    """One torch thread: on a loaded 2-core machine, two threads make these nets 5x slower."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


# -- the prior ---------------------------------------------------------------------------
def test_prior_draws_noise_a_one_hot_code_and_uniform_codes() -> None:
    prior = InfoGANPrior(62, 10, 2)
    z = prior.sample(5000, "cpu", _gen(0))
    assert prior.dim == 74 and z.shape == (5000, 74)
    noise, onehot, cont = prior.split(z)
    assert noise.shape == (5000, 62) and onehot.shape == (5000, 10) and cont.shape == (5000, 2)
    assert set(onehot.unique().tolist()) == {0.0, 1.0}
    assert torch.equal(onehot.sum(1), torch.ones(5000))
    counts = torch.bincount(prior.categorical_index(z), minlength=10)
    assert counts.min() > 400 and counts.max() < 600  # uniform: 500 each
    assert cont.min() >= -1 and cont.max() <= 1 and cont.min() < -0.99 and cont.max() > 0.99
    assert abs(float(noise.mean())) < 0.02 and abs(float(noise.std()) - 1) < 0.02


def test_prior_is_reproducible_from_the_generator_and_described_as_json() -> None:
    prior = InfoGANPrior(62, 10, 2)
    assert torch.equal(prior.sample(16, "cpu", _gen(3)), prior.sample(16, "cpu", _gen(3)))
    assert not torch.equal(prior.sample(16, "cpu", _gen(3)), prior.sample(16, "cpu", _gen(4)))
    described = json.loads(json.dumps(prior.describe()))
    assert described["name"] == "infogan" and described["dim"] == 74
    parts = {p["name"]: p for p in described["parts"]}
    assert parts["noise"]["dim"] == 62 and parts["noise"]["distribution"] == "normal"
    assert parts["categorical"]["classes"] == 10
    assert parts["continuous"] == {
        "name": "continuous",
        "distribution": "uniform",
        "dim": 2,
        "low": -1,
        "high": 1,
    }


def test_the_model_uses_the_prior_and_reads_the_codes_back_from_z() -> None:
    model = InfoGAN(DIGITS, {**DEFAULTS, "categorical": 4, "continuous": 3, "noise": 5})
    assert model.latent_dim == 12 and model.categorical_code_dim == 4
    assert isinstance(model.latent_prior, InfoGANPrior)
    z = model.sample_latent(32, "cpu", _gen(0))
    index, cont = model.codes(z)
    _, onehot, prior_cont = model.latent_prior.split(z)
    assert torch.equal(index, onehot.argmax(1)) and torch.equal(cont, prior_cont)


# -- the information term ------------------------------------------------------------------
def test_categorical_term_is_log_k_for_uniform_q_and_near_zero_for_an_exact_q() -> None:
    index = torch.arange(40) % 10
    no_cont = torch.zeros(40, 0)
    uniform, zero = information_terms(torch.zeros(40, 10), no_cont, index, no_cont)
    assert float(uniform) == pytest.approx(math.log(10), abs=1e-6)
    assert float(zero) == 0.0
    exact, _ = information_terms(20.0 * torch.eye(10)[index], no_cont, index, no_cont)
    assert float(exact) < 1e-6 < float(uniform)


def test_continuous_term_is_half_the_squared_error_summed_over_codes() -> None:
    cont = torch.tensor([[0.5, -1.0], [1.0, 0.0]])
    no_cat = torch.zeros(2, 0)
    _, exact = information_terms(no_cat, cont.clone(), None, cont)
    assert float(exact) == 0.0
    _, at_zero = information_terms(no_cat, torch.zeros(2, 2), None, cont)
    assert float(at_zero) == pytest.approx(0.5 * (0.25 + 1.0 + 1.0) / 2)


def test_the_information_term_trains_q_and_g() -> None:
    torch.manual_seed(0)
    model = InfoGAN(DIGITS, DEFAULTS)
    z = model.sample_latent(16, "cpu")
    out = model.discriminator.outputs(model.generator(z))
    index, cont = model.codes(z)
    sum(information_terms(out["code_logits"], out["code_mean"], index, cont)).backward()
    assert model.discriminator.q_head[0].weight.grad.abs().sum() > 0
    assert model.discriminator.body[0].weight.grad.abs().sum() > 0
    assert model.generator.fc[0].weight.grad.abs().sum() > 0
    assert model.discriminator.d_head.weight.grad is None  # D's logit is not in L_I


@pytest.mark.parametrize("weight", [1.0, 0.25])
def test_both_updates_add_the_weighted_information_term_on_the_fakes(weight: float) -> None:
    from ganbench.api import StepTensors

    torch.manual_seed(0)
    model = InfoGAN(DIGITS, {**DEFAULTS, "info_weight": weight})
    real = Batch(x=torch.rand(8, 1, 8, 8) * 2 - 1)
    z = model.sample_latent(8, "cpu")
    fake = model.generate(z, real)
    real_out = model.discriminator_outputs(real.x, real)
    fake_out = model.discriminator_outputs(fake, real)
    assert set(fake_out) == {"logits", "code_logits", "code_mean"}
    assert fake_out["logits"].shape == (8,) and fake_out["code_logits"].shape == (8, 10)
    index, cont = model.codes(z)
    expected = weight * sum(
        information_terms(fake_out["code_logits"], fake_out["code_mean"], index, cont)
    )
    ones, zeros = torch.ones(8), torch.zeros(8)
    d_step = StepTensors(
        "d", model, real, z, fake, fake, fake_out, None, real.x, real_out, ones, zeros
    )
    g_step = StepTensors("g", model, real, z, fake, fake, fake_out, None)
    for terms in (model.d_loss_terms(d_step), model.g_loss_terms(g_step)):
        assert set(terms) == {"adversarial", "mutual_info"}
        assert float(terms["mutual_info"].detach()) == pytest.approx(float(expected.detach()))


def test_image_sizes_not_divisible_by_four_are_refused() -> None:
    from ganbench.registry import load_registry

    spec = load_registry().models["infogan"]
    assert spec.check(DIGITS) is None
    assert spec.check(DataInfo(name="x", kind="image", shape=(1, 28, 28))) is None
    reason = spec.check(DataInfo(name="x", kind="image", shape=(1, 10, 10)))
    assert reason is not None and "divisible by 4" in reason


# -- best-map accuracy ---------------------------------------------------------------------
def test_best_map_accuracy_of_a_permuted_perfect_assignment_is_one() -> None:
    perm = np.array([3, 7, 0, 9, 1, 2, 8, 4, 6, 5])
    codes = np.repeat(np.arange(10), 7)
    confusion = code_class_confusion(codes, perm[codes], 10)
    assert confusion.sum() == 70 and (confusion.max(axis=1) == 7).all()
    assert best_map_accuracy(confusion) == 1.0


def test_best_map_accuracy_of_a_mixed_case() -> None:
    confusion = np.array([[0, 8, 2], [1, 1, 8], [6, 2, 2]])
    # The best map is 0->1, 1->2, 2->0: (8 + 8 + 6) / 30; the identity gives 3 / 30.
    assert best_map_accuracy(confusion) == pytest.approx(22 / 30)
    brute = max(sum(confusion[i, p[i]] for i in range(3)) for p in itertools.permutations(range(3)))
    assert brute == 22
    # Two codes on one class: only one of them can be mapped to it.
    assert best_map_accuracy(np.array([[5, 0], [3, 0]])) == pytest.approx(5 / 8)


# -- the metric on constructed inputs --------------------------------------------------------
class CodeWriter(InfoGAN):
    """An InfoGAN whose G writes pixel ``perm[code]`` white: the code's class is known."""

    def __init__(self, perm: list[int]) -> None:
        super().__init__(DIGITS, DEFAULTS)
        self.perm = torch.tensor(perm)
        self.seen: list[torch.Tensor] = []

    def generate(self, z: torch.Tensor, cond: Batch) -> torch.Tensor:
        index, _ = self.codes(z)
        self.seen.append(index)
        x = -torch.ones(len(z), 64)
        x[torch.arange(len(z)), self.perm[index]] = 1.0
        return x.view(-1, 1, 8, 8)


class PixelClasses:
    """A 'classifier' of K classes: class j is pixel j being bright."""

    space = "pixels"

    def __init__(self, k: int = 10) -> None:
        self.k = k

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return x.flatten(1)

    def class_probs(self, x: torch.Tensor) -> torch.Tensor:
        return torch.softmax(20.0 * x.flatten(1)[:, : self.k], dim=1)

    def protocol(self) -> dict:
        return {"name": self.space, "space": self.space, "weights_sha256": None}


def _inputs(model, extractor=None, fake: torch.Tensor | None = None) -> EvalInputs:
    real = Batch(x=-torch.ones(6, 1, 8, 8), y=torch.zeros(6, dtype=torch.long))
    fake = real.x[:2] if fake is None else fake
    return EvalInputs(
        info=DIGITS,
        real=real,
        fake=fake,
        fake_conditions=Batch(x=fake),
        extractor=extractor if extractor is not None else PixelClasses(),
        model=model,
        seed=5,
    )


def test_code_alignment_finds_the_permutation_and_ignores_the_given_fakes() -> None:
    model = CodeWriter([3, 7, 0, 9, 1, 2, 8, 4, 6, 5])
    case = MetricCase(_inputs(model), {"code_accuracy": 1.0}, tolerance=1e-12)
    results = {r.check: r for r in check_metric(CODE_ALIGNMENT, [case])}
    assert results["registration"].status == "passed"
    assert results["known answer 1"].status == "passed", results["known answer 1"].detail
    noisy = _inputs(model, fake=torch.rand(2, 1, 8, 8))
    assert CODE_ALIGNMENT.compute(noisy, {"n": 300}) == {"code_accuracy": 1.0}
    assert model.training  # eval mode for sampling, then restored


def test_code_alignment_of_two_codes_collapsed_onto_one_class() -> None:
    model = CodeWriter([0, 0, 2, 3, 4, 5, 6, 7, 8, 9])
    value = CODE_ALIGNMENT.compute(_inputs(model), {"n": 700})["code_accuracy"]
    seen = torch.cat(model.seen)
    assert len(seen) == 700
    lost = min(int((seen == 0).sum()), int((seen == 1).sum()))
    assert value == pytest.approx(1 - lost / 700) and value < 1


def test_code_alignment_check_says_why_it_does_not_apply() -> None:
    model = InfoGAN(DIGITS, DEFAULTS)
    assert why_no_code_alignment(_inputs(model)) is None

    class Plain(UnconditionalGAN):
        latent_dim = 4

    assert "no categorical latent code" in why_no_code_alignment(_inputs(Plain()))
    assert "no model" in why_no_code_alignment(_inputs(None))
    assert "4 classes" in why_no_code_alignment(_inputs(model, PixelClasses(4)))
    off = InfoGAN(DIGITS, {**DEFAULTS, "categorical": 0})
    assert "switched off" in why_no_code_alignment(_inputs(off))


# -- end to end --------------------------------------------------------------------------------
def _places(tmp_path: Path) -> list[str]:
    runs = tmp_path / "e2e-runs"
    return ["--runs-dir", str(runs), "--store", str(runs / "results.sqlite")]


def test_infogan_runs_and_reports_its_code_accuracy(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = [
        "run",
        "--plugin",
        "infogan",
        "--steps",
        "20",
        "--eval-samples",
        "200",
        "--threads",
        "1",
    ]
    assert main([*args, *_places(tmp_path), "--json", "--quiet"]) == 0
    record = json.loads(capsys.readouterr().out)
    assert record["status"] == "completed" and record["steps_done"] == 20
    assert 0.0 <= record["metrics"][CODE_ACCURACY] <= 1.0
    assert record["directions"][CODE_ACCURACY] == "higher"
    prior = record["protocol"]["latent_prior"]
    assert prior["name"] == "infogan" and prior["dim"] == 74
    assert record["protocol"]["metric_params"]["code-alignment"] == {"n": 1000}


def test_code_alignment_is_refused_for_a_model_without_a_code_before_training(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["run", "--plugin", "dcgan", "--steps", "20", "--metric", "code-alignment"]
    assert main([*args, *_places(tmp_path), "--quiet"]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1, lines
    assert "code-alignment" in lines[0] and "no categorical latent code" in lines[0]
    assert not list((tmp_path / "e2e-runs").rglob("config.json"))  # no run was started


def test_infogan_passes_the_model_conformance_checks(one_thread: None) -> None:
    from ganbench.registry import load_registry

    registry = load_registry()
    results = check_model(registry.models["infogan"], registry)
    failed = [f"{r.check}: {r.detail}" for r in results if r.status == "failed"]
    assert not failed, failed
    passed = {r.check for r in results if r.status == "passed"}
    assert "train step reaches every hook point in order [digits]" in passed
    assert "train step updates G and D [digits]" in passed
