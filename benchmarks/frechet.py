"""Speed of ganbench's Fréchet distance against ``scipy.linalg.sqrtm``, in the same run.

Usage::

    python benchmarks/frechet.py [--dim 2048] [--samples 5000] [--rounds 3] [--threads N]

Both sides get the same two Gaussian fits of random features (``--samples``
rows of ``--dim`` dimensions; the second set is shifted and rescaled so the
distance is far from 0) and compute the full squared Fréchet distance in
float64:

* ganbench: :func:`ganbench.metrics.frechet.frechet_distance` (pivoted
  Cholesky and a symmetric eigenvalue solve);
* reference: the textbook formula with ``scipy.linalg.sqrtm(sigma1 @ sigma2)``
  (as pytorch-fid computes it, without its singular-case retry).

Rounds alternate so drift in the machine's load hits both sides alike; the
median time of each side is reported. The final lines give the relative
difference of the two values and ``sqrtm/ganbench time ratio: R``.
Target: R >= 5 at 2,048 dimensions, values equal to ~1e-10 relative.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import scipy.linalg
import torch

from ganbench.metrics.frechet import frechet_distance, gaussian_stats


def sqrtm_frechet_distance(mu1, sigma1, mu2, sigma2) -> float:
    """The reference: d^2 with the trace term from ``scipy.linalg.sqrtm``."""
    diff = mu1 - mu2
    covmean = scipy.linalg.sqrtm(sigma1 @ sigma2)
    covmean = covmean.real if np.iscomplexobj(covmean) else covmean
    return float(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2.0 * np.trace(covmean))


def timed(fn, *args) -> tuple[float, float]:
    start = time.perf_counter()
    value = fn(*args)
    return value, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dim", type=int, default=2048)
    parser.add_argument("--samples", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=None, help="BLAS/torch threads")
    args = parser.parse_args()
    if args.threads:
        from threadpoolctl import threadpool_limits

        threadpool_limits(args.threads)
        torch.set_num_threads(args.threads)

    rng = np.random.default_rng(0)
    real = rng.standard_normal((args.samples, args.dim))
    fake = rng.standard_normal((args.samples, args.dim)) * 1.2 + 0.1
    stats = (*gaussian_stats(real), *gaussian_stats(fake))

    ours, theirs = [], []
    for _ in range(args.rounds):
        value_ours, seconds = timed(frechet_distance, *stats)
        ours.append(seconds)
        value_ref, seconds = timed(sqrtm_frechet_distance, *stats)
        theirs.append(seconds)

    t_ours, t_ref = statistics.median(ours), statistics.median(theirs)
    print(f"dimensions {args.dim}, samples {args.samples}, rounds {args.rounds}")
    print(f"ganbench frechet_distance: {t_ours:8.3f} s  value {value_ours:.10f}")
    print(f"scipy sqrtm reference:     {t_ref:8.3f} s  value {value_ref:.10f}")
    print(f"relative difference of the values: {abs(value_ours - value_ref) / value_ref:.2e}")
    print(f"sqrtm/ganbench time ratio: {t_ref / t_ours:.1f}")


if __name__ == "__main__":
    main()
