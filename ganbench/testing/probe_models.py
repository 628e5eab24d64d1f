"""Tiny GANs the kit trains tricks on and attacks in metric checks.

Written against the public plugin API only, like any plugin's model: a
two-layer MLP generator and discriminator for the kit's probe data (2-D
points or 1 x 8 x 8 images), with any of the standard adversarial losses,
and with or without BatchNorm after the hidden layers (for the tricks that
act on it: virtual batch norm, mixed batches).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from ganbench.api import Batch, DataInfo, UnconditionalGAN
from ganbench.testing.probe_data import probe_images, probe_info, probe_vectors

HIDDEN = 32


class ProbeGAN(UnconditionalGAN):
    """z (N x 4) -> x (N x *shape), MLPs of one hidden layer; tanh output for images.

    ``batch_norm`` puts BatchNorm after both hidden layers (G's and D's).
    """

    latent_dim = 4

    def __init__(
        self, info: DataInfo, loss: str = "non-saturating", batch_norm: bool = False
    ) -> None:
        super().__init__()
        self.loss = loss
        size = math.prod(info.shape)
        out: list[nn.Module] = [nn.Tanh()] if info.kind == "image" else []
        g_norm: list[nn.Module] = [nn.BatchNorm1d(HIDDEN)] if batch_norm else []
        d_norm: list[nn.Module] = [nn.BatchNorm1d(HIDDEN)] if batch_norm else []
        self.generator = nn.Sequential(
            nn.Linear(self.latent_dim, HIDDEN),
            *g_norm,
            nn.ReLU(),
            nn.Linear(HIDDEN, size),
            *out,
            nn.Unflatten(1, tuple(info.shape)),
        )
        self.discriminator = nn.Sequential(
            nn.Flatten(),
            nn.Linear(size, HIDDEN),
            *d_norm,
            nn.LeakyReLU(0.2),
            nn.Linear(HIDDEN, 1),
            nn.Flatten(0),
        )

    def generate(self, z: Tensor | None, cond: Batch) -> Tensor:
        """``generator(z)``: N x *shape."""
        return self.generator(z)

    def configure_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        """Adam, learning rate 1e-3, for both networks."""
        return self.adam_optimizers(lr=1e-3, betas=(0.5, 0.999))


@dataclass(frozen=True)
class ProbeSetup:
    """A probe model factory and the training data it goes with."""

    name: str
    build: Callable[[], ProbeGAN]
    train: Batch


def _setup(name: str, train: Batch, loss: str, batch_norm: bool = False) -> ProbeSetup:
    info = probe_info(train)

    def build() -> ProbeGAN:
        torch.manual_seed(0)  # the same initial weights for every run of one setup
        return ProbeGAN(info, loss, batch_norm)

    return ProbeSetup(name, build, train)


def probe_setups() -> list[ProbeSetup]:
    """The models a trick is tried on, in order of preference.

    A trick is trained with the first one its ``check`` accepts: vector data
    with the non-saturating loss, then images, then the other losses (a
    trick that only moves targets refuses Wasserstein and hinge critics),
    and last with BatchNorm in both networks (for tricks that need it; the
    others keep their first choice).
    """
    vectors, images = probe_vectors(), probe_images()
    return [
        _setup("mlp on 2-D points, non-saturating", vectors, "non-saturating"),
        _setup("mlp on 8x8 images, non-saturating", images, "non-saturating"),
        _setup("mlp on 2-D points, least-squares", vectors, "least-squares"),
        _setup("mlp on 2-D points, minimax", vectors, "minimax"),
        _setup("mlp on 2-D points, hinge", vectors, "hinge"),
        _setup("mlp on 2-D points, wasserstein", vectors, "wasserstein"),
        _setup("mlp with BatchNorm on 2-D points, non-saturating", vectors, "non-saturating", True),
    ]
