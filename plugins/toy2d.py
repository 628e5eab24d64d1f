"""2-D Gaussian mixtures for mode-collapse studies: ``ring8`` and ``grid25``.

Parameters follow PacGAN (Lin, Khetan, Fanti, Oh, NeurIPS 2018, Section 5,
"synthetic data"; the set-up of VEEGAN, Srivastava et al. 2017):

- ``ring8``: 8 equally weighted Gaussians with means
  ``(cos(2*pi*k/8), sin(2*pi*k/8))``, k = 0..7, and std 0.01;
- ``grid25``: 25 equally weighted Gaussians with means on
  ``{-4, -2, 0, 2, 4}^2`` and std 0.05.

Samples are drawn once per split from a ``torch.Generator`` with a fixed
seed per dataset and split, so every run sees the same points whatever its
own seed. Split sizes (50,000 / 2,500 / 2,500) keep loading instant while
giving ~100 test points per grid mode for the mode metrics.

Checkpoints are selected and leaderboards ranked by coverage (Naeem et al.
2020, "Reliable Fidelity and Diversity Metrics for Generative Models") in
the identity space, which rewards generated points that land on real data
across all the modes; see ``_spec`` for why not ``reverse_kl``. Coverage
needs a feature space, so a run with ``--feature-extractor none`` evaluates
its last checkpoint and its table is not ranked.

``options`` are ignored: the data needs no files and has no image size.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import torch
from torch import Tensor

import ganbench
from ganbench.api import Batch, DataInfo, DatasetOptions, DatasetSpec, GanDataset

SPLIT_SIZES = {"train": 50_000, "val": 2_500, "test": 2_500}
#: Added to a dataset's base seed, so the three splits are independent draws.
SPLIT_SEED_OFFSETS = {"train": 0, "val": 1, "test": 2}


@dataclass(frozen=True)
class Mixture:
    """An equally weighted isotropic Gaussian mixture in the plane.

    Attributes:
        name: the dataset name.
        modes: the K mixture means, K x 2.
        std: the standard deviation of every component (both axes).
        seed: base seed; split ``s`` is drawn with ``seed + SPLIT_SEED_OFFSETS[s]``.
    """

    name: str
    modes: tuple[tuple[float, float], ...]
    std: float
    seed: int

    def sample(self, n: int, seed: int) -> Tensor:
        """``n`` points from the mixture: float32 n x 2, deterministic in ``seed``."""
        gen = torch.Generator().manual_seed(seed)
        means = torch.tensor(self.modes, dtype=torch.float32)
        component = torch.randint(len(self.modes), (n,), generator=gen)
        noise = torch.randn((n, 2), generator=gen, dtype=torch.float32)
        return means[component] + self.std * noise


def ring_modes(k: int = 8, radius: float = 1.0) -> tuple[tuple[float, float], ...]:
    """``k`` points evenly spaced on a circle, the first at angle 0."""
    angles = [2.0 * math.pi * i / k for i in range(k)]
    return tuple((radius * math.cos(a), radius * math.sin(a)) for a in angles)


def grid_modes(
    values: tuple[float, ...] = (-4.0, -2.0, 0.0, 2.0, 4.0),
) -> tuple[tuple[float, float], ...]:
    """The points of ``values`` x ``values``, row by row."""
    return tuple((gx, gy) for gx in values for gy in values)


RING8 = Mixture(name="ring8", modes=ring_modes(8), std=0.01, seed=8_000)
GRID25 = Mixture(name="grid25", modes=grid_modes(), std=0.05, seed=25_000)


def load_mixture(mixture: Mixture, options: DatasetOptions) -> GanDataset:
    """Sample the mixture's train/val/test splits.

    Returns:
        A dataset whose splits hold ``x`` float32 N x 2 (unbounded; within a
        few std of a mode). ``info.extras`` has ``modes`` (K lists [x, y])
        and ``mode_std`` for the mode-coverage metrics.
    """
    del options  # nothing to configure: no files, no image size
    splits = {
        split: Batch(x=mixture.sample(n, mixture.seed + SPLIT_SEED_OFFSETS[split]))
        for split, n in SPLIT_SIZES.items()
    }
    info = DataInfo(
        name=mixture.name,
        kind="vector",
        shape=(2,),
        fields=("x",),
        extras={"modes": [list(mode) for mode in mixture.modes], "mode_std": mixture.std},
    )
    return GanDataset(info=info, splits=splits)


def _spec(mixture: Mixture, description: str) -> DatasetSpec:
    # Batch size 256: large enough that a minibatch visits every grid mode
    # (~10 points per mode), small enough for many updates per second on a
    # CPU. It is a ganbench default, not a number taken from PacGAN.
    return DatasetSpec(
        name=mixture.name,
        load=partial(load_mixture, mixture),
        kind="vector",
        description=description,
        feature_extractor="identity",
        # Coverage (Naeem et al. 2020; prdc's output in the identity space):
        # the share of real points with a generated point inside their
        # 5-nearest-neighbour ball. Collapse onto m of the K modes caps it
        # near m/K, and off-mode points add nothing. Not reverse_kl: it is
        # mode seeking, and when it ranked grid25 an untrained generator
        # (points near the origin, one of the 25 modes) scored 3.13 against
        # 3.72 for trained GANs that spread over the modes but often miss
        # them. Not mode_kl: it ignores off-mode points, so a few lucky
        # on-mode points can win. Not recall: fake outliers inflate it (0.95
        # for those GANs, 0.97 for real data). Coverage orders untrained <
        # trained < real on both mixtures (tests/test_published_leaderboards.py).
        primary_metric="coverage",
        default_steps=5000,
        default_batch_size=256,
        eval_samples=2500,
        fields=("x",),
    )


SPECS = (
    _spec(RING8, "8 Gaussians on the unit circle, std 0.01 (PacGAN / VEEGAN 2-D ring)"),
    _spec(GRID25, "25 Gaussians on a 5x5 grid with spacing 2, std 0.05 (PacGAN / VEEGAN 2-D grid)"),
)


@ganbench.hookimpl
def ganbench_register_datasets(register: Callable[[DatasetSpec], None]) -> None:
    """Register ``ring8`` and ``grid25``."""
    for spec in SPECS:
        register(spec)
