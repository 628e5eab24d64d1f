"""Gradient penalties on D: WGAN-GP's (Gulrajani et al. 2017) and R1 (Mescheder et al. 2018)."""

from __future__ import annotations

import torch
from torch import Tensor

from ganbench.train.step import StepTensors


def gradient_penalty(step: StepTensors, target_norm: float = 1.0) -> Tensor:
    """E[(||grad_x D(x_hat)||_2 - target)^2] over random interpolates of one D update.

    x_hat = eps * real + (1 - eps) * fake with one eps ~ U[0, 1] per pair
    (Algorithm 1, lines 6-8), taken on what D saw (after
    ``transform_d_input``) under the batch's conditioning. The norm is over
    every dimension of one sample. Multiply by lambda (the paper's 10).
    """
    real, fake = step.real_in, step.fake_in
    if real is None:
        raise ValueError("the gradient penalty is a term of a D update")
    eps = torch.rand(real.shape[0], *([1] * (real.dim() - 1)), device=real.device)
    x_hat = (eps * real.detach() + (1 - eps) * fake.detach()).requires_grad_(True)
    # create_graph: the penalty's own gradient reaches D's weights.
    (grad,) = torch.autograd.grad(step.discriminate(x_hat).sum(), x_hat, create_graph=True)
    return ((grad.flatten(1).norm(2, dim=1) - target_norm) ** 2).mean()


def r1_penalty(step: StepTensors) -> Tensor:
    """E[||grad_x D(x)||_2^2] over the real samples of one D update.

    Mescheder, Geiger and Nowozin 2018, "Which Training Methods for GANs do
    actually Converge?", eq. 9: the R1 regulariser penalises D's gradient on
    the data alone, taken on what D saw of the reals under the batch's
    conditioning. Multiply by gamma / 2.
    """
    real = step.real_in
    if real is None:
        raise ValueError("the R1 penalty is a term of a D update")
    x = real.detach().requires_grad_(True)
    (grad,) = torch.autograd.grad(step.discriminate(x).sum(), x, create_graph=True)
    return grad.flatten(1).pow(2).sum(dim=1).mean()
