"""Output noise: Gaussian noise on D's logits, annealed to zero.

Sønderby et al. 2016 ("Amortised MAP Inference for Image Super-resolution",
section 3.2) and Arjovsky and Bottou 2017 ("Towards Principled Methods for
Training GANs", section 4) add noise to what D *sees* (see the
``instance-noise`` trick), so that D cannot separate real from generated
samples perfectly and its gradient stays informative. Noise on what D
*says* is the output-side counterpart: D's verdicts on real and generated
samples are blurred, in the D and the G update alike, so an over-confident
D is softened near its decision boundary. Neither paper (nor any other we
know of) fixes a value for noise on D's output; this trick is ganbench's
reading of the idea, not a published recipe.

Schedule: the standard deviation falls linearly from ``sigma`` at step 0 to
0 at step ``anneal_steps``, by default the run's budget (as ``instance-noise``
does; a run resumed with a longer ``--steps`` then anneals over the longer
budget from there on; give ``anneal_steps`` to fix the horizon).

Default ``sigma = 0.5``: half of the unit D's losses measure its output in
(one logit moves the sigmoid from 0.5 to 0.73; the hinge margin and the
least-squares target gap are both 1), enough to blur verdicts near the
boundary without drowning a confident D. A ganbench choice, to be tuned.

Only ``"logits"`` gets noise; other heads (AC-GAN's class logits, InfoGAN's
code posterior) are left alone, as they are not D's real/fake verdict. The
noise comes from torch's global generator, which the run seeds and
checkpoints, so a resumed run draws what the uninterrupted one drew.

Refused (``check``) for losses that are affine in D's output (the
Wasserstein loss): zero-mean noise then leaves every gradient unchanged.
Under the least-squares loss the noise only adds zero-mean noise to the
gradients (the expected loss moves by the constant sigma^2).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import torch
from torch import Tensor

import ganbench
from ganbench.api import GANModel, Param, StepContext, Trick, TrickSpec
from ganbench_plugins.instance_noise import annealed_std

NAME = "output-noise"


class OutputNoise(Trick):
    """Adds N(0, sigma_t^2) to D's logits, sigma_t = sigma (1 - step / steps)."""

    name = NAME
    hook_points = ("transform_d_output",)

    def __init__(self, params: Mapping[str, Any]) -> None:
        self.sigma = float(params["sigma"])
        self.anneal_steps = int(params["anneal_steps"])
        if self.sigma < 0.0:
            raise ValueError(f"output-noise sigma must be >= 0, got {self.sigma}")
        if self.anneal_steps < 0:
            raise ValueError(f"output-noise anneal_steps must be >= 0, got {self.anneal_steps}")

    def std_at(self, step: int, total_steps: int) -> float:
        """The noise's standard deviation at generator step ``step`` of a ``total_steps`` run."""
        return annealed_std(self.sigma, self.anneal_steps, step, total_steps)

    def transform_d_output(
        self, out: dict[str, Tensor], which: str, ctx: StepContext
    ) -> dict[str, Tensor]:
        std = self.std_at(ctx.step, ctx.total_steps)
        if std == 0.0:
            # No draw at all, so the RNG stream after annealing is the plain run's.
            return out
        logits = out["logits"]
        return {**out, "logits": logits + std * torch.randn_like(logits)}


def affine_loss_problem(model: GANModel) -> str | None:
    """Why output noise cannot act on ``model``'s loss (or None).

    A loss whose gradient in D's output is the same everywhere (the
    Wasserstein loss) is affine in it: adding zero-mean noise to the output
    changes its value, never a gradient. Probed at two fixed sets of
    logits (no RNG is touched), with the standard targets.
    """
    loss = model.adversarial_loss
    grads: list[tuple[Tensor, ...]] = []
    for logits in (torch.linspace(-3.0, 3.0, 8), torch.linspace(-1.0, 5.0, 8)):
        real = logits.clone().requires_grad_()
        fake = logits.flip(0).clone().requires_grad_()
        total = loss.d_loss(real, fake, torch.ones(8), torch.zeros(8)) + loss.g_loss(fake)
        grads.append(torch.autograd.grad(total, (real, fake)))
    if all(torch.allclose(a, b) for a, b in zip(*grads, strict=True)):
        return (
            f"its loss {loss.name!r} is affine in D's output, so zero-mean noise "
            "on it leaves every gradient unchanged"
        )
    return None


@ganbench.hookimpl
def ganbench_register_tricks(register: Callable[[TrickSpec], None]) -> None:
    register(
        TrickSpec(
            name=NAME,
            build=OutputNoise,
            hook_points=OutputNoise.hook_points,
            params=(
                Param("sigma", float, 0.5, "noise std on D's logits at step 0, annealed to 0"),
                Param("anneal_steps", int, 0, "steps to reach 0 (0: the run's budget)"),
            ),
            description=(
                "annealed Gaussian noise on D's logits, the output-side counterpart of "
                "instance noise (Sønderby et al. 2016; Arjovsky and Bottou 2017)"
            ),
            check=affine_loss_problem,
        )
    )
