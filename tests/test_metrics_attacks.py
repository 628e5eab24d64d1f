"""Attack robustness: closed-form checks on linear discriminators, and the model plumbing.

A linear D(x) = w . x + b is the one case with an exact answer: away from the
clamp, the worst L-infinity perturbation of radius eps moves the margin by
exactly eps * ||w||_1, so accuracy under attack, the smallest flipping eps and
the share never flipped all follow from the clean margins by formula.
"""

from __future__ import annotations

import pytest
import torch
from torch import Tensor, nn

from ganbench.data.types import Batch
from ganbench.errors import IncompatibleError
from ganbench.metrics.attacks import (
    attack_output_names,
    attack_robustness,
    classifier_attack_accuracy,
    compute_attack_robustness,
    decision_margin,
    decision_threshold,
    fgsm,
    label_margin,
    pgd,
    smallest_flipping_eps,
    why_no_decision,
)
from ganbench.model import GANModel, UnconditionalGAN

UNIT = 2.0 / 255.0  # 1/255 of the [-1, 1] range
SHAPE = (1, 3, 3)


def _uniform(n: int, seed: int, half_width: float = 0.4) -> Tensor:
    """Images well inside [-1, 1], so that eps up to 64/255 of the range never clamps."""
    gen = torch.Generator().manual_seed(seed)
    return (torch.rand(n, *SHAPE, generator=gen, dtype=torch.float64) * 2 - 1) * half_width


def _weights(seed: int) -> Tensor:
    gen = torch.Generator().manual_seed(seed)
    w = torch.randn(9, generator=gen, dtype=torch.float64)
    return w / w.abs().sum()  # ||w||_1 = 1: margins are then in the units of eps


def _linear(w: Tensor, b: float):
    return lambda x: x.flatten(1) @ w + b


# --------------------------------------------------------------------------- closed form


@pytest.mark.parametrize("target_is_real", [True, False])
def test_fgsm_and_pgd_move_a_linear_margin_by_eps_times_l1(target_is_real: bool) -> None:
    w = _weights(0) * 3.0
    d = _linear(w, 0.1)
    x = _uniform(16, 1)
    eps = torch.linspace(0.0, 0.3, 16, dtype=torch.float64)  # per-image radii
    expected = d(x) + (-1 if target_is_real else 1) * eps * w.abs().sum()
    torch.testing.assert_close(d(fgsm(d, x, target_is_real, eps)), expected)
    # PGD's random start lies in the ball and 10 steps of eps/4 reach the corner.
    gen = torch.Generator().manual_seed(0)
    torch.testing.assert_close(d(pgd(d, x, target_is_real, eps, generator=gen)), expected)


def _formula_side(margin: Tensor, eps_units: list[float], eps_max: float) -> dict[str, Tensor]:
    """Accuracy, smallest flipping eps and never-flipped share for a linear D with ||w||_1 = 1."""
    thresholds = torch.tensor(eps_units, dtype=torch.float64) * UNIT
    # A margin this close to a threshold would make the comparison a float coin toss.
    assert (margin.view(-1, 1) - thresholds.view(1, -1)).abs().min() > 1e-9
    flip = margin.clamp(min=0.0) / UNIT
    return {
        "acc": (margin.view(1, -1) > thresholds.view(-1, 1)).double().mean(dim=1),
        "flip": flip.clamp(max=eps_max),
        "never": (flip > eps_max).double().mean(),
    }


def test_attack_robustness_matches_the_linear_formulas() -> None:
    w, b = _weights(2), 0.2
    d = _linear(w, b)
    real = _uniform(120, 3)
    # Fakes sit 0.3 towards "fake" along sign(w), so that D gets most of them right.
    fake = _uniform(90, 4) - 0.3 * w.sign().view(1, *SHAPE)
    eps, eps_max, steps = [1, 2, 4, 8, 16], 32.0, 8
    result = attack_robustness(
        lambda x, cond: d(x),
        real,
        fake,
        eps=eps,
        eps_max=eps_max,
        bisection_steps=steps,
        batch_size=32,  # several batches and a partial last one
    )
    out = result.as_dict()
    tolerance = eps_max / 2**steps
    for side, margin in (("real", d(real)), ("fake", -d(fake))):
        ref = _formula_side(margin, eps, eps_max)
        # The data must exercise every branch: misclassified, flipped, never flipped.
        assert 0 < ref["acc"][-1] < ref["acc"][0] < 1
        assert (margin <= 0).any() and 0 < ref["never"] < 1
        assert out[f"clean_acc_{side}"] == pytest.approx(float((margin > 0).double().mean()))
        for k, acc in zip(eps, ref["acc"], strict=True):
            assert out[f"fgsm_acc_{side}@{k}"] == pytest.approx(float(acc), abs=1e-12)
            assert out[f"pgd_acc_{side}@{k}"] == pytest.approx(float(acc), abs=1e-12)
        median = float(ref["flip"].quantile(0.5))
        assert median - 1e-9 <= out[f"min_flip_eps_{side}"] <= median + tolerance + 1e-9
        assert out[f"never_flipped_{side}"] == pytest.approx(float(ref["never"]))
    assert result.params["eps"] == tuple(float(k) for k in eps)
    assert result.params["n_real"] == 120 and result.params["n_fake"] == 90


def test_smallest_flipping_eps_brackets_the_linear_threshold_per_image() -> None:
    w = _weights(5)
    d = _linear(w, 0.15)
    x = _uniform(64, 6)
    eps_max, steps = 0.25, 10
    search = smallest_flipping_eps(
        d, x, True, eps_max, bisection_steps=steps, generator=torch.Generator().manual_seed(0)
    )
    margin = d(x)
    truth = margin.clamp(min=0.0)  # ||w||_1 = 1
    flips = truth <= eps_max
    assert (~flips).any() and (margin <= 0).any() and flips.sum() > (margin <= 0).sum()
    assert torch.equal(search.flipped, flips)
    assert torch.equal(search.eps[margin <= 0], torch.zeros_like(search.eps[margin <= 0]))
    assert (search.eps[~flips] == eps_max).all()
    gap = (search.eps - truth)[flips]
    assert (gap >= -1e-12).all() and (gap <= eps_max / 2**steps + 1e-12).all()


# --------------------------------------------------------------------------- nonlinear D


def _mlp_decision(seed: int) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Flatten(), nn.Linear(9, 32), nn.Tanh(), nn.Linear(32, 1), nn.Flatten(0))


def test_pgd_is_at_least_as_strong_as_fgsm_on_a_nonlinear_d() -> None:
    net = _mlp_decision(0)
    x = (torch.rand(200, *SHAPE, generator=torch.Generator().manual_seed(1)) * 2 - 1) * 0.9
    margin = net(x).detach()
    real, fake = x[margin > 0], x[margin <= 0]
    out = attack_robustness(lambda z, cond: net(z), real, fake, eps=(4, 16, 32, 64)).as_dict()
    for side in ("real", "fake"):
        assert out[f"clean_acc_{side}"] == 1.0
        fgsm_accs = [out[f"fgsm_acc_{side}@{k}"] for k in (4, 16, 32, 64)]
        pgd_accs = [out[f"pgd_acc_{side}@{k}"] for k in (4, 16, 32, 64)]
        assert all(p <= f for p, f in zip(pgd_accs, fgsm_accs, strict=True))
        assert fgsm_accs == sorted(fgsm_accs, reverse=True) and pgd_accs[-1] < 1.0
    # Per image, the PGD margin is no higher than the FGSM one (up to the odd exception).
    eps = 32 * UNIT
    by_fgsm = net(fgsm(net, real, True, eps)).detach()
    by_pgd = net(pgd(net, real, True, eps, generator=torch.Generator().manual_seed(0))).detach()
    assert by_pgd.mean() < by_fgsm.mean()
    assert (by_pgd <= by_fgsm + 1e-6).double().mean() > 0.9


def test_attacks_stay_in_the_ball_and_the_value_range() -> None:
    net = _mlp_decision(1)
    gen = torch.Generator().manual_seed(2)
    x = torch.rand(50, *SHAPE, generator=gen) * 2 - 1
    x[:10] = 1.0
    x[10:20] = -1.0
    eps = 16 * UNIT
    for adv in (
        fgsm(net, x, True, eps),
        pgd(net, x, False, eps, generator=gen),
    ):
        assert adv.min() >= -1.0 and adv.max() <= 1.0
        assert (adv - x).abs().max() <= eps + 1e-6
    # A linear D pushed towards +1 at x = 1 everywhere cannot move: the clamp holds it.
    w = _weights(7).abs().float()
    d = _linear(w, 0.0)
    ones = torch.ones(4, *SHAPE)
    assert torch.equal(fgsm(d, ones, False, eps), ones)
    assert torch.equal(pgd(d, ones, False, eps, generator=gen), ones)


def test_same_seed_same_numbers_other_seed_other_starts() -> None:
    net = _mlp_decision(2)
    x = torch.rand(40, *SHAPE, generator=torch.Generator().manual_seed(3)) * 2 - 1

    def run(seed: int) -> dict[str, float]:
        return attack_robustness(
            lambda z, cond: net(z), x, -x, eps=(2, 8), bisection_steps=3, seed=seed, batch_size=16
        ).as_dict()

    assert run(0) == run(0)
    starts = [
        pgd(net, x, True, 8 * UNIT, steps=1, generator=torch.Generator().manual_seed(s))
        for s in (0, 0, 1)
    ]
    assert torch.equal(starts[0], starts[1]) and not torch.equal(starts[0], starts[2])


# --------------------------------------------------------------------------- model plumbing


class _TinyD(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Flatten(), nn.Linear(9, 8), nn.BatchNorm1d(8), nn.Dropout(0.5), nn.Linear(8, 1)
        )
        self.modes_seen: list[bool] = []

    def forward(self, x: Tensor) -> Tensor:
        self.modes_seen.append(self.training)
        return self.body(x).squeeze(1)


class _TinyGAN(UnconditionalGAN):
    latent_dim = 4

    def __init__(self, loss: str = "non-saturating") -> None:
        super().__init__()
        self.loss = loss
        self.generator = nn.Linear(4, 9)
        self.discriminator = _TinyD()


def _small_params(**extra) -> dict:
    return {"eps": (2, 8), "n_images": 24, "bisection_steps": 2, "batch_size": 10, **extra}


def test_model_mode_and_parameter_grads_are_left_alone() -> None:
    torch.manual_seed(0)
    model = _TinyGAN()
    model.train()
    model.generator.eval()  # a mixed state must come back as it was
    model.discriminator(torch.randn(16, *SHAPE))  # give BatchNorm running stats
    model.discriminator.modes_seen.clear()
    modes = {name: m.training for name, m in model.named_modules()}
    stats = {k: v.clone() for k, v in model.state_dict().items()}
    real = torch.rand(30, *SHAPE) * 2 - 1
    fake = torch.rand(30, *SHAPE) * 2 - 1
    params = _small_params()
    with torch.no_grad():
        first = compute_attack_robustness(
            model, Batch(x=real), fake, Batch(x=fake), params, seed=0, device="cpu"
        )
    assert {name: m.training for name, m in model.named_modules()} == modes
    assert all(p.grad is None for p in model.parameters())
    assert all(torch.equal(stats[k], v) for k, v in model.state_dict().items())
    assert model.discriminator.modes_seen and not any(model.discriminator.modes_seen)
    assert list(first) == attack_output_names(params)
    # Dropout was off, so the numbers repeat exactly.
    again = compute_attack_robustness(
        model, Batch(x=real), fake, Batch(x=fake), params, seed=0, device="cpu"
    )
    assert again == first


class _ConstantD(nn.Module):
    def __init__(self, value: float) -> None:
        super().__init__()
        self.value = value

    def forward(self, x: Tensor) -> Tensor:
        return x.flatten(1).sum(1) * 0.0 + self.value


def test_least_squares_threshold_is_one_half() -> None:
    assert decision_threshold(_TinyGAN("least-squares")) == 0.5
    assert (
        decision_threshold(_TinyGAN("non-saturating"))
        == 0.0
        == decision_threshold(_TinyGAN("hinge"))
    )
    x = torch.zeros(6, *SHAPE)
    scores = {}
    for loss in ("least-squares", "non-saturating"):
        model = _TinyGAN(loss)
        model.discriminator = _ConstantD(0.3)  # above logit 0, below the LS midpoint 0.5
        torch.testing.assert_close(
            decision_margin(model)(x, None), torch.full((6,), 0.3 - (loss == "least-squares") * 0.5)
        )
        scores[loss] = compute_attack_robustness(
            model, Batch(x=x), x, Batch(x=x), _small_params(), seed=0, device="cpu"
        )
    # LS: 0.3 reads as "fake", so reals are wrong and fakes right; BCE: the reverse.
    assert scores["least-squares"]["clean_acc_real"] == 0.0
    assert scores["least-squares"]["clean_acc_fake"] == 1.0
    assert scores["non-saturating"]["clean_acc_real"] == 1.0
    assert scores["non-saturating"]["clean_acc_fake"] == 0.0


def test_wasserstein_critic_is_reported_not_applicable() -> None:
    critic = _TinyGAN("wasserstein")
    reason = why_no_decision(critic)
    assert reason is not None and "'wasserstein' declares no decision threshold" in reason
    assert why_no_decision(_TinyGAN("hinge")) is None
    assert "least-squares" in (why_no_decision(_TinyGAN("made-up")) or "")
    with pytest.raises(IncompatibleError, match="no decision threshold"):
        decision_margin(critic)
    x = torch.zeros(4, *SHAPE)
    with pytest.raises(IncompatibleError, match="no decision threshold"):
        compute_attack_robustness(critic, Batch(x=x), x, Batch(x=x), {}, seed=0, device="cpu")


class _LabelCheckingGAN(GANModel):
    """D that is right only when it gets each image's own label.

    Pixel 0 encodes the label (0.2 * y - 0.4, robust to perturbations below
    0.1); pixel 1 is +0.5 on reals and -0.5 on fakes. With the matching label
    the margin is 20 * pixel 1 (correct), with another label its negation.
    """

    loss = "non-saturating"

    def __init__(self) -> None:
        super().__init__()
        self.generator = nn.Identity()
        self.discriminator = nn.Linear(1, 1)
        self.mismatches = 0
        self.calls = 0

    def discriminate(self, x: Tensor, cond: Batch) -> Tensor:
        assert cond.x is x  # the conditioning carries the attacked images, not the clean ones
        flat = x.flatten(1)
        decoded = torch.round((flat[:, 0].detach() + 0.4) / 0.2).long()
        matched = decoded == cond.y
        self.calls += 1
        self.mismatches += int((~matched).sum())
        return torch.where(matched, 20 * flat[:, 1], -20 * flat[:, 1])


def _coded(labels: Tensor, real: bool) -> Tensor:
    x = torch.zeros(len(labels), *SHAPE)
    x[:, 0, 0, 0] = 0.2 * labels - 0.4
    x[:, 0, 0, 1] = 0.5 if real else -0.5
    return x


def test_conditional_d_gets_each_images_own_condition_rows() -> None:
    gen = torch.Generator().manual_seed(0)
    real_y = torch.randint(0, 5, (40,), generator=gen)
    fake_y = torch.randint(0, 5, (33,), generator=gen)
    real = Batch(x=_coded(real_y, True), y=real_y)
    fake = _coded(fake_y, False)
    model = _LabelCheckingGAN()
    params = _small_params(eps_max=8, n_images=25, batch_size=7)  # a random subset, odd batches
    out = compute_attack_robustness(
        model, real, fake, Batch(x=torch.zeros_like(fake), y=fake_y), params, seed=3, device="cpu"
    )
    assert model.calls > 0 and model.mismatches == 0
    for side in ("real", "fake"):
        assert out[f"clean_acc_{side}"] == 1.0
        assert out[f"pgd_acc_{side}@8"] == 1.0  # 20 * 8/255 * 2 < 10: no flip
        assert out[f"never_flipped_{side}"] == 1.0 and out[f"min_flip_eps_{side}"] == 8.0


# --------------------------------------------------------------------------- auxiliary classifier


def test_label_margin_is_true_logit_minus_best_other() -> None:
    logits = torch.tensor([[2.0, 0.5, 1.0], [0.0, 3.0, 3.5], [1.0, 1.0, -1.0]])
    labels = torch.tensor([0, 1, 1])
    margin = label_margin(lambda x: logits, labels)(torch.zeros(3, 1))
    torch.testing.assert_close(margin, torch.tensor([1.0, -0.5, 0.0]))


def test_classifier_accuracy_matches_the_two_class_linear_formula() -> None:
    gen = torch.Generator().manual_seed(8)
    weights = torch.randn(2, 9, generator=gen, dtype=torch.float64)
    bias = torch.tensor([0.1, -0.1], dtype=torch.float64)
    x = _uniform(80, 9)
    labels = torch.randint(0, 2, (80,), generator=gen)

    def classify(z: Tensor) -> Tensor:
        return z.flatten(1) @ weights.T + bias

    eps = [1, 2, 4, 8]
    result = classifier_attack_accuracy(classify, x, labels, eps=eps, batch_size=25).as_dict()
    logits = classify(x)
    margin = logits.gather(1, labels.view(-1, 1)).squeeze(1) - logits.gather(
        1, (1 - labels).view(-1, 1)
    ).squeeze(1)
    l1 = (weights[0] - weights[1]).abs().sum()
    assert result["aux_clean_acc"] == pytest.approx(float((margin > 0).double().mean()))
    accs = []
    for k in eps:
        expected = float((margin > k * UNIT * l1).double().mean())
        accs.append(expected)
        assert result[f"aux_fgsm_acc@{k}"] == pytest.approx(expected, abs=1e-12)
        assert result[f"aux_pgd_acc@{k}"] == pytest.approx(expected, abs=1e-12)
    assert accs[-1] < accs[0]


def test_models_with_a_classify_head_get_the_aux_outputs() -> None:
    model = _TinyGAN()
    head = nn.Linear(9, 3)
    model.head = head
    model.classify = lambda x: head(x.flatten(1))  # type: ignore[method-assign]
    gen = torch.Generator().manual_seed(1)
    real = Batch(x=torch.rand(20, *SHAPE, generator=gen) * 2 - 1, y=torch.randint(0, 3, (20,)))
    fake = torch.rand(20, *SHAPE, generator=gen) * 2 - 1
    params = _small_params()
    out = compute_attack_robustness(model, real, fake, Batch(x=fake), params, seed=0, device="cpu")
    assert list(out) == attack_output_names(params, aux=True)
    assert all(0.0 <= out[f"aux_pgd_acc@{k}"] <= out["aux_clean_acc"] for k in (2, 8))
    assert all(p.grad is None for p in head.parameters())


# --------------------------------------------------------------------------- input checks


def test_bad_inputs_are_refused_with_the_value() -> None:
    x = torch.zeros(3, *SHAPE)
    with pytest.raises(ValueError, match=r"shape \(3,\)"):
        fgsm(lambda z: z.flatten(1)[:, :1], x, True, 0.1)
    with pytest.raises(ValueError, match="eps"):
        fgsm(lambda z: z.flatten(1).sum(1), x, True, -0.1)
    with pytest.raises(ValueError, match="unknown metric params"):
        compute_attack_robustness(_TinyGAN(), Batch(x=x), x, Batch(x=x), {"epsilon": 1}, 0, "cpu")
