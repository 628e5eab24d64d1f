"""Gradient penalties on D: Gulrajani et al. 2017, "Improved Training of Wasserstein GANs"."""

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
