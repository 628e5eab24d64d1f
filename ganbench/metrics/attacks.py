"""Adversarial robustness of a trained discriminator: FGSM and PGD accuracy, smallest flipping eps.

The GAN articles show adversarial examples (Goodfellow et al. 2014 build on
Szegedy et al. 2014); this module turns them into a measurement of the
trained discriminator D, and of an auxiliary classifier head where a model
has one (AC-GAN style ``classify``).

- FGSM: one signed-gradient step of size eps (Goodfellow, Shlens and Szegedy,
  "Explaining and Harnessing Adversarial Examples", ICLR 2015, section 4).
- PGD: L-infinity projected gradient descent with a uniform random start in
  the eps-ball (Madry et al., "Towards Deep Learning Models Resistant to
  Adversarial Attacks", ICLR 2018, section 2.1), 10 steps of eps/4 by default.

Every attack works on a *decision margin* ``decision_fn(x) -> (N,)`` whose
sign is D's verdict: positive means "real". The attack on an image whose
target is "real" pushes the margin down, on one whose target is "fake" up; an
image is classified correctly when its signed margin is strictly positive (a
margin of exactly 0 counts as wrong). :func:`decision_margin` turns a
:class:`~ganbench.model.GANModel` into such a margin according to its loss;
Wasserstein critics have no decision threshold and are not measured
(:func:`why_no_decision`).

Eps is given to the low-level attacks in the units of ``x``; the summary
functions take it in units of 1/255 of the value range (images in [-1, 1]
have a range of 2, so k units are ``k / 255 * 2``), so the numbers read like
the literature's ``eps = 8/255``. Adversarial images are clamped back into the
value range.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple

import torch
from torch import Tensor, nn

from ganbench.data.types import Batch
from ganbench.errors import IncompatibleError
from ganbench.metrics.params import merged_params

if TYPE_CHECKING:
    from ganbench.model import GANModel

#: ``decision_fn(x) -> margin (N,)``: positive means D says "real".
DecisionFn = Callable[[Tensor], Tensor]
#: ``decision_fn(x, cond) -> margin (N,)`` where ``cond`` holds the rows of
#: conditioning that belong to ``x`` (or None for unconditional data).
ConditionedDecisionFn = Callable[[Tensor, "Batch | None"], Tensor]
#: ``on_batch(n)``: a batch of ``n`` samples has been attacked (for progress displays).
BatchDone = Callable[[int], None]

#: Defaults of :func:`compute_attack_robustness`; recorded in the protocol record
#: as resolved by :func:`resolved_attack_params`. ``eps`` and ``eps_max`` are in
#: units of 1/255 of the value range.
#:
#: Cost: each image costs D 114 forward-and-backward passes and 28 forward
#: ones (FGSM and 10 PGD steps at each of the 4 eps, then PGD at each of the
#: 1 + ``bisection_steps`` probes of the flip search), and a pass of a
#: convolutional D costs about its pixel count. So ``n_images`` None sizes each side (real, fake) to
#: ``pixel_budget`` values (C x H x W summed over the images), at most
#: ``max_images``: 256 digits, MNIST or CIFAR-10 images, 64 at 64x64 RGB, which
#: keeps the attack to minutes on a laptop CPU at any image size (500 a side at
#: any size took over 20 minutes at 64 px). The count does not depend on the
#: device, so that runs on a CPU and a GPU attack the same images. Six
#: bisection steps resolve the flipping eps to eps_max / 2**6 = 1/255, one grey
#: level of an 8-bit image, the finest step an image file can hold.
ATTACK_PARAMS: dict[str, Any] = {
    "eps": (1, 2, 4, 8),
    "pgd_steps": 10,
    "step_fraction": 0.25,
    "bisection_steps": 6,
    "eps_max": 64,
    "n_images": None,
    "max_images": 256,
    "pixel_budget": 256 * 3 * 32 * 32,
    "n_images_from": None,
    "batch_size": 100,
    "value_range": (-1.0, 1.0),
}


# --------------------------------------------------------------------------- applicability


def why_no_decision(model: GANModel) -> str | None:
    """Why D of ``model`` has no real/fake decision to attack, or None when it has one.

    The model's adversarial loss declares D's decision threshold; a loss
    without one (a Wasserstein critic's unbounded score) has no verdict.
    """
    try:
        loss = model.adversarial_loss
    except KeyError as exc:
        return str(exc).strip("'\"")
    if loss.decision_threshold is None:
        return (
            f"loss {loss.name!r} declares no decision threshold (its D outputs an unbounded "
            "score), so there is no 'real'/'fake' verdict to attack"
        )
    return None


def decision_threshold(model: GANModel) -> float:
    """D's output value that separates "real" (above) from "fake" (below) for ``model``.

    Raises:
        IncompatibleError: the model's loss declares no threshold.
    """
    reason = why_no_decision(model)
    if reason is not None:
        raise IncompatibleError(f"attack robustness does not apply: {reason}")
    threshold = model.adversarial_loss.decision_threshold
    assert threshold is not None
    return float(threshold)


def decision_margin(model: GANModel) -> ConditionedDecisionFn:
    """``(x, cond) -> model.discriminate(x, cond) - threshold``: positive means "real".

    ``cond`` is the conditioning of the rows of ``x`` (its ``x`` field is
    replaced by the attacked images, so D never sees the clean ones through
    it); None stands for an unconditional batch. The model's train/eval mode
    is not touched here (see :func:`eval_mode`).

    Raises:
        IncompatibleError: when the model's loss has no decision threshold.
    """
    threshold = decision_threshold(model)

    def margin(x: Tensor, cond: Batch | None) -> Tensor:
        rows = Batch(x=x) if cond is None else cond.with_x(x)
        return model.discriminate(x, rows) - threshold

    return margin


def label_margin(classify_fn: Callable[[Tensor], Tensor], labels: Tensor) -> DecisionFn:
    """A classifier as a decision margin: ``logit[label] - max other logit``, (N,).

    Positive exactly when the argmax is the true label, so attacking it with
    ``target_is_real=True`` is the untargeted attack on the classifier. The
    margin (Carlini and Wagner 2017) rather than cross-entropy is attacked so
    that "most adversarial iterate" and "misclassified" are the same quantity;
    with two classes it is exactly the discriminator case.

    Args:
        classify_fn: ``x -> class logits (N, K)``, K >= 2.
        labels: (N,) int64 true classes of the rows of ``x``.
    """

    def margin(x: Tensor) -> Tensor:
        logits = classify_fn(x)
        if logits.ndim != 2 or logits.shape[0] != x.shape[0] or logits.shape[1] < 2:
            raise ValueError(
                f"classify must return logits of shape (N, K>=2), got {tuple(logits.shape)}"
            )
        true = logits.gather(1, labels.view(-1, 1)).squeeze(1)
        others = logits.scatter(1, labels.view(-1, 1), float("-inf"))
        return true - others.max(dim=1).values

    return margin


@contextmanager
def eval_mode(module: nn.Module) -> Iterator[None]:
    """Put ``module`` in eval mode for the block, then restore every submodule's own mode."""
    modes = [(m, m.training) for m in module.modules()]
    module.eval()
    try:
        yield
    finally:
        for m, training in modes:
            m.training = training


# --------------------------------------------------------------------------- attacks


def _target_sign(target_is_real: bool | Tensor, x: Tensor) -> Tensor:
    """+1 where the target is "real", -1 where "fake"; shape (N,)."""
    target = torch.as_tensor(target_is_real, dtype=torch.bool, device=x.device)
    target = target.expand(x.shape[0]) if target.ndim == 0 else target
    if target.shape != (x.shape[0],):
        raise ValueError(
            f"target_is_real must be a bool or shape ({x.shape[0]},), got {tuple(target.shape)}"
        )
    return torch.where(target, 1.0, -1.0).to(x.dtype)


def _as_column(value: float | Tensor, x: Tensor, name: str) -> Tensor:
    """A scalar or per-image (N,) non-negative value, shaped to broadcast over x's rows."""
    v = torch.as_tensor(value, dtype=x.dtype, device=x.device)
    v = v.expand(x.shape[0]) if v.ndim == 0 else v
    if v.shape != (x.shape[0],):
        raise ValueError(f"{name} must be a scalar or shape ({x.shape[0]},), got {tuple(v.shape)}")
    if bool((v < 0).any()) or not bool(torch.isfinite(v).all()):
        raise ValueError(f"{name} must be finite and >= 0")
    return v.reshape(-1, *([1] * (x.ndim - 1)))


def _signed_margin(decision_fn: DecisionFn, x: Tensor, sign: Tensor) -> Tensor:
    margin = decision_fn(x)
    if margin.shape != (x.shape[0],):
        raise ValueError(
            f"decision_fn must return margins of shape ({x.shape[0]},), got {tuple(margin.shape)}"
        )
    return margin * sign


def _margin_and_grad(decision_fn: DecisionFn, x: Tensor, sign: Tensor) -> tuple[Tensor, Tensor]:
    """Signed margin (N,) at x and its gradient w.r.t. x only (parameters get no .grad)."""
    with torch.enable_grad():
        x = x.detach().requires_grad_(True)
        margin = _signed_margin(decision_fn, x, sign)
        if not margin.requires_grad:  # a D that ignores its input: nothing to follow
            return margin.detach(), torch.zeros_like(x)
        (grad,) = torch.autograd.grad(margin.sum(), x, allow_unused=True)
    return margin.detach(), torch.zeros_like(x) if grad is None else grad


def _project(
    x_adv: Tensor, x: Tensor, eps: Tensor, value_range: tuple[float, float] | None
) -> Tensor:
    """Back into the L-infinity ball of radius eps around x, then into the value range."""
    x_adv = torch.minimum(torch.maximum(x_adv, x - eps), x + eps)
    if value_range is not None:
        x_adv = x_adv.clamp(value_range[0], value_range[1])
    return x_adv


def fgsm(
    decision_fn: DecisionFn,
    x: Tensor,
    target_is_real: bool | Tensor,
    eps: float | Tensor,
    value_range: tuple[float, float] | None = (-1.0, 1.0),
) -> Tensor:
    """Fast gradient sign attack: ``x - eps * sign(grad of the signed margin)``, clamped.

    Args:
        decision_fn: ``x -> margin (N,)``, positive means "real".
        x: (N, ...) samples, e.g. images NCHW in [-1, 1].
        target_is_real: the correct verdict, a bool or (N,) bool; the attack
            pushes the margin towards the other verdict.
        eps: L-infinity radius in the units of ``x``, scalar or per image (N,).
        value_range: the adversarial samples are clamped into it (None: no clamp).

    Returns:
        Adversarial samples, shaped like ``x``, detached. Away from the clamp a
        linear D's margin moves by exactly ``eps * ||w||_1``.
    """
    sign = _target_sign(target_is_real, x)
    eps_col = _as_column(eps, x, "eps")
    x = x.detach()
    _, grad = _margin_and_grad(decision_fn, x, sign)
    return _project(x - eps_col * grad.sign(), x, eps_col, value_range)


def pgd(
    decision_fn: DecisionFn,
    x: Tensor,
    target_is_real: bool | Tensor,
    eps: float | Tensor,
    steps: int = 10,
    step_size: float | Tensor | None = None,
    generator: torch.Generator | None = None,
    value_range: tuple[float, float] | None = (-1.0, 1.0),
    random_start: bool = True,
) -> Tensor:
    """L-infinity projected gradient descent on the signed margin, with a random start.

    Starts at ``x + U(-eps, eps)`` (projected into the value range), takes
    ``steps`` signed-gradient steps of ``step_size``, projecting back into the
    eps-ball and the value range after each, and returns, per image, the
    iterate with the lowest signed margin (the most adversarial one seen, so
    more steps never weaken the attack).

    Args:
        decision_fn, x, target_is_real, eps, value_range: as in :func:`fgsm`.
        steps: number of gradient steps (>= 1).
        step_size: per-step change in the units of ``x`` (scalar or (N,));
            None means ``eps / 4``.
        generator: draws the random start (uniform, drawn on the generator's
            device, then moved to ``x``'s); None uses torch's global generator.
        random_start: False starts at ``x`` itself.

    Returns:
        Adversarial samples, shaped like ``x``, detached.
    """
    if steps < 1:
        raise ValueError(f"steps must be >= 1, got {steps}")
    sign = _target_sign(target_is_real, x)
    eps_col = _as_column(eps, x, "eps")
    step_col = eps_col / 4 if step_size is None else _as_column(step_size, x, "step_size")
    x = x.detach()
    x_adv = x
    if random_start:
        device = generator.device if generator is not None else torch.device("cpu")
        noise = torch.rand(x.shape, generator=generator, dtype=x.dtype, device=device)
        x_adv = x + (2 * noise.to(x.device) - 1) * eps_col
    x_adv = _project(x_adv, x, eps_col, value_range)
    best, best_margin = x_adv, None
    for i in range(steps + 1):
        if i < steps:
            margin, grad = _margin_and_grad(decision_fn, x_adv, sign)
        else:  # the last iterate needs its margin only
            with torch.no_grad():
                margin = _signed_margin(decision_fn, x_adv, sign)
        if best_margin is None:
            best_margin = margin
        else:
            better = margin < best_margin
            best = torch.where(better.view_as(eps_col), x_adv, best)
            best_margin = torch.where(better, margin, best_margin)
        if i < steps:
            x_adv = _project(x_adv - step_col * grad.sign(), x, eps_col, value_range)
    return best


def _is_correct(decision_fn: DecisionFn, x: Tensor, sign: Tensor) -> Tensor:
    with torch.no_grad():
        return _signed_margin(decision_fn, x, sign) > 0


class FlipSearch(NamedTuple):
    """Result of :func:`smallest_flipping_eps`.

    Attributes:
        eps: (N,) smallest eps (units of ``x``) found to flip the verdict: 0 for
            samples already misclassified, ``eps_max`` for samples not flipped
            within ``eps_max``; otherwise within ``eps_max / 2**bisection_steps``
            above the true PGD threshold.
        flipped: (N,) bool, whether the verdict is wrong at ``eps`` (False
            exactly for the samples reported at ``eps_max`` without a flip).
    """

    eps: Tensor
    flipped: Tensor


def smallest_flipping_eps(
    decision_fn: DecisionFn,
    x: Tensor,
    target_is_real: bool | Tensor,
    eps_max: float,
    bisection_steps: int = 8,
    pgd_steps: int = 10,
    step_fraction: float = 0.25,
    generator: torch.Generator | None = None,
    value_range: tuple[float, float] | None = (-1.0, 1.0),
) -> FlipSearch:
    """Per sample, the smallest L-infinity eps at which PGD flips D's verdict, by bisection.

    All samples of the batch are searched together: each probe runs
    :func:`pgd` with a per-sample eps at the midpoint of that sample's
    bracket. Bisection assumes the attack succeeds at every eps above the
    threshold, which holds exactly for a linear D and approximately for PGD
    on a trained D.

    Args:
        decision_fn, x, target_is_real, value_range: as in :func:`fgsm`.
        eps_max: upper end of the search, in the units of ``x``.
        bisection_steps: halvings of the bracket [0, eps_max] (>= 0).
        pgd_steps, step_fraction: PGD at each probe (step size = fraction * eps).
        generator: random starts of the probes.

    Returns:
        :class:`FlipSearch`; samples already misclassified get eps 0, samples
        never flipped within ``eps_max`` get ``eps_max`` and ``flipped=False``.
    """
    if bisection_steps < 0:
        raise ValueError(f"bisection_steps must be >= 0, got {bisection_steps}")
    if not eps_max > 0:
        raise ValueError(f"eps_max must be > 0, got {eps_max}")
    sign = _target_sign(target_is_real, x)
    x = x.detach()

    def flips_at(eps: Tensor) -> Tensor:
        adv = pgd(
            decision_fn,
            x,
            target_is_real,
            eps,
            steps=pgd_steps,
            step_size=eps * step_fraction,
            generator=generator,
            value_range=value_range,
        )
        return ~_is_correct(decision_fn, adv, sign)

    wrong = ~_is_correct(decision_fn, x, sign)
    hi = torch.full((x.shape[0],), float(eps_max), dtype=x.dtype, device=x.device)
    lo = torch.zeros_like(hi)
    flipped = wrong | flips_at(hi)
    for _ in range(bisection_steps):
        mid = (lo + hi) / 2
        flips = flips_at(mid)
        hi = torch.where(flips, mid, hi)
        lo = torch.where(flips, lo, mid)
    eps = torch.where(wrong, torch.zeros_like(hi), torch.where(flipped, hi, eps_max))
    return FlipSearch(eps=eps, flipped=flipped)


# --------------------------------------------------------------------------- summaries


def _eps_name(k: float) -> str:
    return f"{k:g}"


@dataclass(frozen=True)
class SideRobustness:
    """Robustness of one verdict (real images, or generated ones).

    Attributes:
        n: number of samples attacked.
        clean_acc: share classified correctly without attack.
        fgsm_acc, pgd_acc: share still correct after the attack, one per eps
            of :attr:`AttackResult.eps` (samples wrong before the attack count
            as wrong).
        min_flip_eps: median smallest flipping eps in units of 1/255 of the
            value range (0 for misclassified samples; ``eps_max`` for samples
            never flipped), or None when not searched.
        never_flipped: share of samples not flipped within ``eps_max``, or None.
    """

    n: int
    clean_acc: float
    fgsm_acc: tuple[float, ...]
    pgd_acc: tuple[float, ...]
    min_flip_eps: float | None = None
    never_flipped: float | None = None

    def as_dict(self, eps: Sequence[float], prefix: str, suffix: str) -> dict[str, float]:
        """Flat ``{name: value}`` named ``{prefix}clean_acc{suffix}``, ``{prefix}fgsm_acc{suffix}@k``..."""
        out = {f"{prefix}clean_acc{suffix}": self.clean_acc}
        for attack, accs in (("fgsm", self.fgsm_acc), ("pgd", self.pgd_acc)):
            for k, acc in zip(eps, accs, strict=True):
                out[f"{prefix}{attack}_acc{suffix}@{_eps_name(k)}"] = acc
        if self.min_flip_eps is not None and self.never_flipped is not None:
            out[f"{prefix}min_flip_eps{suffix}"] = self.min_flip_eps
            out[f"{prefix}never_flipped{suffix}"] = self.never_flipped
        return out


@dataclass(frozen=True)
class AttackResult:
    """FGSM/PGD robustness of D on real and generated samples, and the settings used.

    Attributes:
        eps: attack radii in units of 1/255 of the value range.
        real: robustness of the "real" verdict on real samples.
        fake: robustness of the "fake" verdict on generated samples.
        params: every setting that shapes the numbers (for the protocol record).
    """

    eps: tuple[float, ...]
    real: SideRobustness
    fake: SideRobustness
    params: dict[str, Any]

    def as_dict(self) -> dict[str, float]:
        """Flat metrics: ``clean_acc_real``, ``fgsm_acc_real@2``, ``pgd_acc_fake@8``,
        ``min_flip_eps_real``, ``never_flipped_fake``... (eps in 1/255 of the range)."""
        return {
            **self.real.as_dict(self.eps, "", "_real"),
            **self.fake.as_dict(self.eps, "", "_fake"),
        }


def _range_unit(value_range: tuple[float, float]) -> float:
    low, high = value_range
    if not high > low:
        raise ValueError(f"value_range must have low < high, got {value_range}")
    return (high - low) / 255.0


def _attack_rows(
    decision_for: Callable[[Tensor], DecisionFn],
    x: Tensor,
    target_is_real: bool,
    *,
    eps_abs: Sequence[float],
    pgd_steps: int,
    step_fraction: float,
    bisection_steps: int | None,
    eps_max: float,
    value_range: tuple[float, float],
    batch_size: int,
    generator: torch.Generator,
    unit: float,
    on_batch: BatchDone | None = None,
) -> SideRobustness:
    """Attack ``x`` in batches; ``decision_for(rows)`` is D's margin for those rows of x.

    ``eps_abs`` is in the units of ``x``; ``eps_max`` (and the reported flip
    eps) in units of 1/255 of the range, one of which is ``unit`` in x's units.
    ``bisection_steps=None`` skips the flip search. ``on_batch(n)`` hears each
    batch of ``n`` samples finished.
    """
    n = x.shape[0]
    if n == 0:
        raise ValueError("no samples to attack")
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    clean = torch.zeros(n, dtype=torch.bool)
    fgsm_ok = torch.zeros(len(eps_abs), n, dtype=torch.bool)
    pgd_ok = torch.zeros(len(eps_abs), n, dtype=torch.bool)
    flip_eps = torch.zeros(n, dtype=torch.float64)
    flipped = torch.zeros(n, dtype=torch.bool)
    for start in range(0, n, batch_size):
        rows = torch.arange(start, min(start + batch_size, n))
        xb = x[rows]
        fn = decision_for(rows)
        sign = _target_sign(target_is_real, xb)
        clean[rows] = _is_correct(fn, xb, sign).cpu()
        for i, e in enumerate(eps_abs):
            adv = fgsm(fn, xb, target_is_real, e, value_range)
            fgsm_ok[i, rows] = _is_correct(fn, adv, sign).cpu()
            adv = pgd(
                fn,
                xb,
                target_is_real,
                e,
                steps=pgd_steps,
                step_size=e * step_fraction,
                generator=generator,
                value_range=value_range,
            )
            pgd_ok[i, rows] = _is_correct(fn, adv, sign).cpu()
        if bisection_steps is not None:
            search = smallest_flipping_eps(
                fn,
                xb,
                target_is_real,
                eps_max * unit,
                bisection_steps=bisection_steps,
                pgd_steps=pgd_steps,
                step_fraction=step_fraction,
                generator=generator,
                value_range=value_range,
            )
            # In units of 1/255 of the range; unflipped rows get eps_max exactly, not a
            # float32 round trip of it.
            flip_eps[rows] = torch.where(
                search.flipped.cpu(), search.eps.double().cpu() / unit, float(eps_max)
            )
            flipped[rows] = search.flipped.cpu()
        if on_batch is not None:
            on_batch(len(rows))
    # Samples wrong before the attack stay wrong, whatever the attack did to them.
    fgsm_acc = tuple(float((ok & clean).double().mean()) for ok in fgsm_ok)
    pgd_acc = tuple(float((ok & clean).double().mean()) for ok in pgd_ok)
    searched = bisection_steps is not None
    return SideRobustness(
        n=n,
        clean_acc=float(clean.double().mean()),
        fgsm_acc=fgsm_acc,
        pgd_acc=pgd_acc,
        # quantile interpolates: the median of an even count is the mean of the middle two.
        min_flip_eps=float(flip_eps.quantile(0.5)) if searched else None,
        never_flipped=float((~flipped).double().mean()) if searched else None,
    )


def _check_settings(eps: Sequence[float], pgd_steps: int, step_fraction: float) -> None:
    if len(eps) == 0 or any(not float(k) > 0 for k in eps):
        raise ValueError(f"eps must be a non-empty list of positive numbers, got {list(eps)}")
    if pgd_steps < 1:
        raise ValueError(f"pgd_steps must be >= 1, got {pgd_steps}")
    if not step_fraction > 0:
        raise ValueError(f"step_fraction must be > 0, got {step_fraction}")


def attack_robustness(
    decision_fn: ConditionedDecisionFn,
    real: Tensor,
    fake: Tensor,
    *,
    real_cond: Batch | None = None,
    fake_cond: Batch | None = None,
    eps: Sequence[float] = (1, 2, 4, 8),
    pgd_steps: int = 10,
    step_fraction: float = 0.25,
    bisection_steps: int = 8,
    eps_max: float = 64,
    value_range: tuple[float, float] = (-1.0, 1.0),
    seed: int = 0,
    batch_size: int = 100,
    on_batch: BatchDone | None = None,
) -> AttackResult:
    """FGSM and PGD accuracy of D at each eps, and the median smallest flipping eps.

    Real samples have the target "real" (the attack tries to make D say
    fake); generated samples the target "fake". Samples are attacked in
    batches of ``batch_size``; for each batch ``decision_fn`` receives the
    matching rows of ``real_cond`` / ``fake_cond`` (None when not given), so
    a conditional D always sees each sample with its own conditioning.

    Args:
        decision_fn: ``(x, cond) -> margin (N,)``, positive means "real"
            (see :func:`decision_margin`).
        real, fake: (N_real, ...) and (N_fake, ...) samples in ``value_range``,
            on the device ``decision_fn`` runs on.
        real_cond, fake_cond: conditioning with one row per sample, or None.
        eps: attack radii in units of 1/255 of the value range.
        pgd_steps, step_fraction: PGD steps and step size as a fraction of eps
            (also used at each bisection probe).
        bisection_steps: halvings of [0, eps_max] in the flip search; the
            reported eps is at most ``eps_max / 2**bisection_steps`` above the
            PGD threshold.
        eps_max: upper end of the flip search, in units of 1/255 of the range.
            Samples not flipped within it are counted at ``eps_max`` in the
            median (and the median is then a lower bound); ``never_flipped``
            reports their share. Misclassified samples count as 0.
        value_range: valid sample range; adversarial samples are clamped into it.
        seed: seeds the ``torch.Generator`` of the PGD random starts (drawn on
            the CPU, real samples first, then generated ones). Results also
            depend on ``batch_size`` through the order of the draws.
        batch_size: samples per attack batch.
        on_batch: hears ``n`` after each batch of ``n`` samples (progress).

    Returns:
        :class:`AttackResult`; ``.as_dict()`` gives the flat metrics.
    """
    _check_settings(eps, pgd_steps, step_fraction)
    for name, cond, x in (("real_cond", real_cond, real), ("fake_cond", fake_cond, fake)):
        if cond is not None and len(cond) != x.shape[0]:
            raise ValueError(f"{name} has {len(cond)} rows but there are {x.shape[0]} samples")
    unit = _range_unit(value_range)
    generator = torch.Generator().manual_seed(seed)
    settings: dict[str, Any] = {
        "eps_abs": [float(k) * unit for k in eps],
        "pgd_steps": int(pgd_steps),
        "step_fraction": float(step_fraction),
        "bisection_steps": int(bisection_steps),
        "eps_max": float(eps_max),
        "value_range": (float(value_range[0]), float(value_range[1])),
        "batch_size": int(batch_size),
        "generator": generator,
        "unit": unit,
    }

    def decision_for(cond: Batch | None) -> Callable[[Tensor], DecisionFn]:
        def for_rows(rows: Tensor) -> DecisionFn:
            cond_rows = None if cond is None else cond.index(rows.to(cond.x.device))
            return lambda x: decision_fn(x, cond_rows)

        return for_rows

    real_side = _attack_rows(decision_for(real_cond), real, True, **settings, on_batch=on_batch)
    fake_side = _attack_rows(decision_for(fake_cond), fake, False, **settings, on_batch=on_batch)
    params = {
        "eps": tuple(float(k) for k in eps),
        "pgd_steps": int(pgd_steps),
        "step_fraction": float(step_fraction),
        "bisection_steps": int(bisection_steps),
        "eps_max": float(eps_max),
        "value_range": settings["value_range"],
        "seed": int(seed),
        "batch_size": int(batch_size),
        "n_real": real_side.n,
        "n_fake": fake_side.n,
        "random_start": True,
        "norm": "linf",
    }
    return AttackResult(eps=params["eps"], real=real_side, fake=fake_side, params=params)


@dataclass(frozen=True)
class ClassifierAttackResult:
    """FGSM/PGD accuracy of a classifier head on labelled real samples.

    Attributes:
        eps: attack radii in units of 1/255 of the value range.
        accuracy: clean and per-eps accuracies (its flip search is not run).
        params: the settings used.
    """

    eps: tuple[float, ...]
    accuracy: SideRobustness
    params: dict[str, Any]

    def as_dict(self) -> dict[str, float]:
        """Flat metrics ``aux_clean_acc``, ``aux_fgsm_acc@k``, ``aux_pgd_acc@k``."""
        return self.accuracy.as_dict(self.eps, "aux_", "")


def classifier_attack_accuracy(
    classify_fn: Callable[[Tensor], Tensor],
    x: Tensor,
    labels: Tensor,
    *,
    eps: Sequence[float] = (1, 2, 4, 8),
    pgd_steps: int = 10,
    step_fraction: float = 0.25,
    value_range: tuple[float, float] = (-1.0, 1.0),
    seed: int = 0,
    batch_size: int = 100,
    on_batch: BatchDone | None = None,
) -> ClassifierAttackResult:
    """Untargeted FGSM and PGD accuracy of a classifier (e.g. an AC-GAN auxiliary head).

    The attacks push the margin of :func:`label_margin` below zero (make the
    argmax differ from the label); accuracy is the share of samples still
    classified correctly, samples misclassified before the attack counting
    as wrong.

    Args:
        classify_fn: ``x -> class logits (N, K)``.
        x: (N, ...) labelled samples in ``value_range``.
        labels: (N,) int64 true classes.
        eps, pgd_steps, step_fraction, value_range, seed, batch_size, on_batch:
            as in :func:`attack_robustness`.
    """
    _check_settings(eps, pgd_steps, step_fraction)
    if labels.shape != (x.shape[0],):
        raise ValueError(f"labels must have shape ({x.shape[0]},), got {tuple(labels.shape)}")
    unit = _range_unit(value_range)
    labels = labels.to(x.device)
    side = _attack_rows(
        lambda rows: label_margin(classify_fn, labels[rows.to(labels.device)]),
        x,
        True,
        eps_abs=[float(k) * unit for k in eps],
        pgd_steps=int(pgd_steps),
        step_fraction=float(step_fraction),
        bisection_steps=None,
        eps_max=0.0,
        value_range=(float(value_range[0]), float(value_range[1])),
        batch_size=int(batch_size),
        generator=torch.Generator().manual_seed(seed),
        unit=unit,
        on_batch=on_batch,
    )
    params = {
        "eps": tuple(float(k) for k in eps),
        "pgd_steps": int(pgd_steps),
        "step_fraction": float(step_fraction),
        "value_range": (float(value_range[0]), float(value_range[1])),
        "seed": int(seed),
        "batch_size": int(batch_size),
        "n": side.n,
        "loss": "logit margin",
    }
    return ClassifierAttackResult(eps=params["eps"], accuracy=side, params=params)


# --------------------------------------------------------------------------- metric entry point


def _merged_params(params: Mapping[str, Any]) -> dict[str, Any]:
    return merged_params(ATTACK_PARAMS, params)


def resolved_attack_params(params: Mapping[str, Any], image_shape: Sequence[int]) -> dict[str, Any]:
    """``params`` over :data:`ATTACK_PARAMS` with the image count per side decided.

    A given ``n_images`` is kept (``n_images_from: "given"``); None becomes
    ``min(max_images, pixel_budget // (C * H * W))``, at least 1, and
    ``n_images_from`` says which of the two bound it. A side with fewer
    samples than ``n_images`` is attacked whole.
    """
    p = _merged_params(params)
    if p["n_images"] is not None:
        return {**p, "n_images": int(p["n_images"]), "n_images_from": "given"}
    by_budget = int(p["pixel_budget"]) // math.prod(int(d) for d in image_shape)
    if by_budget >= int(p["max_images"]):
        return {**p, "n_images": int(p["max_images"]), "n_images_from": "max_images"}
    return {**p, "n_images": max(1, by_budget), "n_images_from": "pixel_budget"}


def _subset(n_total: int, n: int, generator: torch.Generator) -> Tensor:
    """Sorted random rows (n of n_total, or all): a split may be ordered by class."""
    if n >= n_total:
        return torch.arange(n_total)
    return torch.randperm(n_total, generator=generator)[:n].sort().values


def has_classifier_head(model: nn.Module) -> bool:
    """Whether ``model`` defines ``classify(x) -> class logits (N, K)``."""
    return callable(getattr(model, "classify", None))


def attack_output_names(params: Mapping[str, Any], aux: bool = False) -> list[str]:
    """Names :func:`compute_attack_robustness` returns for ``params`` (merged over the defaults).

    ``aux`` adds the classifier-head outputs (models with ``classify`` whose
    reference split has labels).
    """
    ks = [_eps_name(float(k)) for k in _merged_params(params)["eps"]]
    names: list[str] = []
    for side in ("_real", "_fake"):
        names.append(f"clean_acc{side}")
        names += [f"{attack}_acc{side}@{k}" for attack in ("fgsm", "pgd") for k in ks]
        names += [f"min_flip_eps{side}", f"never_flipped{side}"]
    if aux:
        names.append("aux_clean_acc")
        names += [f"aux_{attack}_acc@{k}" for attack in ("fgsm", "pgd") for k in ks]
    return names


def compute_attack_robustness(
    model: GANModel,
    real: Batch,
    fake: Tensor,
    fake_conditions: Batch,
    params: Mapping[str, Any],
    seed: int,
    device: torch.device | str,
    on_progress: Callable[[int, int], None] | None = None,
) -> dict[str, float]:
    """Attack robustness of ``model``'s discriminator (and classifier head) as flat metrics.

    Takes ``n_images`` (:func:`resolved_attack_params`: sized to the image
    size unless given) random rows of the held-out real split (with their own
    conditioning) and of the fakes (with ``fake_conditions``), attacks them
    with :func:`attack_robustness` in eval mode, and, when the model defines
    ``classify`` and ``real`` has labels, adds :func:`classifier_attack_accuracy`
    on the same real rows. The model's train/eval modes are restored and its
    parameters get no gradients, even when called under ``torch.no_grad()``.

    Args:
        model: the trained model, already on ``device``; its ``loss`` must have
            a decision threshold (check :func:`why_no_decision` first).
        real: held-out real samples (images NCHW in [-1, 1]) and conditioning.
        fake: (N, ...) generated samples; ``fake_conditions`` has their
            conditioning row for row.
        params: overrides of :data:`ATTACK_PARAMS` (eps, eps_max in 1/255 of
            the value range).
        seed: seeds the row choice and the PGD random starts.
        device: where the attack runs.
        on_progress: hears ``(done, total)`` samples attacked after each batch
            (the classifier head's attacks count as samples of their own).

    Returns:
        ``{name: value}`` named as :func:`attack_output_names` lists.

    Raises:
        IncompatibleError: the model's loss has no decision threshold.
        ValueError: unknown params, or conditioning rows that do not match.
    """
    p = resolved_attack_params(params, real.x.shape[1:])
    reason = why_no_decision(model)
    if reason is not None:
        raise IncompatibleError(f"metric 'attack-robustness' does not apply: {reason}")
    if len(fake_conditions) != fake.shape[0]:
        raise ValueError(
            f"fake_conditions has {len(fake_conditions)} rows but there are {fake.shape[0]} fakes"
        )
    rows_gen = torch.Generator().manual_seed(seed)
    real_rows = _subset(len(real), int(p["n_images"]), rows_gen)
    fake_rows = _subset(fake.shape[0], int(p["n_images"]), rows_gen)
    real_b = real.index(real_rows).to(device)
    fake_c = fake_conditions.index(fake_rows).to(device)
    fake_x = fake[fake_rows].to(device)
    value_range = (float(p["value_range"][0]), float(p["value_range"][1]))
    common = {
        "eps": tuple(float(k) for k in p["eps"]),
        "pgd_steps": int(p["pgd_steps"]),
        "step_fraction": float(p["step_fraction"]),
        "value_range": value_range,
        "seed": seed,
        "batch_size": int(p["batch_size"]),
    }
    with_head = has_classifier_head(model) and real_b.y is not None
    on_batch = _progress_counter(
        on_progress, len(real_rows) * (2 if with_head else 1) + len(fake_rows)
    )
    with eval_mode(model):
        out = attack_robustness(
            decision_margin(model),
            real_b.x,
            fake_x,
            real_cond=real_b,
            fake_cond=fake_c,
            bisection_steps=int(p["bisection_steps"]),
            eps_max=float(p["eps_max"]),
            on_batch=on_batch,
            **common,
        ).as_dict()
        if with_head:
            head = classifier_attack_accuracy(
                model.classify, real_b.x, real_b.y, on_batch=on_batch, **common
            )
            out.update(head.as_dict())
    return out


def _progress_counter(
    on_progress: Callable[[int, int], None] | None, total: int
) -> BatchDone | None:
    """An ``on_batch`` that adds up samples and reports ``(done, total)``; None without a listener."""
    if on_progress is None:
        return None
    on_progress(0, total)
    done = 0

    def batch_done(n: int) -> None:
        nonlocal done
        done += n
        on_progress(done, total)

    return batch_done
