"""Fully connected stacks: MLPs and maxout networks.

Maxout (Goodfellow et al. 2013, "Maxout Networks"): a unit is the maximum
of ``pieces`` affine functions of its input; the original GAN's
discriminator (Goodfellow et al. 2014) and PacGAN's 2-D discriminator
(Lin et al. 2018, appendix) are maxout networks.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from torch import Tensor, nn


class Maxout(nn.Module):
    """``in_features -> out_features`` units, each the max of ``pieces`` linear maps."""

    def __init__(self, in_features: int, out_features: int, pieces: int) -> None:
        super().__init__()
        if pieces < 1:
            raise ValueError(f"maxout needs at least one piece, got {pieces}")
        self.out_features, self.pieces = out_features, pieces
        self.linear = nn.Linear(in_features, out_features * pieces)

    def forward(self, x: Tensor) -> Tensor:
        out = self.linear(x).view(x.shape[0], self.out_features, self.pieces)
        return out.max(dim=2).values


def mlp(
    in_features: int,
    hidden: Sequence[int],
    out_features: int,
    *,
    activation: Callable[[], nn.Module] = nn.ReLU,
    batch_norm: bool = False,
    output: nn.Module | None = None,
) -> nn.Sequential:
    """Linear layers of the ``hidden`` widths, each followed by (BatchNorm and) ``activation``.

    The last layer maps to ``out_features``, followed by ``output`` when given
    (a tanh for images); BatchNorm comes before the activation, as in DCGAN.
    """
    layers: list[nn.Module] = []
    width = in_features
    for size in hidden:
        layers.append(nn.Linear(width, size))
        if batch_norm:
            layers.append(nn.BatchNorm1d(size))
        layers.append(activation())
        width = size
    layers.append(nn.Linear(width, out_features))
    if output is not None:
        layers.append(output)
    return nn.Sequential(*layers)


def maxout_stack(
    in_features: int, hidden: Sequence[int], out_features: int, pieces: int
) -> nn.Sequential:
    """Maxout layers of the ``hidden`` widths, then a linear map to ``out_features``."""
    layers: list[nn.Module] = []
    width = in_features
    for size in hidden:
        layers.append(Maxout(width, size, pieces))
        width = size
    layers.append(nn.Linear(width, out_features))
    return nn.Sequential(*layers)


def normal_init(std: float = 0.02) -> Callable[[nn.Module], None]:
    """An ``apply`` function: weights of linear and conv layers from N(0, std), biases 0."""

    def init(module: nn.Module) -> None:
        if isinstance(module, nn.Linear | nn.Conv2d | nn.ConvTranspose2d):
            nn.init.normal_(module.weight, 0.0, std)
            if module.bias is not None:
                nn.init.zeros_(module.bias)

    return init
