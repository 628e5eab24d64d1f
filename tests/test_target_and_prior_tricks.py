"""The simple tricks of the armoury, each against what its source says it does.

End to end (run, resume, score) they are ``test_first_party_tricks``'s and
conformance is ``test_conformance``'s; here each trick's own mechanism is
checked on tensors: the targets label smoothing and flipping give D, the
noise schedule, the priors' supports, the initialisation's spread, dropout
only in training, the learning rates, the D-steps schedule, R1 against its
closed form on a linear critic, historical averaging against the mean of
the parameters it saw, and the layer swaps.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch
from torch import nn

from ganbench.api import DStepSchedule, GaussianPrior
from ganbench.data.types import DataInfo
from ganbench.model_build import parse_trick, resolve_loss
from ganbench.registry import load_registry
from ganbench_plugins.dcgan import DCGAN
from ganbench_plugins.gan2d import Gan2d

REGISTRY = load_registry()
DIGITS = DataInfo(name="digits", kind="image", shape=(1, 8, 8), num_classes=10)
POINTS = DataInfo(name="ring8", kind="vector", shape=(2,))


def trick(text: str):
    spec, params = parse_trick(text, REGISTRY)
    return spec, spec.build(params)


def model_with_loss(model, loss: str):
    model.loss = loss
    resolve_loss(model, REGISTRY.losses, "test")
    return model


def test_label_smoothing_is_one_sided_and_refused_where_targets_do_nothing() -> None:
    spec, smoothing = trick("label-smoothing")
    real, fake = smoothing.targets(torch.ones(4), torch.zeros(4), None)
    assert torch.equal(real, torch.full((4,), 0.9)) and torch.equal(fake, torch.zeros(4))
    assert spec.check(model_with_loss(Gan2d(POINTS), "non-saturating")) is None
    assert "ignores D's targets" in spec.check(model_with_loss(Gan2d(POINTS), "wasserstein"))


def test_label_flip_swaps_targets_at_its_rate() -> None:
    torch.manual_seed(0)
    _, always = trick("label-flip:1.0")
    real, fake = always.targets(torch.ones(8), torch.zeros(8), None)
    assert torch.equal(real, torch.zeros(8)) and torch.equal(fake, torch.ones(8))
    _, flip = trick("label-flip")
    real, _ = flip.targets(torch.ones(200_000), torch.zeros(1), None)
    assert float((real == 0).float().mean()) == pytest.approx(0.05, abs=0.002)


def test_instance_noise_anneals_linearly_to_zero() -> None:
    _, noise = trick("instance-noise:0.2")
    assert noise.std_at(0, 100) == pytest.approx(0.2)
    assert noise.std_at(50, 100) == pytest.approx(0.1)
    assert noise.std_at(100, 100) == 0.0
    _, fixed = trick("instance-noise:sigma=0.2,anneal_steps=10")
    assert fixed.std_at(5, 1000) == pytest.approx(0.1) and fixed.std_at(20, 1000) == 0.0
    torch.manual_seed(0)
    x = torch.zeros(100_000)
    seen = noise.transform_d_input(x, "real", SimpleNamespace(step=0, total_steps=100))
    assert float(seen.std()) == pytest.approx(0.2, rel=0.02)
    last = noise.transform_d_input(x, "fake", SimpleNamespace(step=100, total_steps=100))
    assert torch.equal(last, x)


def test_uniform_latent_replaces_the_gaussian_prior_by_the_cube() -> None:
    spec, uniform = trick("uniform-latent")
    prior = uniform.latent_prior(GaussianPrior(64), None)
    z = prior.sample(50_000, "cpu", torch.Generator().manual_seed(0))
    assert z.shape == (50_000, 64) and float(z.min()) >= -1.0 and float(z.max()) <= 1.0
    assert float(z.var()) == pytest.approx(1 / 3, rel=0.01)  # the variance of U(-1, 1)
    assert prior.describe()["name"] == "uniform"
    assert spec.check(DCGAN(DIGITS)) is None


def test_dcgan_init_draws_weights_with_its_spread() -> None:
    _, init = trick("dcgan-init:0.05")
    model = DCGAN(DIGITS)
    init.init_weights(model)
    convs = [m.weight for m in model.modules() if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d))]
    weights = torch.cat([w.detach().flatten() for w in convs])
    assert float(weights.std()) == pytest.approx(0.05, rel=0.05)
    assert abs(float(weights.mean())) < 0.005


def test_d_dropout_acts_in_training_only_and_moves_no_checkpoint_name() -> None:
    spec, dropout = trick("d-dropout")
    model = Gan2d(POINTS)
    names = list(model.state_dict())
    x = torch.randn(64, 2)
    model.eval()
    before = model.discriminator(x)
    dropout.transform_model(model)
    assert list(model.state_dict()) == names
    assert torch.equal(model.discriminator(x), before)  # eval: no dropout
    model.train()
    assert not torch.equal(model.discriminator(x), model.discriminator(x))
    bare = SimpleNamespace(discriminator=nn.Sequential(nn.Linear(2, 1)))
    assert "none of the activations" in spec.check(bare)


def test_ttur_sets_each_networks_rate_and_keeps_the_rest() -> None:
    _, ttur = trick("ttur:d_lr=3e-4,g_lr=1e-4")
    model = DCGAN(DIGITS)
    optimizers = ttur.configure_optimizers(model, dict(model.configure_optimizers()))
    assert {g["lr"] for g in optimizers["d"].param_groups} == {3e-4}
    assert {g["lr"] for g in optimizers["g"].param_groups} == {1e-4}
    assert optimizers["d"].param_groups[0]["betas"] == (0.5, 0.999)  # DCGAN's, untouched


def test_d_steps_sets_the_base_and_keeps_the_boosts() -> None:
    _, steps = trick("d-steps:3")
    assert steps.d_steps_schedule(DStepSchedule(1)).describe() == {"base": 3}
    wgan = DStepSchedule(5, boosted=100, boost_first=25, boost_every=500)
    changed = steps.d_steps_schedule(wgan)
    assert [changed.at(s) for s in (0, 24, 25, 500, 501)] == [100, 100, 3, 100, 3]


def test_r1_of_a_linear_critic_is_the_squared_norm_of_its_weights() -> None:
    critic = nn.Linear(3, 1)
    step = SimpleNamespace(real_in=torch.randn(16, 3), discriminate=lambda x: critic(x).squeeze(1))
    _, r1 = trick("r1:4.0")
    terms = r1.loss_terms({}, SimpleNamespace(net="d", **vars(step)))
    expected = 0.5 * 4.0 * float(critic.weight.detach().pow(2).sum())  # grad_x (w.x + b) = w
    assert float(terms["r1"].detach()) == pytest.approx(expected, rel=1e-6)
    assert r1.loss_terms({}, SimpleNamespace(net="g")) == {}


def test_historical_averaging_pulls_towards_the_mean_of_past_parameters() -> None:
    _, averaging = trick("historical-averaging:0.5")
    model = Gan2d(POINTS)
    history = []
    for _ in range(3):
        with torch.no_grad():
            for p in model.discriminator.parameters():
                p.add_(torch.randn_like(p))
        history.append([p.detach().clone() for p in model.discriminator.parameters()])
        averaging.after_d_step(model, None)
    means = [torch.stack(values).mean(0) for values in zip(*history, strict=True)]
    step = SimpleNamespace(net="d", model=model)
    term = averaging.loss_terms({}, step)["historical_average"]
    params = list(model.discriminator.parameters())
    expected = 0.5 * sum(
        float((p.detach() - m).pow(2).sum()) for p, m in zip(params, means, strict=True)
    )
    assert float(term.detach()) == pytest.approx(expected, rel=1e-5)
    assert (
        averaging.loss_terms({}, SimpleNamespace(net="g", model=model)) == {}
    )  # G: no history yet
    resumed = trick("historical-averaging:0.5")[1]
    resumed.load_state_dict(averaging.state_dict())
    assert float(resumed.loss_terms({}, step)["historical_average"].detach()) == pytest.approx(
        float(term.detach())
    )


def test_smooth_gradients_swaps_relu_and_max_pooling_without_moving_weights() -> None:
    spec, smooth = trick("smooth-gradients")
    model = DCGAN(DIGITS)
    names = list(model.state_dict())
    relus = sum(type(m) is nn.ReLU for m in model.modules())
    assert relus > 0
    smooth.transform_model(model)
    assert sum(type(m) is nn.ReLU for m in model.modules()) == 0
    assert (
        sum(isinstance(m, nn.LeakyReLU) and m.negative_slope == 0.2 for m in model.modules())
        >= relus
    )
    assert list(model.state_dict()) == names
    pooled = nn.Sequential(nn.Conv2d(1, 2, 3), nn.MaxPool2d(2, 2))
    trick("smooth-gradients:avg-pool")[1].transform_model(pooled)
    assert isinstance(pooled[1], nn.AvgPool2d) and pooled[1].kernel_size == 2
    assert "no ReLU or max-pooling" in spec.check(nn.Sequential(nn.Linear(2, 2)))
