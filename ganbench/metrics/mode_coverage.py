"""Mode coverage on Gaussian-mixture toy data (2-D rings and grids).

Definitions from VEEGAN (Srivastava et al., NeurIPS 2017, section 5.1) and
PacGAN (Lin et al., NeurIPS 2018, section 5): each sample belongs to its
nearest mode; it is *high quality* when it lies within ``n_std`` standard
deviations of that mode. A mode is covered when it has at least
``min_count`` high-quality samples. ``mode_kl`` is the reverse KL
KL(p_gen || uniform) of the high-quality samples' mode histogram.

``mode_kl`` alone can mislead: nine on-mode samples out of 2,500, spread
over six modes, score better than 700 on-mode samples piled on fewer modes.
``reverse_kl`` (ganbench's, not the papers') therefore adds one bin for
everything off-mode: KL(p_gen || p_real) over M + 1 bins, where p_real puts
(1 - e) / M on each mode's disc and e = exp(-n_std^2 / 2) off-mode (the mass
an isotropic 2-D Gaussian has beyond n_std stds). It is 0 for the real
mixture, log(1/e) when every sample misses, about log(M) for full collapse.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ganbench.metrics._arrays import ArrayLike, as_float64
from ganbench.metrics.divergence import kl_divergence, kl_to_uniform


@dataclass(frozen=True)
class ModeCoverage:
    """Mode coverage of one set of samples.

    Attributes:
        modes_covered: modes with at least ``min_count`` high-quality samples, in [0, M].
        high_quality_frac: share of samples within ``n_std * std`` of their nearest mode.
        mode_kl: KL(high-quality mode histogram || uniform over M modes), in [0, log M].
        reverse_kl: KL(p_gen || p_real) over the M mode discs and an off-mode bin.
    """

    modes_covered: int
    high_quality_frac: float
    mode_kl: float
    reverse_kl: float


def nearest_modes(samples: np.ndarray, modes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Index (N,) of each sample's nearest mode and the distance (N,) to it.

    Args:
        samples: (N, D); modes: (M, D).
    """
    dists = np.linalg.norm(samples[:, None, :] - modes[None, :, :], axis=-1)
    nearest = dists.argmin(axis=1)
    return nearest, dists[np.arange(samples.shape[0]), nearest]


def mode_coverage(
    samples: ArrayLike,
    modes: ArrayLike,
    std: float,
    n_std: float = 3.0,
    min_count: int = 1,
) -> ModeCoverage:
    """Mode coverage of samples from a generator trained on a Gaussian mixture.

    Convention when no sample is high quality: ``mode_kl = log(M)``, the
    largest value KL(p || uniform) can take (a distribution collapsed onto
    one mode). A generator whose samples all miss every mode is ranked no
    better than total collapse, and the value stays finite for JSON. A
    histogram over the low-quality samples' nearest modes was rejected: it
    would give a low KL to noise spread evenly over the plane.

    Args:
        samples: (N, D) generated points (D = 2 for the standard toys).
        modes: (M, D) mixture component means.
        std: standard deviation of each (isotropic) component.
        n_std: radius, in stds, within which a sample is high quality.
        min_count: high-quality samples a mode needs to be covered.

    Returns:
        :class:`ModeCoverage`.
    """
    x = as_float64(samples, ndim=2, name="samples")
    centres = as_float64(modes, ndim=2, name="modes")
    if x.shape[0] == 0 or centres.shape[0] == 0:
        raise ValueError("need at least one sample and one mode")
    if x.shape[1] != centres.shape[1]:
        raise ValueError(f"samples are {x.shape[1]}-D but modes are {centres.shape[1]}-D")
    if std <= 0:
        raise ValueError(f"std must be positive, got {std}")
    n_modes = centres.shape[0]
    nearest, dist = nearest_modes(x, centres)
    high_quality = dist <= n_std * std
    hq_counts = np.bincount(nearest[high_quality], minlength=n_modes)
    covered = int((hq_counts >= min_count).sum())
    if hq_counts.sum() == 0:
        kl = math.log(n_modes)
    else:
        kl = kl_to_uniform(hq_counts)
    return ModeCoverage(
        modes_covered=covered,
        high_quality_frac=float(high_quality.mean()),
        mode_kl=kl,
        reverse_kl=_reverse_kl_with_off_mode_bin(hq_counts, x.shape[0], x.shape[1], n_std),
    )


def off_mode_mass(n_std: float, dim: int = 2) -> float:
    """Mass of an isotropic Gaussian beyond ``n_std`` stds: exp(-n_std^2 / 2) in 2-D."""
    if dim != 2:
        raise ValueError(f"the off-mode mass is derived for 2-D mixtures, got {dim}-D")
    return math.exp(-(n_std**2) / 2.0)


def _reverse_kl_with_off_mode_bin(
    hq_counts: np.ndarray, n_samples: int, dim: int, n_std: float
) -> float:
    off = off_mode_mass(n_std, dim)
    n_modes = hq_counts.shape[0]
    generated = np.append(hq_counts, n_samples - hq_counts.sum()) / n_samples
    real = np.append(np.full(n_modes, (1.0 - off) / n_modes), off)
    return kl_divergence(generated, real)
