"""The ``acgan`` plugin: D's two heads, the class terms, a run, and the conformance kit."""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

from ganbench.api import (
    Batch,
    DataInfo,
    DStepSchedule,
    IncompatibleError,
    StepContext,
    discriminator_tensors,
    generator_tensors,
)
from ganbench.cli.main import main
from ganbench.metrics.attack_metric import ATTACK_METRIC
from ganbench.metrics.attacks import attack_output_names
from ganbench.registry import Registry, load_registry
from ganbench.testing import check_model
from ganbench.train.trick_chain import TrickChain
from ganbench_plugins.acgan import ACGAN

K = 10
INFO = DataInfo(name="digits", kind="image", shape=(1, 8, 8), fields=("x", "y"), num_classes=K)
CPU = torch.device("cpu")


@pytest.fixture(autouse=True)
def _one_thread() -> Iterator[None]:
    """Tiny networks gain nothing from intra-op threads on a busy machine."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _model(class_weight: float = 1.0) -> ACGAN:
    torch.manual_seed(0)
    model = ACGAN(INFO, {"class_weight": class_weight})
    model.init_weights()
    return model


def _batch(n: int = 12) -> Batch:
    gen = torch.Generator().manual_seed(1)
    x = torch.rand(n, *INFO.shape, generator=gen) * 2 - 1
    return Batch(x=x, y=torch.arange(n) % K)


def _context(model: ACGAN, batch: Batch) -> StepContext:
    return StepContext(
        step=0,
        total_steps=1,
        device=CPU,
        model=model,
        optimizers=dict(model.configure_optimizers()),
        hooks=TrickChain(),
        schedule=DStepSchedule(1),
        d_steps=1,
        next_batch=lambda: batch,
    )


def _ce(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Cross-entropy by hand: mean of -log softmax at the true class."""
    log_p = logits - logits.logsumexp(dim=1, keepdim=True)
    return -log_p[torch.arange(len(y)), y].mean()


def test_d_gives_source_and_class_logits_from_one_forward() -> None:
    model = _model().eval()
    batch = _batch()
    calls: list[int] = []
    handle = model.discriminator.register_forward_hook(lambda m, i, o: calls.append(1))
    try:
        out = model.discriminator_outputs(batch.x, batch)
    finally:
        handle.remove()
    assert len(calls) == 1
    assert set(out) == {"logits", "class_logits"}
    assert out["logits"].shape == (len(batch),)
    assert out["class_logits"].shape == (len(batch), K)
    with torch.no_grad():
        assert torch.equal(model.classify(batch.x), out["class_logits"])
        # The source head does not see y: other labels, same verdict.
        other = Batch(x=batch.x, y=(batch.y + 3) % K)
        assert torch.equal(model.discriminate(batch.x, other), out["logits"])


def test_generator_takes_z_and_the_one_hot_class() -> None:
    model = _model().eval()
    first = model.generator.net[0]
    assert first.in_channels == model.latent_dim + K == 100 + K
    z = torch.randn(K, model.latent_dim, generator=torch.Generator().manual_seed(2))
    same_z = z[:1].expand(K, -1)
    with torch.no_grad():
        x = model.generate(same_z, Batch(x=torch.zeros(K, *INFO.shape), y=torch.arange(K)))
    assert x.shape == (K, *INFO.shape) and x.abs().max() <= 1
    assert not torch.allclose(x[0], x[1])  # the class changes the sample


def test_d_class_term_is_ce_on_reals_plus_ce_on_fakes() -> None:
    model = _model()
    batch = _batch()
    step = discriminator_tensors(model, batch, _context(model, batch))
    terms = model.d_loss_terms(step)
    assert set(terms) == {"adversarial", "class"}
    assert step.real_out is not None
    expected = _ce(step.real_out["class_logits"], batch.y) + _ce(
        step.fake_out["class_logits"], batch.y
    )
    assert terms["class"].item() == pytest.approx(expected.item(), rel=1e-6)
    # The fake head outputs are D's outputs on what D saw of the fakes.
    assert torch.allclose(step.fake_out["class_logits"], model.discriminator(step.fake_in)[:, 1:])
    # D's term trains D only: the fakes of a D update are detached.
    assert not step.fake.requires_grad
    halved = _model(class_weight=0.5).d_loss_terms(step)["class"]
    assert halved.item() == pytest.approx(0.5 * expected.item(), rel=1e-6)


def test_g_class_term_is_ce_on_fakes_and_trains_g() -> None:
    model = _model()
    batch = _batch()
    step = generator_tensors(model, batch, _context(model, batch))
    terms = model.g_loss_terms(step)
    assert set(terms) == {"adversarial", "class"}
    expected = _ce(step.fake_out["class_logits"], batch.y)
    assert terms["class"].item() == pytest.approx(expected.item(), rel=1e-6)
    terms["class"].backward()
    grads = [p.grad for p in model.generator.parameters() if p.grad is not None]
    assert grads and any(g.abs().sum() > 0 for g in grads)


def test_class_weight_must_be_non_negative() -> None:
    with pytest.raises(IncompatibleError, match="class_weight"):
        ACGAN(INFO, {"class_weight": -1.0})


def test_unlabelled_data_does_not_fit() -> None:
    spec = load_registry().model("acgan")
    assert spec.check is not None
    assert spec.check(INFO) is None
    unlabelled = DataInfo(name="plain", kind="image", shape=(1, 8, 8))
    assert "class labels" in (spec.check(unlabelled) or "")


def test_a_short_run_records_conditional_accuracy_and_the_head_attack(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # A smaller attack than the protocol's (fewer images, a coarser bisection):
    # the same outputs, in a fraction of the time.
    monkeypatch.setitem(ATTACK_METRIC.params, "n_images", 32)
    monkeypatch.setitem(ATTACK_METRIC.params, "bisection_steps", 2)
    runs = tmp_path / "runs"
    argv = ["run", "--plugin", "acgan", "--steps", "20", "--eval-samples", "200"]
    argv += ["--metric", "conditional-accuracy,attack-robustness", "--checkpoint-every", "20"]
    argv += ["--runs-dir", str(runs), "--store", str(tmp_path / "s.sqlite"), "--json", "--quiet"]
    assert main(argv) == 0
    record = json.loads(capsys.readouterr().out)
    assert record["status"] == "completed" and record["steps_done"] == 20
    assert record["model"] == "acgan" and record["task"] == "class-conditional"
    metrics = record["metrics"]
    cond = metrics["cond_acc[digits-evaluator]"]
    assert 0.0 <= cond <= 1.0
    aux = [n for n in attack_output_names({}, aux=True) if n.startswith("aux_")]
    assert aux and "aux_clean_acc" in aux
    for name in aux:
        assert name in metrics and 0.0 <= metrics[name] <= 1.0, name
    assert math.isfinite(metrics["clean_acc_real"])
    with open(Path(record["run_dir"]) / "curves.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert rows and "loss_d.class" in rows[0] and "loss_g.class" in rows[0]
    values = [float(r["loss_d.class"]) for r in rows if r["loss_d.class"]]
    assert values and all(math.isfinite(v) and v > 0 for v in values)


def test_the_conformance_kit_passes() -> None:
    full = load_registry()
    registry = Registry(datasets={"digits": full.datasets["digits"]})
    results = check_model(full.model("acgan"), registry)
    failed = [(r.check, r.detail) for r in results if r.status == "failed"]
    assert failed == []
    passed = {r.check for r in results if r.status == "passed"}
    assert "train step reaches every hook point in order [digits]" in passed
    assert "classifier head [digits]" in passed
