"""Packing: D judges m samples at once (Lin et al. 2018, "PacGAN", section 3).

Packed samples are concatenated along dimension 1 (channels of an image,
features of a vector), as in the authors' DCGAN-based experiments. A batch
of N samples makes ceil(N / m) packs; when m does not divide N, the last
pack is completed with the batch's first samples, so every sample is judged
and D's parameters see one input shape per batch size. The pack's logit is
given back to each of its samples, so a packed D still returns (N,) logits
and every loss and metric of the core applies unchanged; with m dividing N
the mean over samples is the mean over packs.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn


def pack(x: Tensor, m: int) -> Tensor:
    """(N, C, ...) -> (ceil(N/m), m*C, ...): m consecutive samples per pack."""
    n = x.shape[0]
    packs = math.ceil(n / m)
    index = torch.arange(packs * m, device=x.device) % n
    return x[index].reshape(packs, m * x.shape[1], *x.shape[2:])


def unpack_logits(logits: Tensor, n: int, m: int) -> Tensor:
    """One logit per pack -> one per sample (N,), each sample getting its pack's."""
    return logits.repeat_interleave(m)[:n]


class PackedDiscriminator(nn.Module):
    """Wraps a D whose input has m times the channels: (N, C, ...) -> logits (N,)."""

    def __init__(self, body: nn.Module, m: int) -> None:
        super().__init__()
        if m < 1:
            raise ValueError(f"packing must be at least 1, got {m}")
        self.body, self.m = body, m

    def forward(self, x: Tensor) -> Tensor:
        return unpack_logits(self.body(pack(x, self.m)), x.shape[0], self.m)
