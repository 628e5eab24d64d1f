"""LAPGAN (Denton et al. 2015): the Laplacian pyramid, sampling coarse to fine, each
level's D on its residual and coarse image, training on the real pyramid, the CLI."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path
from typing import Any

import pytest
import torch
import torch.nn.functional as F
from cli_helpers import one_error_line, run_cli

from ganbench.api import Batch, DataInfo, DStepSchedule, IncompatibleError, StepContext
from ganbench.registry import Registry, load_registry
from ganbench.testing import check_model
from ganbench.testing.training import short_run
from ganbench.train.trick_chain import TrickChain
from ganbench_plugins import lapgan
from ganbench_plugins.feature_matching import FeatureMatching
from ganbench_plugins.gradient_penalty import GradientPenalty
from ganbench_plugins.minibatch_discrimination import _check as minibatch_check

TINY = {"coarsest": 8, "planes": 4, "g_hidden": 16, "d_hidden": 8}
TINY |= {"g_init": lapgan.DEFAULT_G_INIT, "d_init": lapgan.DEFAULT_D_INIT}


def _info(side: int, channels: int = 1) -> DataInfo:
    return DataInfo(name=f"img{side}", kind="image", shape=(channels, side, side))


def _model(side: int, channels: int = 1, **params: Any) -> lapgan.LAPGAN:
    torch.manual_seed(0)
    return lapgan.LAPGAN(_info(side, channels), {**TINY, **params})


def _images(n: int, side: int, channels: int = 1, seed: int = 0) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    return torch.rand(n, channels, side, side, generator=gen) * 2 - 1


def _reference_pyramid(x: torch.Tensor, levels: int) -> list[tuple[torch.Tensor, ...]]:
    """(x_k, l_k, h_k) coarse to fine, computed here: 2x2 block means and bilinear x2."""
    images = [x]
    for _ in range(levels - 1):
        n, c, s, _ = images[-1].shape
        images.append(images[-1].reshape(n, c, s // 2, 2, s // 2, 2).mean(dim=(3, 5)))
    images.reverse()
    out = [(images[0], None, images[0])]
    for k in range(1, levels):
        coarse = F.interpolate(images[k - 1], scale_factor=2, mode="bilinear", align_corners=False)
        out.append((images[k], coarse, images[k] - coarse))
    return out


# -- the pyramid ------------------------------------------------------------------------------
def test_levels_follow_the_image_size() -> None:
    assert lapgan.pyramid_sides(8) == (4, 8)  # digits: coarsest 4 x 4
    assert lapgan.pyramid_sides(16) == (8, 16)
    assert lapgan.pyramid_sides(32) == (8, 16, 32)  # the 8 -> 16 -> 32
    assert lapgan.pyramid_sides(28) == (7, 14, 28)
    assert lapgan.pyramid_sides(32, coarsest=4) == (4, 8, 16, 32)
    with pytest.raises(IncompatibleError, match="side 9"):
        lapgan.pyramid_sides(18)
    with pytest.raises(IncompatibleError, match="coarsest"):
        lapgan.pyramid_sides(8, coarsest=0)
    assert lapgan.check_fits(_info(8)) is None
    assert "even" in lapgan.check_fits(_info(7))
    assert "square" in lapgan.check_fits(DataInfo("r", "image", (1, 8, 16)))


@pytest.mark.parametrize(("side", "channels", "sides"), [(8, 1, (4, 8)), (32, 3, (8, 16, 32))])
def test_pyramid_shapes_per_level(side: int, channels: int, sides: tuple[int, ...]) -> None:
    model = _model(side, channels)
    assert model.sides == sides
    # z_0 (100) and one noise plane per finer level.
    assert model.latent_dim == 100 + sum(s * s for s in sides[1:])
    x = _images(3, side, channels)
    real = lapgan.laplacian_pyramid(x, len(sides))
    sampled = model.generator.pyramid(model.sample_latent(3, "cpu"))
    for k, s in enumerate(sides):
        for levels in (real, sampled):
            assert levels[k].image.shape == (3, channels, s, s)
            assert levels[k].residual.shape == (3, channels, s, s)
            assert (levels[k].coarse is None) == (k == 0)
            if k:
                assert levels[k].coarse.shape == (3, channels, s, s)
    noises = model.generator.split_latent(model.sample_latent(3, "cpu"))
    assert noises[0].shape == (3, 100)
    assert [n.shape for n in noises[1:]] == [(3, 1, s, s) for s in sides[1:]]
    assert model.generate(model.sample_latent(3, "cpu"), Batch(x=x)).shape == x.shape
    assert model.discriminate(x, Batch(x=x)).shape == (3,)


@pytest.mark.parametrize(("side", "channels"), [(8, 1), (32, 3)])
def test_the_residuals_reconstruct_the_image(side: int, channels: int) -> None:
    x = _images(4, side, channels, seed=1)
    levels = len(lapgan.pyramid_sides(side))
    pyramid = lapgan.laplacian_pyramid(x, levels)
    for got, (image, coarse, residual) in zip(pyramid, _reference_pyramid(x, levels), strict=True):
        torch.testing.assert_close(got.image, image)
        torch.testing.assert_close(got.residual, residual)
        if coarse is not None:
            torch.testing.assert_close(got.coarse, coarse)
            assert got.residual.abs().max() > 1e-3  # band-pass detail, not zero
    rebuilt = lapgan.reconstruct(pyramid[0].image, [lv.residual for lv in pyramid[1:]])
    torch.testing.assert_close(rebuilt, x, atol=1e-6, rtol=0)
    assert float(pyramid[0].image.min()) >= -1 and float(pyramid[0].image.max()) <= 1


# -- sampling -----------------------------------------------------------------------------------
def test_a_sample_is_the_upsampled_coarse_image_plus_generated_residuals() -> None:
    model = _model(32, 3).eval()
    z = model.sample_latent(5, "cpu", torch.Generator().manual_seed(2))
    g = model.generator
    # Run the pyramid by hand from the level networks and z's slices.
    z0, rest = z[:, :100], z[:, 100:]
    x = g.levels[0](z0)
    assert x.shape == (5, 3, 8, 8)
    for k, s in enumerate((16, 32), start=1):
        plane, rest = rest[:, : s * s].reshape(5, 1, s, s), rest[:, s * s :]
        coarse = F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)
        residual = g.levels[k](plane, coarse)
        assert residual.abs().max() > 0
        x = (coarse + residual).clamp(-1, 1)
    assert rest.numel() == 0
    with torch.no_grad():
        torch.testing.assert_close(model.generate(z, Batch(x=torch.zeros(5, 3, 32, 32))), x)
        # The finest level's noise plane changes the finest image only.
        other = z.clone()
        other[:, -32 * 32 :] = torch.randn(5, 32 * 32)
        a, b = g.pyramid(z), g.pyramid(other)
    torch.testing.assert_close(a[1].image, b[1].image)
    assert not torch.equal(a[2].image, b[2].image)


# -- D and the training step --------------------------------------------------------------------
def _context(model: lapgan.LAPGAN, batch: Batch, hooks: TrickChain | None = None) -> StepContext:
    return StepContext(
        step=0,
        total_steps=1,
        device=torch.device("cpu"),
        model=model,
        optimizers=dict(model.configure_optimizers()),
        hooks=hooks or TrickChain(),
        schedule=DStepSchedule(),
        d_steps=1,
        next_batch=lambda: batch,
    )


def test_each_level_d_sees_the_real_residual_or_a_fake_one_with_the_real_coarse_image() -> None:
    model = _model(32, 3)
    x = _images(6, 32, 3, seed=3)
    batch = Batch(x=x)
    calls: list[tuple[int, torch.Tensor, torch.Tensor | None]] = []
    firsts: dict[int, list[torch.Tensor]] = {}
    level_logits = model.discriminator.level_logits

    def record(k: int, residual: torch.Tensor, coarse: torch.Tensor | None) -> torch.Tensor:
        calls.append((k, residual.detach(), coarse))
        return level_logits(k, residual, coarse)

    model.discriminator.level_logits = record  # type: ignore[method-assign]
    for k in (1, 2):  # what the first convolution of D_k really reads
        first = model.discriminator.levels[k].body[0]
        first.register_forward_pre_hook(lambda m, a, k=k: firsts.setdefault(k, []).append(a[0]))
    losses = model._d_update(batch, _context(model, batch))
    reference = _reference_pyramid(x, 3)
    assert [k for k, _, _ in calls] == [0, 0, 1, 1, 2, 2]  # real, then fake, per level
    for k, (_, coarse, residual) in enumerate(reference):
        (_, real_h, real_l), (_, fake_h, fake_l) = calls[2 * k : 2 * k + 2]
        torch.testing.assert_close(real_h, residual)
        assert fake_h.shape == residual.shape and not torch.allclose(fake_h, residual)
        if k == 0:
            assert real_l is None and fake_l is None
            continue
        torch.testing.assert_close(real_l, coarse)
        assert fake_l is real_l  # the fake residual is judged on the same real l_k
        torch.testing.assert_close(firsts[k][0], residual + coarse)  # D_k adds l_k to h_k
        torch.testing.assert_close(firsts[k][1], fake_h + coarse)
    assert set(losses) == {"loss_d", *(f"loss_d.level{k}.adversarial" for k in range(3))}


def test_each_level_g_is_conditioned_on_the_real_coarse_image() -> None:
    model = _model(8)
    x = _images(4, 8, seed=4)
    seen: list[torch.Tensor] = []
    model.generator.levels[1].register_forward_pre_hook(lambda m, a: seen.append(a[1]))
    losses = model._g_update(Batch(x=x), _context(model, Batch(x=x)))
    _, coarse, _ = _reference_pyramid(x, 2)[1]
    assert len(seen) == 1
    torch.testing.assert_close(seen[0], coarse)
    assert set(losses) == {"loss_g", "loss_g.level0.adversarial", "loss_g.level1.adversarial"}


def test_the_whole_image_d_is_the_sum_of_the_levels_logits() -> None:
    model = _model(32, 3).eval()  # no dropout
    x = _images(5, 32, 3, seed=5)
    d = model.discriminator
    with torch.no_grad():
        expected = sum(
            d.level_logits(k, h, low) for k, (_, low, h) in enumerate(_reference_pyramid(x, 3))
        )
        torch.testing.assert_close(model.discriminate(x, Batch(x=x)), expected)
        # An image of a coarser level's side is judged by the levels up to it.
        half = x[:, :, ::2, ::2]
        expected_half = sum(
            d.level_logits(k, h, low) for k, (_, low, h) in enumerate(_reference_pyramid(half, 2))
        )
        torch.testing.assert_close(model.discriminate(half, Batch(x=half)), expected_half)


def test_tricks_act_on_every_level() -> None:
    """Per-level loss terms: a gradient penalty for every D_k, feature matching for every G_k."""
    model = _model(8)
    train = Batch(x=_images(16, 8, seed=6))
    fm = FeatureMatching({"keep_adversarial": False})
    run = short_run(model, train, [GradientPenalty({"weight": 10.0, "target_norm": 1.0}), fm])
    assert run.outcome.status == "completed"
    logged = {k for row in run.outcome.curves for k in row}
    for k in (0, 1):
        assert f"loss_d.level{k}.gradient_penalty" in logged
        assert f"loss_g.level{k}.feature_matching" in logged
        assert f"loss_g.level{k}.adversarial" not in logged  # replaced, as the paper's FM does
    # No single layer makes every level's logits: minibatch discrimination refuses the model.
    assert "not a Linear or a convolution" in (minibatch_check(model) or "")


# -- initialisation -----------------------------------------------------------------------------
def _linears(net: torch.nn.Module) -> list[torch.nn.Linear]:
    return [m for m in net.modules() if isinstance(m, torch.nn.Linear)]


def test_paper_init_draws_the_authors_normals_and_default_keeps_pytorchs() -> None:
    # Widths large enough that a sample std estimates the drawing std within a few per cent.
    wide = {"g_hidden": 256, "d_hidden": 256}
    paper = _model(8, **wide, g_init="paper", d_init="paper")
    paper.init_weights()
    default = _model(8, **wide, g_init="default", d_init="default")
    before = {k: v.clone() for k, v in default.state_dict().items()}
    default.init_weights()
    for k, v in default.state_dict().items():  # default: init_weights changes nothing
        torch.testing.assert_close(v, before[k], rtol=0, atol=0)
    for net, std in ((paper.generator.levels[0], 0.05), (paper.discriminator.levels[0], 0.005)):
        for layer in _linears(net):
            assert abs(float(layer.weight.detach().std()) / std - 1) < 0.1
            assert float(layer.bias.detach().abs().max()) == 0
    for layer in _linears(default.generator.levels[0]) + _linears(default.discriminator.levels[0]):
        bound = 1 / math.sqrt(layer.in_features)  # PyTorch's (and Torch7's) U(+-1/sqrt(fan-in))
        assert float(layer.weight.detach().abs().max()) <= bound
        assert float(layer.weight.detach().std()) > 0.5 * bound / math.sqrt(3)
        assert float(layer.bias.detach().abs().max()) > 0
    # The finer levels keep PyTorch's initialisation under either choice.
    torch.testing.assert_close(
        paper.generator.levels[1].net[0].weight, default.generator.levels[1].net[0].weight
    )


def test_g_init_and_d_init_choose_independently() -> None:
    mixed = _model(8, g_init="paper", d_init="default")
    d_before = [p.clone() for p in mixed.discriminator.parameters()]
    mixed.init_weights()
    assert all(float(m.bias.detach().abs().max()) == 0 for m in _linears(mixed.generator.levels[0]))
    for p, q in zip(mixed.discriminator.parameters(), d_before, strict=True):
        torch.testing.assert_close(p, q, rtol=0, atol=0)


def test_an_unknown_init_is_one_error_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["run", "--plugin", "lapgan:d_init=xavier", "--steps", "1"]
    code, _, err = run_cli([*argv, "--runs-dir", str(tmp_path / "runs")], capsys)
    assert code == 2
    line = one_error_line(err)
    assert "xavier" in line and "paper" in line and "default" in line


# -- the CLI and the kit ---------------------------------------------------------------------------
def test_a_short_cli_run_writes_a_record(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    runs = tmp_path / "runs"
    argv = ["run", "--plugin", "lapgan:planes=4,g_hidden=16,d_hidden=8", "--dataset", "digits"]
    argv += ["--steps", "4", "--eval-samples", "64", "--threads", "1"]
    # No feature space and no attack: the record without the evaluator's training time.
    argv += ["--feature-extractor", "none", "--skip-metric", "attack-robustness"]
    argv += ["--runs-dir", str(runs), "--store", str(tmp_path / "s.sqlite"), "--json", "--quiet"]
    code, out, err = run_cli(argv, capsys)
    assert code == 0, err
    record = json.loads(out)
    assert record["status"] == "completed" and record["steps_done"] == 4
    assert record["model"] == "lapgan" and record["model_params"]["planes"] == 4
    assert record["protocol"]["latent_prior"] == {"name": "gaussian", "dim": 164}
    run_dir = Path(record["run_dir"])
    assert json.loads((run_dir / "record.json").read_text())["model"] == "lapgan"
    with open(run_dir / "curves.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert rows and {"loss_d.level0.adversarial", "loss_g.level1.adversarial"} <= set(rows[0])


def test_a_size_the_pyramid_cannot_halve_is_one_error_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["run", "--plugin", "lapgan", "--image-size", "18", "--steps", "1"]
    code, _, err = run_cli([*argv, "--runs-dir", str(tmp_path / "runs")], capsys)
    assert code == 2
    line = one_error_line(err)
    assert "side 9" in line and "coarsest=8" in line


def test_the_conformance_kit_passes() -> None:
    full = load_registry()
    registry = Registry(datasets={"digits": full.datasets["digits"]})
    results = check_model(full.model("lapgan"), registry)
    failed = [(r.check, r.detail) for r in results if r.status == "failed"]
    assert failed == []
    passed = {r.check for r in results if r.status == "passed"}
    assert "train step reaches every hook point in order [digits]" in passed
    assert "train step updates G and D [digits]" in passed
