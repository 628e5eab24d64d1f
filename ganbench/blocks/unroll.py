"""A differentiable optimizer step, for unrolled discriminators (Metz et al. 2017).

Unrolled GANs ("Unrolled Generative Adversarial Networks", ICLR 2017,
section 2) train G against the discriminator that k further D updates
would give, and back-propagate G's loss through those updates. That needs
D's optimizer written as a function of the parameters (so the update stays
in the autograd graph) instead of PyTorch's in-place ``step``:
:func:`adam_step` is Adam (Kingma and Ba 2015, Algorithm 1) on a dict of
tensors, and :func:`unrolled_parameters` runs k such steps from D's current
weights and optimizer state, leaving D itself untouched.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import torch
from torch import Tensor, nn


@dataclass
class AdamState:
    """Adam's moments and step count for one parameter (tensors stay in the graph)."""

    exp_avg: Tensor
    exp_avg_sq: Tensor
    step: int


def adam_state_of(optimizer: torch.optim.Optimizer, param: Tensor) -> AdamState:
    """The state ``optimizer`` (an Adam) keeps for ``param``, or a fresh one."""
    state = optimizer.state.get(param, {})
    if "exp_avg" not in state:
        zero = torch.zeros_like(param)
        return AdamState(zero, zero.clone(), 0)
    step = state["step"]
    return AdamState(
        state["exp_avg"].detach().clone(),
        state["exp_avg_sq"].detach().clone(),
        int(step.item() if isinstance(step, Tensor) else step),
    )


def adam_step(
    param: Tensor,
    grad: Tensor,
    state: AdamState,
    lr: float,
    betas: tuple[float, float],
    eps: float,
) -> tuple[Tensor, AdamState]:
    """One Adam update of ``param`` as a differentiable function: (new param, new state)."""
    beta1, beta2 = betas
    step = state.step + 1
    exp_avg = beta1 * state.exp_avg + (1 - beta1) * grad
    exp_avg_sq = beta2 * state.exp_avg_sq + (1 - beta2) * grad * grad
    m_hat = exp_avg / (1 - beta1**step)
    v_hat = exp_avg_sq / (1 - beta2**step)
    # The epsilon inside the square root keeps the second derivative finite
    # where a gradient is exactly zero (d sqrt(v)/dv is infinite at 0).
    new = param - lr * m_hat / (torch.sqrt(v_hat + eps**2) + eps)
    return new, AdamState(exp_avg, exp_avg_sq, step)


def unrolled_parameters(
    module: nn.Module,
    optimizer: torch.optim.Optimizer,
    loss_of: Callable[[Mapping[str, Tensor]], Tensor],
    steps: int,
    *,
    differentiable: bool = True,
) -> dict[str, Tensor]:
    """``module``'s parameters after ``steps`` Adam updates on ``loss_of(params)``.

    ``loss_of`` computes the loss with the given parameters (use
    ``torch.func.functional_call(module, params, args)``). The optimizer's
    settings (first param group) and current state start the unrolling;
    neither the module nor the optimizer is changed. With ``differentiable``
    the updates stay in the autograd graph (the paper's unrolling); without,
    each step's gradient is detached (a cheaper first-order variant).
    """
    group = optimizer.param_groups[0]
    lr, betas, eps = float(group["lr"]), tuple(group["betas"]), float(group["eps"])
    names = [name for name, p in module.named_parameters() if p.requires_grad]
    live = dict(module.named_parameters())
    params: dict[str, Tensor] = {name: live[name] for name in names}
    states = {name: adam_state_of(optimizer, live[name]) for name in names}
    for _ in range(steps):
        loss = loss_of(params)
        grads = torch.autograd.grad(
            loss, [params[n] for n in names], create_graph=differentiable, allow_unused=True
        )
        updated: dict[str, Tensor] = {}
        for name, grad in zip(names, grads, strict=True):
            if grad is None:
                updated[name] = params[name]
                continue
            updated[name], states[name] = adam_step(
                params[name],
                grad,
                states[name],
                lr,
                betas,
                eps,  # type: ignore[arg-type]
            )
        params = updated
    return params
