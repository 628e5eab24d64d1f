"""The network bodies several first-party models train: gan2d's for vectors, DCGAN's for images.

``pacgan``, ``unrolled`` and ``wgan-gp`` change how a GAN trains, not its
networks; they take a ``body`` parameter (``auto`` picks gan2d for vector
data and DCGAN for images) so that a table compares training methods on one
network. Each body brings its paper's optimizer settings and initialisation.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from torch import nn

from ganbench.api import DataInfo, IncompatibleError
from ganbench.blocks.dcgan import DCGANDiscriminator, DCGANGenerator, check_image_size, dcgan_init
from ganbench.blocks.mlp import normal_init
from ganbench_plugins.gan2d import BETAS, LATENT_DIM, Gan2dDiscriminator, Gan2dGenerator

BODIES = ("auto", "gan2d", "dcgan")


@dataclass
class Body:
    """A generator, a D factory, and the optimizer and init that go with them.

    ``discriminator(packing, norm)`` builds D for inputs of ``packing``
    samples stacked along dimension 1; ``norm`` is DCGAN's inner
    normalisation (gan2d's maxout D has none).
    """

    name: str
    latent_dim: int
    generator: nn.Module
    discriminator: Callable[[int, str], nn.Module]
    lr: float
    betas: tuple[float, float]
    init: Callable[[nn.Module], None]


def chosen_body(info: DataInfo, body: str) -> str:
    """``auto`` resolved for ``info``: gan2d for vectors, dcgan for images."""
    if body == "auto":
        return "dcgan" if info.kind == "image" else "gan2d"
    return body


def body_problem(info: DataInfo, body: str = "auto") -> str | None:
    """Why ``body`` cannot be built for ``info``, or None."""
    if chosen_body(info, body) == "dcgan":
        return check_image_size(info)
    return None if info.kind == "vector" else "body gan2d takes vector data"


def build_body(model: str, info: DataInfo, body: str) -> Body:
    """The ``body`` networks for ``info``; an unfit choice is one clear error naming ``model``."""
    reason = body_problem(info, body)
    if reason is not None:
        raise IncompatibleError(
            f"model {model!r} with body {body!r} does not fit {info.name!r}: {reason}"
        )
    if chosen_body(info, body) == "gan2d":
        width = math.prod(info.shape)
        return Body(
            "gan2d",
            LATENT_DIM,
            Gan2dGenerator(tuple(info.shape)),
            lambda packing, norm: Gan2dDiscriminator(packing * width),
            1e-4,
            BETAS,
            normal_init(0.02),
        )
    channels, size = info.shape[0], info.shape[-1]
    return Body(
        "dcgan",
        100,
        DCGANGenerator(100, channels, size),
        lambda packing, norm: DCGANDiscriminator(packing * channels, size, norm=norm),
        2e-4,
        (0.5, 0.999),
        dcgan_init,
    )
