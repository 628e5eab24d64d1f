"""The GAN-family models of the catalogue, each against what its paper says it does.

Conformance (shapes, checkpoints, hook order) is ``test_conformance``'s; here
each model's own mechanism is checked against an independent computation:
WGAN's clipping and warm-up schedule, WGAN-GP's penalty against its closed
form on a linear critic, PacGAN's packing, gan2d's layer sizes, Adam written
as a function against ``torch.optim.Adam``, the unrolled generator's
gradient against the plain one, and LSGAN's targets and decision threshold.
"""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest
import torch
from torch import nn

from ganbench.blocks.packing import PackedDiscriminator, pack, unpack_logits
from ganbench.blocks.penalties import gradient_penalty
from ganbench.blocks.unroll import AdamState, adam_step, unrolled_parameters
from ganbench.cli.main import main
from ganbench.data.types import DataInfo
from ganbench.registry import load_registry
from ganbench_plugins.gan2d import Gan2d
from ganbench_plugins.lsgan import least_squares_loss
from ganbench_plugins.wgan import CRITIC_SCHEDULE

DIGITS = DataInfo(name="digits", kind="image", shape=(1, 8, 8), num_classes=10)
POINTS = DataInfo(name="ring8", kind="vector", shape=(2,))


def _run(capsys: pytest.CaptureFixture[str], tmp_path, *args: str) -> dict:
    places = ["--runs-dir", str(tmp_path / "runs"), "--store", str(tmp_path / "s.sqlite")]
    assert main(["run", *args, *places, "--json", "--quiet"]) == 0, capsys.readouterr().err
    return json.loads(capsys.readouterr().out)


def test_wgan_clips_the_critic_and_records_its_warm_up(tmp_path, capsys) -> None:
    record = _run(
        capsys, tmp_path, "--plugin", "wgan", "--steps", "2", "--checkpoint-every", "2",
        "--metric", "fid", "--eval-samples", "100",
    )  # fmt: skip
    # Algorithm 1 and the authors' code: 100 critic steps for each of the first 25 G steps.
    assert record["protocol"]["d_steps_schedule"] == CRITIC_SCHEDULE.describe()
    assert record["protocol"]["d_steps_total"] == 200
    assert CRITIC_SCHEDULE.at(24) == 100 and CRITIC_SCHEDULE.at(25) == 5
    assert CRITIC_SCHEDULE.at(500) == 100 and CRITIC_SCHEDULE.at(501) == 5
    state = torch.load(
        tmp_path / "runs" / record["run_id"] / "checkpoints" / "last.pt", weights_only=True
    )["model"]
    # Every parameter of the critic (BatchNorm's scale and shift too), not its running statistics.
    buffers = ("running_mean", "running_var", "num_batches_tracked")
    critic = [
        v for k, v in state.items() if k.startswith("discriminator.") and not k.endswith(buffers)
    ]
    assert len(critic) >= 3
    assert max(float(v.abs().max()) for v in critic) <= 0.01 + 1e-9


def test_gradient_penalty_of_a_linear_critic_is_its_closed_form() -> None:
    # D(x) = w . x has gradient w everywhere: the penalty is (||w|| - 1)^2 exactly.
    w = torch.tensor([3.0, 4.0])  # norm 5
    real, fake = torch.randn(16, 2), torch.randn(16, 2)
    step = SimpleNamespace(real_in=real, fake_in=fake, discriminate=lambda x: x @ w)
    assert float(gradient_penalty(step)) == pytest.approx((5.0 - 1.0) ** 2, rel=1e-6)
    assert float(gradient_penalty(step, target_norm=5.0)) == pytest.approx(0.0, abs=1e-9)


def test_wgan_gp_adds_the_penalty_as_a_critic_term(tmp_path, capsys) -> None:
    record = _run(
        capsys, tmp_path, "--plugin", "wgan-gp:penalty=10", "--dataset", "ring8", "--steps",
        "2", "--checkpoint-every", "2", "--metric", "mode-coverage",
    )  # fmt: skip
    curves = (tmp_path / "runs" / record["run_id"] / "curves.csv").read_text().splitlines()
    header = curves[0].split(",")
    assert {"loss_d.adversarial", "loss_d.gradient_penalty"} <= set(header)
    assert record["protocol"]["d_steps_schedule"] == {"base": 5}
    assert record["model_params"] == {"penalty": 10.0, "norm": "none"}


def test_packing_stacks_m_samples_and_gives_each_its_packs_logit() -> None:
    x = torch.arange(5 * 2, dtype=torch.float32).view(5, 2)
    packed = pack(x, 2)  # 3 packs; the last completed with the first sample
    assert packed.shape == (3, 4)
    assert torch.equal(packed[2], torch.cat([x[4], x[0]]))
    assert torch.equal(
        unpack_logits(torch.tensor([1.0, 2.0, 3.0]), 5, 2), torch.tensor([1.0, 1, 2, 2, 3])
    )
    images = torch.randn(4, 1, 8, 8)
    assert pack(images, 4).shape == (1, 4, 8, 8)
    body = nn.Sequential(nn.Flatten(), nn.Linear(2, 1), nn.Flatten(0))
    # m = 1 is the unpacked discriminator.
    assert torch.equal(PackedDiscriminator(body, 1)(x), body(x))


def test_gan2d_has_pacgans_layer_sizes() -> None:
    model = Gan2d(POINTS)
    linears = [m for m in model.generator.modules() if isinstance(m, nn.Linear)]
    assert [m.out_features for m in linears] == [400, 400, 400, 400, 2]
    assert sum(isinstance(m, nn.BatchNorm1d) for m in model.generator.modules()) == 4
    maxouts = [m for m in model.discriminator.modules() if type(m).__name__ == "Maxout"]
    assert [(m.out_features, m.pieces) for m in maxouts] == [(200, 5)] * 3
    assert model.latent_dim == 2
    assert model.configure_optimizers()["g"].defaults["betas"] == (0.8, 0.999)


def test_adam_as_a_function_matches_torch_adam() -> None:
    torch.manual_seed(0)
    p = nn.Parameter(torch.randn(5))
    opt = torch.optim.Adam([p], lr=0.1, betas=(0.5, 0.9), eps=1e-8)
    state = AdamState(torch.zeros(5), torch.zeros(5), 0)
    value = p.detach().clone()
    for _ in range(3):
        grad = torch.randn(5)
        value, state = adam_step(value, grad, state, 0.1, (0.5, 0.9), 1e-8)
        p.grad = grad
        opt.step()
    torch.testing.assert_close(value, p.detach(), rtol=1e-5, atol=1e-6)


def test_unrolled_generator_gradient_differs_from_the_plain_one() -> None:
    torch.manual_seed(0)
    g = nn.Linear(2, 2)
    d = nn.Sequential(nn.Linear(2, 8), nn.Tanh(), nn.Linear(8, 1), nn.Flatten(0))
    d_opt = torch.optim.Adam(d.parameters(), lr=0.05)
    z, real = torch.randn(32, 2), torch.randn(32, 2) + 2.0

    def d_loss(params):
        logits_real = torch.func.functional_call(d, params, (real,))
        logits_fake = torch.func.functional_call(d, params, (g(z),))
        return (
            nn.functional.softplus(-logits_real).mean() + nn.functional.softplus(logits_fake).mean()
        )

    def g_grad(steps: int) -> torch.Tensor:
        g.zero_grad()
        params = unrolled_parameters(d, d_opt, d_loss, steps)
        loss = nn.functional.softplus(-torch.func.functional_call(d, params, (g(z),))).mean()
        loss.backward()
        return g.weight.grad.clone()

    before = {k: v.detach().clone() for k, v in d.state_dict().items()}
    plain, unrolled = g_grad(0), g_grad(5)
    assert not torch.allclose(plain, unrolled)  # G sees how D would answer it
    for k, v in d.state_dict().items():  # the real D is untouched by the unrolling
        assert torch.equal(v, before[k]), k


def test_lsgan_targets_and_decision_threshold() -> None:
    loss = least_squares_loss(-1.0, 1.0, 0.0)  # eq. 8
    assert loss.decision_threshold == 0.0
    real, fake = torch.full((4,), 1.0), torch.full((4,), -1.0)
    ones, zeros = torch.ones(4), torch.zeros(4)
    # D at its targets (b for reals, a for fakes) has zero loss; G's is 1/2 (c - D)^2.
    assert float(loss.d_loss(real, fake, ones, zeros)) == 0.0
    assert float(loss.g_loss(fake)) == pytest.approx(0.5)
    assert least_squares_loss(0.0, 1.0, 1.0).decision_threshold == 0.5


def test_every_new_model_registers_with_its_paper() -> None:
    registry = load_registry()
    for name in ("wgan", "wgan-gp", "lsgan", "gan2d", "pacgan", "unrolled"):
        spec = registry.model(name)
        assert spec.paper and spec.description, name
