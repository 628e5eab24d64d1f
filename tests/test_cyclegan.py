"""``cyclegan`` (Zhu et al. 2017), its ``cycle-error`` metric and the ``cyclegan-folder`` dataset."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch
from cli_helpers import one_error_line, run_cli
from PIL import Image
from torch import Tensor, nn

from ganbench.api import Batch, DataInfo, DatasetOptions, EvalInputs, GANModel, TaskKind
from ganbench.errors import DataMissingError, IncompatibleError
from ganbench.metrics.cycle_error import CYCLE_ERROR_METRIC
from ganbench.model_build import shape_model
from ganbench.testing import MetricCase, check_metric
from ganbench.train.loop import Trainer, TrainSettings
from ganbench.train.schedule import DStepSchedule
from ganbench.train.step import StepContext, discriminator_tensors, generator_tensors
from ganbench.train.trick_chain import TrickChain
from ganbench_plugins import cyclegan as cg
from ganbench_plugins import cyclegan_folder

DIGITS_M = DataInfo(
    name="digits-m",
    kind="image",
    shape=(3, 8, 8),
    fields=("x", "y", "source"),
    source_shape=(3, 8, 8),
    paired=False,
)
TINY = {p.name: p.default for p in cg.PARAMS} | {"width": 4, "blocks": "1"}


@pytest.fixture(autouse=True)
def _one_thread() -> Iterator[None]:
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _images(n: int, seed: int, shape: tuple[int, ...] = (3, 8, 8)) -> Tensor:
    return torch.rand(n, *shape, generator=torch.Generator().manual_seed(seed)) * 2 - 1


def _tiny(**changes: object) -> cg.CycleGAN:
    torch.manual_seed(0)
    model = cg.CycleGAN(DIGITS_M, TINY | changes)
    model.init_weights()
    return model


def _context(model: GANModel, total_steps: int = 10) -> StepContext:
    return StepContext(
        step=0,
        total_steps=total_steps,
        device=torch.device("cpu"),
        model=model,
        optimizers=dict(model.configure_optimizers()),
        hooks=TrickChain([]),
        schedule=DStepSchedule(),
        d_steps=1,
        next_batch=lambda: Batch(x=_images(4, 9), source=_images(4, 10)),
    )


# -- networks ---------------------------------------------------------------------------
def test_sizes_follow_the_paper_where_the_image_is_large_enough() -> None:
    assert [cg.auto_downsamplings(s) for s in (8, 16, 32, 256)] == [1, 2, 2, 2]
    assert [cg.auto_blocks(s) for s in (8, 16, 32, 128, 256, 512)] == [3, 3, 6, 6, 9, 9]
    assert [cg.auto_d_layers(s) for s in (8, 16, 32, 256)] == [1, 2, 3, 3]
    # 256 px through the 70 x 70 PatchGAN: the authors' 30 x 30 map of patch logits.
    assert cg.patch_side(256, 3) == 30
    assert cg.patch_side(8, 1) == 2


@pytest.mark.parametrize(("size", "down", "layers"), [(8, 1, 1), (32, 2, 3), (16, 2, 2)])
def test_network_shapes(size: int, down: int, layers: int) -> None:
    g = cg.ResnetGenerator(3, width=4, downsamplings=down, blocks=2)
    x = _images(2, 0, (3, size, size))
    out = g(x)
    assert out.shape == x.shape and out.abs().max() <= 1
    d = cg.PatchDiscriminator(3, width=4, layers=layers)
    side = cg.patch_side(size, layers)
    assert d(x).shape == (2, 1, side, side)
    # The PatchGAN's widths: C64-C128-C256-C512 at width 64, capped at 8 x width.
    convs = [m for m in cg.PatchDiscriminator(3, 64, 3).modules() if isinstance(m, nn.Conv2d)]
    assert [c.out_channels for c in convs] == [64, 128, 256, 512, 1]
    assert [c.stride[0] for c in convs] == [2, 2, 2, 1, 1]


def test_the_default_model_on_digits_m() -> None:
    model = cg.CycleGAN(DIGITS_M, {p.name: p.default for p in cg.PARAMS})
    assert (model.downsamplings, model.blocks, model.d_layers) == (1, 3, 1)
    batch = Batch(x=_images(5, 1), source=_images(5, 2))
    assert model.generate(None, batch).shape == (5, 3, 8, 8)
    assert model.generate_inverse(batch.x).shape == (5, 3, 8, 8)
    assert model.discriminate(batch.x, batch).shape == (5,)
    assert model.has_inverse() and not GANModel().has_inverse()
    assert model.discriminator_head_name == "b.head"
    assert model.discriminator.get_submodule("b.head").out_channels == 1


def test_bad_sizes_are_one_line_errors() -> None:
    from ganbench.api import GanbenchError

    with pytest.raises(GanbenchError, match=r"blocks='many' is not valid; valid choices: auto"):
        cg.CycleGAN(DIGITS_M, TINY | {"blocks": "many"})
    with pytest.raises(GanbenchError, match="d_layers=3 leaves no patch"):
        cg.CycleGAN(DIGITS_M, TINY | {"d_layers": "3"})
    assert "same shape" in cg.check_fits(
        DataInfo(name="sr", kind="image", shape=(3, 32, 32), source_shape=(3, 8, 8))
    )
    assert cg.check_fits(DIGITS_M) is None


# -- the loss terms --------------------------------------------------------------------
def _mse_to(x: Tensor, target: float) -> Tensor:
    return ((x - target) ** 2).mean()


def test_generator_terms_cycle_10_identity_5_least_squares() -> None:
    model = _tiny()
    batch = Batch(x=_images(4, 1), source=_images(4, 2))
    ctx = _context(model)
    terms = model.g_loss_terms(generator_tensors(model, batch, ctx))
    g, f = model.generator["a_to_b"], model.generator["b_to_a"]
    d_b, d_a = model.discriminator["b"], model.discriminator["a"]
    a, b = batch.source, batch.x
    with torch.no_grad():
        expected = {
            "adversarial": _mse_to(d_b(g(a)), 1.0),  # no 0.5: the authors' G term
            "adversarial_a": _mse_to(d_a(f(b)), 1.0),
            "cycle_a": 10 * (f(g(a)) - a).abs().mean(),
            "cycle_b": 10 * (g(f(b)) - b).abs().mean(),
            "identity_b": 5 * (g(b) - b).abs().mean(),
            "identity_a": 5 * (f(a) - a).abs().mean(),
        }
    assert set(terms) == set(expected)
    for name, value in expected.items():
        torch.testing.assert_close(terms[name].detach(), value, msg=name)
    # The weights are parameters: lambda scales the identity term too (0.5 x lambda).
    other = _tiny(cycle=4.0, identity=0.0)
    terms = other.g_loss_terms(generator_tensors(other, batch, _context(other)))
    assert "identity_a" not in terms and "identity_b" not in terms
    cycle = 4 * (other.generator["b_to_a"](other.generator["a_to_b"](a)) - a).abs().mean()
    torch.testing.assert_close(terms["cycle_a"].detach(), cycle.detach())


def test_discriminator_terms_are_halved_least_squares_over_patches() -> None:
    model = _tiny()
    batch = Batch(x=_images(4, 1), source=_images(4, 2))
    fake_b, fake_a = _images(4, 3), _images(4, 4)
    ctx = _context(model)
    tensors = discriminator_tensors(model, batch, ctx, fake=fake_b)
    assert tensors.z is None and tensors.fake is fake_b
    terms = model._d_terms(tensors, fake_a)
    d_b, d_a = model.discriminator["b"], model.discriminator["a"]
    with torch.no_grad():
        want_b = 0.5 * (_mse_to(d_b(batch.x), 1.0) + _mse_to(d_b(fake_b), 0.0))
        want_a = 0.5 * (_mse_to(d_a(batch.source), 1.0) + _mse_to(d_a(fake_a), 0.0))
    torch.testing.assert_close(terms["adversarial"].detach(), want_b)
    torch.testing.assert_close(terms["adversarial_a"].detach(), want_a)


def test_a_trick_moving_the_image_logit_moves_its_patches() -> None:
    out = {
        "logits": torch.tensor([1.5, 0.0]),
        "patch_mean": torch.tensor([0.5, 0.0]),
        "patch_logits": torch.tensor([[0.0, 1.0], [-1.0, 1.0]]),
    }
    torch.testing.assert_close(cg.patch_logits(out), torch.tensor([[1.0, 2.0], [-1.0, 1.0]]))


# -- the image pool --------------------------------------------------------------------
def _distinct(n: int, start: int = 0) -> Tensor:
    return torch.arange(start, start + n, dtype=torch.float32).view(n, 1, 1, 1)


def test_the_pool_passes_the_first_50_then_swaps_half() -> None:
    pool = cg.ImagePool(50, (1, 1, 1))
    gen = torch.Generator().manual_seed(0)
    first = _distinct(50)
    torch.testing.assert_close(pool.query(first[:30], gen), first[:30])
    torch.testing.assert_close(pool.query(first[30:], gen), first[30:])
    assert int(pool.count) == 50
    torch.testing.assert_close(pool.images, first)
    later = _distinct(2000, start=1000)
    out = pool.query(later, gen)
    swapped = out != later
    share = float(swapped.float().mean())
    assert 0.45 < share < 0.55, share
    # A swapped image is one stored earlier: the first 50 or a later image it replaced.
    earlier = (out[swapped] < 50) | (out[swapped] >= 1000)
    assert bool(earlier.all())
    stored = set(pool.images.flatten().tolist())
    assert len(stored) == 50 and stored <= set(range(50)) | set(range(1000, 3000))


def test_the_pool_is_deterministic_under_a_seeded_generator() -> None:
    def answers(seed: int) -> Tensor:
        pool = cg.ImagePool(5, (1, 1, 1))
        gen = torch.Generator().manual_seed(seed)
        return torch.cat([pool.query(_distinct(4, 10 * i), gen) for i in range(10)])

    assert torch.equal(answers(1), answers(1))
    assert not torch.equal(answers(1), answers(2))
    off = cg.ImagePool(0, (1, 1, 1))
    torch.testing.assert_close(off.query(_distinct(3)), _distinct(3))


def test_the_pool_is_in_the_state_dict() -> None:
    model = _tiny(pool=3)
    model.fake_b_pool.query(_images(2, 0))
    state = model.state_dict()
    assert int(state["fake_b_pool.count"]) == 2 and state["fake_a_pool.images"].shape == (
        3,
        3,
        8,
        8,
    )
    fresh = _tiny(pool=3)
    fresh.load_state_dict(state)
    torch.testing.assert_close(fresh.fake_b_pool.images, model.fake_b_pool.images)


# -- the learning rate -------------------------------------------------------------------
def test_the_learning_rate_is_constant_then_decays_linearly_to_zero() -> None:
    total = 200
    assert cg.lr_factor(0, total) == 1.0
    assert cg.lr_factor(total // 2, total) == 1.0
    assert cg.lr_factor(3 * total // 4, total) == pytest.approx(0.5)
    assert cg.lr_factor(total, total) == 0.0
    assert cg.lr_factor(10, total, decay_from=0.0) == pytest.approx(0.95)
    model = _tiny()
    ctx = _context(model, total_steps=total)
    ctx.optimizers["d"].param_groups[0]["lr"] = 4e-4  # a trick's rate (TTUR) is what decays
    for step, lr_g, lr_d in ((0, 2e-4, 4e-4), (100, 2e-4, 4e-4), (150, 1e-4, 2e-4), (200, 0, 0)):
        cg.set_decayed_lr(ctx, ("g", "d"), cg.lr_factor(step, total))
        assert ctx.optimizers["g"].param_groups[0]["lr"] == pytest.approx(lr_g)
        assert ctx.optimizers["d"].param_groups[0]["lr"] == pytest.approx(lr_d)


# -- training and resume ---------------------------------------------------------------
def _train(folder: Path, steps: int, budget: int, resume: bool = False) -> cg.CycleGAN:
    model = cg.CycleGAN(DIGITS_M, TINY | {"pool": 6})
    chain = TrickChain([])
    torch.manual_seed(0)
    shape_model(model, chain, fresh=not resume)
    train = Batch(x=_images(12, 5), source=_images(12, 6))
    settings = TrainSettings(steps=steps, batch_size=4, seed=0, checkpoint_every=2, log_every=1)
    trainer = Trainer(model, train, chain, settings, torch.device("cpu"), folder, paired=False)
    outcome = trainer.run(resume=resume)
    assert outcome.status == "completed" and budget >= steps
    return model


def test_a_resumed_run_ends_where_an_uninterrupted_one_does(tmp_path: Path) -> None:
    straight = _train(tmp_path / "straight", 4, 4)
    (tmp_path / "killed").mkdir()
    _train(tmp_path / "killed", 2, 4)
    resumed = _train(tmp_path / "killed", 4, 4, resume=True)
    assert int(straight.fake_b_pool.count) == 6  # 4 steps x 4 fakes: full, and swapping
    for name, value in straight.state_dict().items():
        assert torch.equal(value, resumed.state_dict()[name]), name
    last = torch.load(tmp_path / "straight" / "last.pt", weights_only=False)
    group = last["optimizers"]["g"]["param_groups"][0]
    # Step 3 of 4 took the rate at factor (4 - 3) / (4 - 2).
    assert group["initial_lr"] == pytest.approx(2e-4) and group["lr"] == pytest.approx(1e-4)


def test_the_step_reaches_every_hook_point_in_order() -> None:
    from ganbench.testing.hook_order import HookOrderRecorder, hook_order_problems
    from ganbench.testing.training import short_run

    recorder = HookOrderRecorder()
    train = Batch(x=_images(8, 5), source=_images(8, 6))
    short_run(_tiny(), train, [recorder], steps=2, batch_size=4, paired=False)
    assert hook_order_problems(recorder.calls) == []
    # G (with F) steps first, then D (both Ds): the authors' order.
    steps = [p for p, _ in recorder.calls if p in ("after_g_step", "after_d_step")]
    assert steps == ["after_g_step", "after_d_step"] * 2


# -- the cycle-error metric -------------------------------------------------------------
class KnownTranslator(GANModel):
    """G(a) = 0.5 a + 0.25 and F(b) = 0.8 b - 0.1: cycles with known errors."""

    task = TaskKind.UNPAIRED_TRANSLATION
    latent_dim = 0

    def generate(self, z: Tensor | None, cond: Batch) -> Tensor:
        assert cond.source is not None and not cond.x.any()  # x is never the answer
        return 0.5 * cond.source + 0.25

    def generate_inverse(self, x: Tensor) -> Tensor:
        return 0.8 * x - 0.1


class OneWayTranslator(KnownTranslator):
    generate_inverse = GANModel.generate_inverse


def translation_inputs(model: GANModel | None = None) -> EvalInputs:
    """Evaluation inputs of a translation run with ``model`` (default :class:`KnownTranslator`)."""
    model = KnownTranslator() if model is None else model
    sources, reals = _images(30, 11), _images(20, 12)
    fakes = model.generate(None, Batch(x=torch.zeros_like(sources), source=sources))
    return EvalInputs(
        info=DIGITS_M,
        real=Batch(x=reals),
        fake=fakes,
        fake_conditions=Batch(x=_images(30, 13), source=sources),
        extractor=None,
        model=model,
    )


def _numpy_cycles(inputs: EvalInputs) -> dict[str, float]:
    a, b = inputs.fake_conditions.source.numpy(), inputs.real.x.numpy()
    g = lambda v: 0.5 * v + 0.25  # noqa: E731
    f = lambda v: 0.8 * v - 0.1  # noqa: E731
    return {
        "cycle_a": float(np.abs(f(g(a)) - a).mean()),
        "cycle_b": float(np.abs(g(f(b)) - b).mean()),
    }


def test_cycle_error_matches_a_numpy_computation() -> None:
    inputs = translation_inputs()
    expected = _numpy_cycles(inputs)
    assert CYCLE_ERROR_METRIC.compute(inputs, {}) == pytest.approx(expected, abs=1e-6)
    assert expected["cycle_a"] != pytest.approx(expected["cycle_b"])
    results = {r.check: r for r in check_metric(CYCLE_ERROR_METRIC, [MetricCase(inputs, expected)])}
    assert results["known answer 1"].status == "passed", results["known answer 1"].detail
    # cycle_a reads the evaluation's own fakes G(a): other fakes, another value.
    inputs.fake = inputs.fake + 0.1
    assert CYCLE_ERROR_METRIC.compute(inputs, {})["cycle_a"] != pytest.approx(expected["cycle_a"])


def test_cycle_error_refuses_what_cannot_close_a_cycle() -> None:
    check = CYCLE_ERROR_METRIC.check
    assert check(translation_inputs()) is None
    no_model = translation_inputs()
    no_model.model = None
    assert "has no model" in check(no_model)
    assert "no inverse translation" in check(translation_inputs(OneWayTranslator()))
    other = translation_inputs()
    other.model = type("Plain", (KnownTranslator,), {"task": TaskKind.UNCONDITIONAL})()
    assert "needs an unpaired-translation model" in check(other)
    for reason in (check(no_model), check(other)):
        assert "\n" not in reason
    with pytest.raises(IncompatibleError, match="does not apply"):
        CYCLE_ERROR_METRIC.compute(translation_inputs(OneWayTranslator()), {})


def test_cycle_error_for_a_model_without_inverse_is_refused_before_training(
    tmp_path: Path, capsys
) -> None:
    plugins = Path(__file__).parent / "task_plugins"
    argv = ["run", "--plugins-dir", str(plugins), "--plugin", "tiny-cyclegan"]
    argv += ["--dataset", "digits-m", "--steps", "2", "--metric", "cycle-error"]
    argv += ["--feature-extractor", "none"]  # the refusal needs no feature space
    argv += ["--runs-dir", str(tmp_path / "runs"), "--store", str(tmp_path / "s.sqlite")]
    code, _, err = run_cli(argv, capsys)
    assert code == 2
    line = one_error_line(err)
    assert "cycle-error" in line and "no inverse translation" in line
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())


def test_a_short_run_on_digits_m_records_cycles_and_label_preservation(
    tmp_path: Path, capsys
) -> None:
    argv = ["run", "--plugin", "cyclegan:width=8,blocks=1", "--dataset", "digits-m"]
    argv += ["--steps", "4", "--batch-size", "16", "--eval-samples", "200", "--threads", "1"]
    argv += ["--skip-metric", "attack-robustness", "--device", "cpu", "--json", "--quiet"]
    argv += ["--runs-dir", str(tmp_path / "runs"), "--store", str(tmp_path / "s.sqlite")]
    code, out, err = run_cli(argv, capsys)
    assert code == 0, err
    record = json.loads(out)
    assert record["status"] == "completed"
    metrics = record["metrics"]
    for name in ("cycle_a", "cycle_b"):
        assert 0.0 <= metrics[name] <= 2.0 and record["directions"][name] == "lower"
    assert 0.0 <= metrics["label_acc[digits-m-evaluator]"] <= 1.0
    assert "fid[digits-m-evaluator]" in metrics


# -- the cyclegan-folder dataset ----------------------------------------------------------
COUNTS = {"trainA": 7, "trainB": 10, "testA": 3, "testB": 2}


def write_cyclegan_folder(root: Path, counts: dict[str, int] | None = None) -> Path:
    """A tiny dataset in CycleGAN's layout: ``counts`` random 12 x 12 PNGs per folder."""
    rng = np.random.default_rng(0)
    for folder, n in (counts or COUNTS).items():
        (root / folder).mkdir(parents=True, exist_ok=True)
        for i in range(n):
            pixels = rng.integers(0, 256, size=(12, 12, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(root / folder / f"{i:03d}.png")
    return root


def _options(root: Path, size: int = 8) -> DatasetOptions:
    return DatasetOptions(extra={"path": str(root)}, image_size=size)


def _pixels(path: Path, size: int) -> Tensor:
    return (
        torch.from_numpy(cyclegan_folder.read_image(path, size).copy()).permute(2, 0, 1).float()
        / 127.5
        - 1
    )


def test_the_folder_loads_unpaired_with_a_fixed_validation_split(tmp_path: Path) -> None:
    root = write_cyclegan_folder(tmp_path / "h2z")
    data = cyclegan_folder.load_cyclegan_folder(_options(root))
    info = data.info
    assert info.shape == info.source_shape == (3, 8, 8) and not info.paired
    assert info.fields == ("x", "source")
    train, val, test = (data.splits[k] for k in ("train", "val", "test"))
    # A tenth of each train folder held out (1 of 7, 1 of 10); train tiled to the larger.
    assert len(val) == 1 and len(train) == 9
    b_files = sorted((root / "trainB").iterdir())
    train_b = torch.stack([_pixels(p, 8) for p in b_files])
    seen = torch.cat([train.x, val.x])
    assert len(torch.unique(seen.flatten(1), dim=0)) == 10  # every B image, once, in one split
    for row in train_b:
        assert bool((seen == row).flatten(1).all(1).any())
    # Test: every B image once (the reference), A cut to as many rows.
    assert len(test) == 2
    torch.testing.assert_close(test.x[1], _pixels(root / "testB" / "001.png", 8))
    torch.testing.assert_close(test.source[1], _pixels(root / "testA" / "001.png", 8))
    again = cyclegan_folder.load_cyclegan_folder(_options(root))
    assert again.fingerprint() == data.fingerprint()
    assert cyclegan_folder.load_cyclegan_folder(_options(root, 16)).info.shape == (3, 16, 16)
    Image.fromarray(np.zeros((12, 12, 3), dtype=np.uint8)).save(root / "testA" / "000.png")
    assert cyclegan_folder.load_cyclegan_folder(_options(root)).fingerprint() != data.fingerprint()


def test_a_bad_layout_is_one_error_line_naming_what_is_missing(tmp_path: Path, capsys) -> None:
    root = write_cyclegan_folder(
        tmp_path / "h2z", {k: v for k, v in COUNTS.items() if k != "testB"}
    )
    with pytest.raises(DataMissingError, match=r"has no testB/; expected DIR/trainA/"):
        cyclegan_folder.load_cyclegan_folder(_options(root))
    base = ["run", "--plugin", "cyclegan", "--dataset", "cyclegan-folder", "--steps", "1"]
    base += ["--runs-dir", str(tmp_path / "runs"), "--store", str(tmp_path / "s.sqlite")]
    for path, needle in (
        (root, "has no testB/"),
        (tmp_path / "nowhere", "is not a folder"),
    ):
        code, _, err = run_cli([*base, "--data-path", str(path)], capsys)
        assert code == 2
        line = one_error_line(err)
        assert needle in line and "trainA/, DIR/trainB/, DIR/testA/, DIR/testB/" in line
    (root / "testB").mkdir()
    with pytest.raises(DataMissingError, match=r"no images .* in .*testB/"):
        cyclegan_folder.load_cyclegan_folder(_options(root))
    few = write_cyclegan_folder(tmp_path / "few", COUNTS | {"trainA": 3})
    with pytest.raises(DataMissingError, match="trainA/ holds 3 images; need at least 6"):
        cyclegan_folder.load_cyclegan_folder(_options(few))


def test_unequal_domains_are_tiled() -> None:
    images = _distinct(3)
    torch.testing.assert_close(
        cyclegan_folder.tiled(images, 5).flatten(), torch.tensor([0.0, 1, 2, 0, 1])
    )
    torch.testing.assert_close(cyclegan_folder.tiled(images, 2).flatten(), torch.tensor([0.0, 1]))
