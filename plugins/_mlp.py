"""The Keras-GAN MLP generator stack shared by the first-party ``gan`` and ``cgan`` plugins.

Keras-GAN (eriklindernoren/Keras-GAN, ``gan/gan.py`` and ``cgan/cgan.py``)
gives both its GAN and its cGAN the same generator body: Dense 256-512-1024,
each followed by LeakyReLU(0.2) and BatchNorm(momentum 0.8 in Keras, 0.2 in
PyTorch's convention), then a Dense to the data size (tanh for images).
"""

from __future__ import annotations

from torch import nn


def keras_mlp_generator_stack(in_features: int, out_features: int, bounded: bool) -> nn.Sequential:
    """The generator body: (N, in_features) -> (N, out_features), tanh-bounded for images."""
    layers: list[nn.Module] = []
    width = in_features
    for hidden in (256, 512, 1024):
        layers += [
            nn.Linear(width, hidden),
            nn.LeakyReLU(0.2),
            nn.BatchNorm1d(hidden, momentum=0.2),
        ]
        width = hidden
    layers.append(nn.Linear(width, out_features))
    if bounded:
        layers.append(nn.Tanh())
    return nn.Sequential(*layers)
