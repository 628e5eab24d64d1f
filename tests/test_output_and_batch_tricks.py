"""Output noise, feature matching and mixed batches, each against what it claims.

End to end (run, resume, score) they are ``test_first_party_tricks``'s and
conformance is ``test_conformance``'s; here each mechanism is checked on
tensors in seconds: the noise's schedule and spread on D's logits, the
feature-matching term (zero on equal batches, positive otherwise, with a
gradient into G and D's buffers left alone), and D judging one mixed batch
per D update, with the refusals of each trick's ``check``.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch
from torch import Tensor, nn

from ganbench.api import Batch
from ganbench.data.types import DataInfo
from ganbench.model_build import call_build, parse_params, parse_trick, resolve_loss
from ganbench.registry import load_registry
from ganbench.testing.probe_data import probe_images
from ganbench.testing.training import short_run
from ganbench_plugins.feature_matching import TERM, feature_tap

REGISTRY = load_registry()
DIGITS = DataInfo(name="digits", kind="image", shape=(1, 8, 8), num_classes=10)


def trick(text: str):
    spec, params = parse_trick(text, REGISTRY)
    return spec, spec.build(params)


def model(name: str, loss: str | None = None):
    """A registered model with its default parameters, built for 8x8 digits."""
    spec = REGISTRY.model(name)
    torch.manual_seed(0)
    built = call_build(spec, DIGITS, parse_params("model", name, spec.params, ""))
    if loss is not None:
        built.loss = loss
    resolve_loss(built, REGISTRY.losses, name)
    return built


# -- output noise --------------------------------------------------------------------------------
def test_output_noise_anneals_linearly_to_zero_on_the_logits_only() -> None:
    _, noise = trick("output-noise:0.4")
    assert noise.std_at(0, 100) == pytest.approx(0.4)
    assert noise.std_at(50, 100) == pytest.approx(0.2)
    assert noise.std_at(100, 100) == 0.0
    _, fixed = trick("output-noise:sigma=0.4,anneal_steps=10")
    assert fixed.std_at(5, 1000) == pytest.approx(0.2) and fixed.std_at(10, 1000) == 0.0
    torch.manual_seed(0)
    out = {"logits": torch.zeros(100_000), "class_logits": torch.zeros(100_000, 3)}
    seen = noise.transform_d_output(out, "real", SimpleNamespace(step=0, total_steps=100))
    assert float(seen["logits"].std()) == pytest.approx(0.4, rel=0.02)
    assert torch.equal(seen["class_logits"], out["class_logits"])  # other heads untouched
    assert torch.equal(out["logits"], torch.zeros(100_000))  # the input is not edited
    state = torch.get_rng_state()
    last = noise.transform_d_output(out, "fake", SimpleNamespace(step=100, total_steps=100))
    assert last is out and torch.equal(torch.get_rng_state(), state)  # no draw once annealed


def test_output_noise_is_refused_where_the_loss_is_affine_in_d() -> None:
    spec, _ = trick("output-noise")
    assert spec.check(model("dcgan")) is None
    for loss in ("least-squares", "hinge", "minimax"):
        assert spec.check(model("dcgan", loss)) is None, loss
    assert "affine in D's output" in spec.check(model("dcgan", "wasserstein"))


# -- feature matching ----------------------------------------------------------------------------
def _g_step(gan, reals: Tensor, fakes: Tensor) -> SimpleNamespace:
    """What a G update hands ``loss_terms``, after its D pass on ``fakes``."""
    batch = Batch(x=reals)
    out = gan.discriminator_outputs(fakes, batch)
    return SimpleNamespace(net="g", model=gan, batch=batch, fake_in=fakes, fake_out=out)


def test_feature_matching_term_is_zero_on_equal_batches_and_reaches_g() -> None:
    spec, matching = trick("feature-matching")
    gan = model("dcgan")
    names = list(gan.state_dict())
    matching.transform_model(gan)
    assert list(gan.state_dict()) == names  # the tap moves no checkpoint name
    gan.train()
    reals = probe_images(16).x

    same = matching.loss_terms({"adversarial": torch.tensor(1.0)}, _g_step(gan, reals, reals))
    assert set(same) == {TERM}  # the paper replaces G's objective
    assert float(same[TERM].detach()) == pytest.approx(0.0, abs=1e-10)

    fakes = gan.generate(gan.sample_latent(16, "cpu"), Batch(x=reals))
    step = _g_step(gan, reals, fakes)
    adversarial = gan.adversarial_loss.g_loss(step.fake_out["logits"])
    norms = [m for m in gan.discriminator.modules() if isinstance(m, nn.BatchNorm2d)]
    before = [m.running_mean.clone() for m in norms]
    terms = matching.loss_terms({"adversarial": adversarial}, step)
    assert float(terms[TERM].detach()) > 0.0
    # The reals' extra pass leaves D's BatchNorm statistics as they were.
    assert all(torch.equal(m.running_mean, b) for m, b in zip(norms, before, strict=True))
    gan.zero_grad(set_to_none=True)
    terms[TERM].backward()
    grads = [p.grad for p in gan.generator.parameters()]
    assert all(g is not None for g in grads) and sum(float(g.abs().sum()) for g in grads) > 0.0
    assert feature_tap(gan).last is None  # nothing kept for a later update to reuse

    _, both = trick("feature-matching:true")
    both.transform_model(gan)  # already tapped: tapped once
    kept = both.loss_terms({"adversarial": torch.tensor(1.0)}, _g_step(gan, reals, fakes))
    assert set(kept) == {"adversarial", TERM}
    d_terms = {"adversarial": torch.tensor(2.0)}
    assert both.loss_terms(d_terms, SimpleNamespace(net="d")) == {
        "adversarial": d_terms["adversarial"]
    }
    assert spec.check(gan) is None
    assert "no weight layer" in spec.check(SimpleNamespace(discriminator=nn.Identity()))


# -- mixed batches -------------------------------------------------------------------------------
def _d_passes(gan, tricks) -> list[int]:
    """The batch sizes of D's forward passes in one training step."""
    sizes: list[int] = []
    gan.discriminator.register_forward_pre_hook(lambda _, args: sizes.append(len(args[0])))
    short_run(gan, probe_images(64), tricks, steps=1, batch_size=16)
    return sizes


def test_mixed_batches_makes_d_judge_real_and_fake_in_one_batch() -> None:
    spec, mixed = trick("mixed-batches")
    assert spec.check(model("dcgan")) is None
    assert mixed.d_batches("separate") == "mixed"
    # Separate: a real and a fake pass in the D update, a fake pass in the G update.
    assert _d_passes(model("dcgan"), []) == [16, 16, 16]
    assert _d_passes(model("dcgan"), [mixed]) == [32, 16]


def test_mixed_batches_is_refused_where_it_changes_nothing() -> None:
    spec, _ = trick("mixed-batches")
    assert "no BatchNorm" in spec.check(model("wgan-gp"))  # its critic has none
    assert "overrides train_step" in spec.check(model("unrolled"))
