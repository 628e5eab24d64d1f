"""GAN-CLS / GAN-INT / GAN-INT-CLS (Reed et al. 2016): the matching-aware D's
terms and weights, the interpolated captions, sizing and a short run."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
import torch.nn.functional as F

from ganbench.api import Batch, DataInfo
from ganbench.cli.main import main
from ganbench_plugins import gan_int_cls

INFO = DataInfo(name="toy", kind="image", shape=(1, 8, 8), fields=("x", "text"), text_dim=4)
TINY = {"ngf": 8, "ndf": 4, "beta": 0.5}


def _model(cls: bool, interpolate: bool) -> gan_int_cls.GanIntCls:
    torch.manual_seed(0)
    return gan_int_cls.GanIntCls(INFO, TINY, cls=cls, interpolate=interpolate)


def _batch() -> Batch:
    gen = torch.Generator().manual_seed(1)
    text = torch.randn(6, 4, generator=gen)
    text[3] = text[2]  # rows 2 and 3 share a caption: row 3's wrong caption is row 1's
    return Batch(x=torch.rand(6, 1, 8, 8, generator=gen) * 2 - 1, text=text)


def test_wrong_captions_differ_from_the_rows_own() -> None:
    text = _batch().text
    wrong, found = gan_int_cls.mismatched_text(text)
    assert found.all()
    assert torch.equal(wrong[3], text[1]) and torch.equal(wrong[0], text[5])
    assert ((wrong != text).any(dim=1)).all()
    _, none = gan_int_cls.mismatched_text(text[:1].repeat(3, 1))
    assert not none.any()  # one caption only: no mismatched pair


@pytest.mark.parametrize(("cls", "fake_weight"), [(True, 0.5), (False, 1.0)])
def test_the_matching_aware_d_terms_and_weights(cls: bool, fake_weight: float) -> None:
    model = _model(cls=cls, interpolate=False)
    batch = _batch()
    real_logits, fake_logits = torch.randn(6), torch.randn(6)
    step = SimpleNamespace(
        batch=batch,
        real_in=batch.x,
        real_logits=real_logits,
        fake_logits=fake_logits,
        real_targets=torch.ones(6),
        fake_targets=torch.zeros(6),
    )
    terms = model.d_loss_terms(step)
    # -log sigmoid(r) for the real pair, -log(1 - sigmoid(f)) for negatives.
    real_term = F.softplus(-real_logits).mean()
    fake_term = F.softplus(fake_logits).mean()
    torch.testing.assert_close(terms["adversarial"], real_term + fake_weight * fake_term)
    if not cls:
        assert set(terms) == {"adversarial"}
        return
    wrong_text = batch.text[[5, 0, 1, 1, 3, 4]]  # each row's nearest earlier different caption
    wrong_logits = model.discriminator(batch.x, wrong_text)
    torch.testing.assert_close(terms["mismatched"], 0.5 * F.softplus(wrong_logits).mean())


def test_int_trains_g_on_interpolated_captions_at_half_weight() -> None:
    model = _model(cls=False, interpolate=True)
    batch = _batch()
    fake_logits = torch.randn(6)
    step = SimpleNamespace(batch=batch, fake_logits=fake_logits)
    torch.manual_seed(5)
    terms = model.g_loss_terms(step)
    torch.manual_seed(5)
    z = torch.randn(3, gan_int_cls.LATENT_DIM)  # the model's N(0, I) prior, same draw
    mixed = (batch.text[:3] + batch.text[3:]) / 2  # beta = 0.5
    logits = model.discriminator(model.generator(z, mixed), mixed)
    torch.testing.assert_close(terms["adversarial"], F.softplus(-fake_logits).mean())
    torch.testing.assert_close(terms["interpolated"], 0.5 * F.softplus(-logits).mean())
    assert "interpolated" not in _model(cls=True, interpolate=False).g_loss_terms(step)
    beta = gan_int_cls.interpolated_text(batch.text, 0.25)
    torch.testing.assert_close(beta, 0.25 * batch.text[:3] + 0.75 * batch.text[3:])


@pytest.mark.parametrize(("size", "concat"), [(8, 2), (32, 4)])
def test_text_joins_d_at_its_coarsest_map(size: int, concat: int) -> None:
    info = DataInfo(
        name="toy", kind="image", shape=(1, size, size), fields=("x", "text"), text_dim=4
    )
    model = gan_int_cls.GanIntCls(info, TINY, cls=True, interpolate=True)
    x = torch.rand(3, 1, size, size) * 2 - 1
    assert model.discriminator.image(x).shape[-1] == concat
    z, text = torch.randn(3, gan_int_cls.LATENT_DIM), torch.randn(3, 4)
    assert model.generator(z, text).shape == (3, 1, size, size)
    assert gan_int_cls.check_fits(DataInfo(name="t", kind="image", shape=(1, 8, 8))) is not None


def test_a_short_run_records_caption_match(tmp_path: Path, capsys) -> None:
    argv = ["run", "--plugin", "gan-int-cls:ngf=16,ndf=8", "--dataset", "digits-captions"]
    argv += ["--steps", "4", "--batch-size", "16", "--eval-samples", "200", "--threads", "1"]
    argv += ["--skip-metric", "attack-robustness", "--device", "cpu"]
    argv += ["--runs-dir", str(tmp_path / "runs"), "--store", str(tmp_path / "s.sqlite")]
    code = main([*argv, "--json", "--quiet"])
    out, err = capsys.readouterr()
    assert code == 0, err
    record = json.loads(out)
    assert record["status"] == "completed"
    for name in ("caption_match", "label_match"):
        value = record["metrics"][f"{name}[digits-evaluator]"]
        assert 0.0 <= value <= 1.0
        assert record["directions"][f"{name}[digits-evaluator]"] == "higher"
    params = record["protocol"]["metric_params"]["caption-match"]
    assert params["real_attribute_acc"] == {"thickness": 1.0, "slant": 1.0, "size": 1.0}
    assert params["real_label_acc"] == record["protocol"]["feature_extractor"]["test_accuracy"]
    assert len(params["text_encoder"]["sha256"]) == 64
