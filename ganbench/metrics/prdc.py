"""Improved precision and recall, density and coverage of generated samples in a feature space.

Precision and recall: Kynkäänniemi et al., "Improved Precision and Recall
Metric for Assessing Generative Models" (NeurIPS 2019), with k = 3. Density
and coverage: Naeem et al., "Reliable Fidelity and Diversity Metrics for
Generative Models" (ICML 2020), with k = 5.

Each sample's ball reaches its k-th nearest neighbour within its own set
(the sample itself excluded; duplicates count as neighbours at distance 0):

* precision: share of fakes inside at least one real ball (k = 3);
* recall: share of reals inside at least one fake ball (k = 3);
* density: real balls (k = 5) containing a fake, counted per fake, averaged
  and divided by k (1 on average when the two sets match; may exceed 1);
* coverage: share of reals whose ball (k = 5) contains at least one fake.

"Inside" is strict (distance < radius), exactly as the authors' ``prdc``
package computes it, so the values equal that package's for the same
features (called with its single ``nearest_k`` = 3 for precision and
recall and = 5 for density and coverage). A point with k or more exact
duplicates in its own set has radius 0 and a ball that holds nothing;
``prdc`` gives it a radius of rounding noise instead (of the order of 1e-6
for 2,048-d features), so only there can the two differ.

``prdc`` holds full N x M distance matrices, which do not fit in memory at
50,000 Inception features a side. Here nothing N x M is kept: tiles of the
distance matrix (sized from a memory budget) are reduced to each row's
nearest-neighbour candidates and to per-row and per-column counts as they
are computed. Tiles are float32 matrix products (about twice the float64
throughput on a CPU, many times it on most GPUs), and every
comparison they cannot settle within their proven rounding-error bound is
redone exactly in float64 (:mod:`ganbench.metrics._pairwise`), so the
float32 speed costs no accuracy: the values are those of exact float64
distances whatever the tiling, dtype or device.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import torch
from torch import Tensor

from ganbench.errors import GanbenchError
from ganbench.metrics._arrays import ArrayLike
from ganbench.metrics._pairwise import (
    DEFAULT_CHUNK_BYTES,
    TiledDistances,
    as_feature_tensor,
    rounded_down,
    rounded_up,
)
from ganbench.metrics.params import merged_params
from ganbench.specs import MetricSpec, SampleMinimum

if TYPE_CHECKING:
    from ganbench.eval.inputs import EvalInputs

PRDC_PARAMS: dict[str, Any] = {"k_precision_recall": 3, "k_density_coverage": 5}

# Nearest-neighbour candidates kept per row beyond the k + 1 needed: room for
# neighbours whose approximate distances are too close to tell apart.
_SLACK = 8


class TooFewSamplesError(GanbenchError, ValueError):
    """A set has no more samples than the k of a nearest-neighbour radius."""


@dataclass(frozen=True)
class PRDCResult:
    """Precision, recall, density and coverage of fakes against reals.

    Attributes:
        precision: share of fakes inside some real k-NN ball, in [0, 1].
        recall: share of reals inside some fake k-NN ball, in [0, 1].
        density: mean number of real k-NN balls around a fake, divided by k,
            in [0, n_real / k]; about 1 when the sets match.
        coverage: share of reals whose k-NN ball holds a fake, in [0, 1].
    """

    precision: float
    recall: float
    density: float
    coverage: float


def precision_recall_density_coverage(
    real_features: ArrayLike,
    fake_features: ArrayLike,
    *,
    k_precision_recall: int = 3,
    k_density_coverage: int = 5,
    device: torch.device | str | None = None,
    max_chunk_bytes: int = DEFAULT_CHUNK_BYTES,
    compute_dtype: torch.dtype = torch.float32,
) -> PRDCResult:
    """Precision and recall (k = 3) and density and coverage (k = 5) of fakes against reals.

    Args:
        real_features: (N, D) features of real samples (torch or numpy, any
            float dtype; float32 features are read in place, not copied).
        fake_features: (M, D) features of generated samples.
        k_precision_recall: k of the balls of precision and recall; needs
            N > k and M > k.
        k_density_coverage: k of the real balls of density and coverage;
            needs N > k.
        device: where the distance tiles are computed; None: the device of
            ``real_features`` (CPU for numpy arrays).
        max_chunk_bytes: memory budget of one distance tile with its
            temporaries, in bytes; peak memory is about the features plus
            this. Smaller budgets give the same values, more slowly.
        compute_dtype: dtype of the tiles' matrix products. Both give the
            same values (float32 tiles are settled exactly where their
            rounding matters); float64 is slower on CPUs and much slower on
            most GPUs, but leaves fewer pairs to recompute when many samples
            are nearly identical.

    Returns:
        :class:`PRDCResult`.

    Raises:
        TooFewSamplesError: a set has no more samples than its k.
    """
    real = as_feature_tensor(real_features, "real_features")
    fake = as_feature_tensor(fake_features, "fake_features")
    if real.shape[1] != fake.shape[1]:
        raise ValueError(f"feature widths differ: {real.shape[1]} vs {fake.shape[1]}")
    k_pr = _check_k("k_precision_recall", k_precision_recall)
    k_dc = _check_k("k_density_coverage", k_density_coverage)
    _check_enough("precision and recall", "k_precision_recall", k_pr, real, "real")
    _check_enough("precision and recall", "k_precision_recall", k_pr, fake, "fake")
    _check_enough("density and coverage", "k_density_coverage", k_dc, real, "real")
    options = {
        "device": _device(device, real),
        "compute_dtype": compute_dtype,
        "max_chunk_bytes": max_chunk_bytes,
    }
    with torch.no_grad():
        real_radii = squared_radii(TiledDistances(real, **options), (k_pr, k_dc))
        fake_radii = squared_radii(TiledDistances(fake, **options), (k_pr,))
        balls = _ball_counts(
            TiledDistances(real, fake, **options),
            precision_radii=real_radii[k_pr],
            density_radii=real_radii[k_dc],
            recall_radii=fake_radii[k_pr],
        )
    n_fake = fake.shape[0]
    return PRDCResult(
        precision=float(balls.fake_in_real_ball.double().mean()),
        recall=float(balls.real_in_fake_ball.double().mean()),
        density=float(balls.real_balls_per_fake.sum()) / (k_dc * n_fake),
        coverage=float(balls.real_ball_has_fake.double().mean()),
    )


def nearest_neighbour_radii(
    features: ArrayLike,
    k: int,
    *,
    device: torch.device | str | None = None,
    max_chunk_bytes: int = DEFAULT_CHUNK_BYTES,
    compute_dtype: torch.dtype = torch.float32,
) -> Tensor:
    """Distance from each row of ``features`` (N, D) to its k-th nearest other row.

    The (k + 1)-th smallest distance of the row, its own distance 0 included,
    as ``prdc`` defines it: a duplicate of the row is a neighbour at 0.

    Args:
        features: (N, D) features, N > k.
        k: neighbour rank, >= 1.
        device, max_chunk_bytes, compute_dtype: as for
            :func:`precision_recall_density_coverage`.

    Returns:
        (N,) float64 on the CPU, >= 0.
    """
    x = as_feature_tensor(features, "features")
    k = _check_k("k", k)
    _check_enough("a k-th neighbour radius", "k", k, x, "")
    dist = TiledDistances(
        x,
        device=_device(device, x),
        compute_dtype=compute_dtype,
        max_chunk_bytes=max_chunk_bytes,
    )
    with torch.no_grad():
        return squared_radii(dist, (k,))[k].sqrt().cpu()


# --------------------------------------------------------------------- k-NN radii


def squared_radii(dist: TiledDistances, ks: Sequence[int]) -> dict[int, Tensor]:
    """Exact squared k-th neighbour radii of a set, for each k in ``ks``.

    One symmetric pass over the tiles keeps each row's nearest candidates
    by approximate distance; the candidates that can matter are recomputed
    exactly. A row is settled when its candidates provably include every
    point that can change its radius. The rare unsettled rows (more than
    ``_SLACK`` points within the float32 error of the radius: near
    duplicates) are redone with float64 tiles; rows still unsettled (exact
    ties with the radius, as on a lattice) get every point that can be
    within the radius recomputed exactly.

    Args:
        dist: the set against itself (``dist.same``), N rows, N > max(ks).
        ks: neighbour ranks.

    Returns:
        k -> (N,) float64 squared radii on ``dist.device``.
    """
    n = dist.rows.shape[0]
    q = min(n, max(ks) + 1 + _SLACK)
    rows = torch.arange(n, device=dist.device)
    values, index = _candidates_all_rows(dist, q)
    radii, upper, settled = _settle(dist, rows, values, index, ks)
    left, upper = rows[~settled], upper[~settled]
    dist64 = dist.with_dtype(torch.float64)
    if left.numel() and dist.dtype != torch.float64:
        values, index = _candidates_of_rows(dist64, left, q)
        retry, upper, settled = _settle(dist64, left, values, index, ks)
        for k in ks:
            radii[k][left] = retry[k]
        left, upper = left[~settled], upper[~settled]
    if left.numel():
        for k, r2 in _radii_within(dist64, left, upper, ks).items():
            radii[k][left] = r2
    return radii


def _candidates_all_rows(dist: TiledDistances, q: int) -> tuple[Tensor, Tensor]:
    """Every row's q smallest approximate squared distances (N, q) and their columns.

    Tiles on and above the diagonal only: a tile updates its rows, and its
    transpose updates the rows of its columns.
    """
    n = dist.rows.shape[0]
    values = torch.full((n, q), math.inf, dtype=dist.dtype, device=dist.device)
    index = torch.full((n, q), -1, dtype=torch.int64, device=dist.device)
    blocks = dist.blocks(n)
    for b, rows in enumerate(blocks):
        x = dist.row_features(rows)
        for c, cols in enumerate(blocks[b:], start=b):
            y = x if c == b else dist.col_features(cols)
            tile = dist.approx(x, y, rows, cols)
            if c == b:
                tile.fill_diagonal_(0.0)  # a row's distance to itself is exactly 0
            _merge(values, index, rows, tile, cols.start)
            if c != b:
                _merge(values, index, cols, tile.T.contiguous(), rows.start)
    return values, index


def _candidates_of_rows(dist: TiledDistances, rows: Tensor, q: int) -> tuple[Tensor, Tensor]:
    """Like :func:`_candidates_all_rows`, for the given rows (R,) only: (R, q) each."""
    n = dist.cols.shape[0]
    values = torch.full((rows.numel(), q), math.inf, dtype=dist.dtype, device=dist.device)
    index = torch.full((rows.numel(), q), -1, dtype=torch.int64, device=dist.device)
    for part in dist.blocks(rows.numel()):
        ids = rows[part]
        x = dist.row_features(ids)
        for cols in dist.blocks(n):
            tile = dist.approx(x, dist.col_features(cols), ids, cols)
            local = ids - cols.start
            own = (local >= 0) & (local < tile.shape[1])
            tile[own.nonzero(as_tuple=True)[0], local[own]] = 0.0
            _merge(values, index, part, tile, cols.start)
    return values, index


def _merge(values: Tensor, index: Tensor, rows: slice, tile: Tensor, offset: int) -> None:
    """Fold a tile's smallest entries per row into the running candidates of ``rows``."""
    k = min(values.shape[1], tile.shape[1])
    v, i = tile.topk(k, dim=1, largest=False, sorted=False)
    all_v = torch.cat((values[rows], v), dim=1)
    all_i = torch.cat((index[rows], i + offset), dim=1)
    keep = all_v.topk(values.shape[1], dim=1, largest=False, sorted=False).indices
    values[rows] = all_v.gather(1, keep)
    index[rows] = all_i.gather(1, keep)


def _settle(
    dist: TiledDistances, rows: Tensor, values: Tensor, index: Tensor, ks: Sequence[int]
) -> tuple[dict[int, Tensor], Tensor, Tensor]:
    """Exact squared radii of ``rows`` from their candidates, and which rows are proven.

    With e(i, j) the error bound of an approximate entry a(i, j): the k + 1
    smallest candidates show that the radius r^2 is at most
    ``upper = max(a + e)`` over them, so a point with ``a - e > upper``
    cannot change it; the others among the candidates are recomputed
    exactly. Points outside the candidates have ``a >= `` the largest
    candidate, so once that minus their bound reaches the exact radius,
    nothing outside can be nearer and the row is proven.

    Args:
        rows: (R,) row indices; values, index: their (R, q) candidates.

    Returns:
        k -> (R,) float64 squared radii, (R,) ``upper`` for the largest k,
        (R,) bool proven.
    """
    approx, order = values.to(torch.float64).sort(dim=1)
    cols = index.gather(1, order)
    bound = dist.pair_bound(rows.unsqueeze(1).expand_as(cols), cols)
    upper = {k: (approx[:, : k + 1] + bound[:, : k + 1]).amax(dim=1) for k in ks}
    relevant = approx - bound <= upper[max(ks)].unsqueeze(1)
    r, p = relevant.nonzero(as_tuple=True)
    exact = torch.full_like(approx, math.inf)
    exact[r, p] = dist.exact(rows[r], cols[r, p])
    exact = exact.sort(dim=1).values
    # Every non-candidate is at least this far (squared), and never below 0.
    floor = (approx[:, -1] - dist.max_bound(rows)).clamp(min=0.0)
    everything = cols.shape[1] >= dist.cols.shape[0]
    radii = {k: exact[:, k].clone() for k in ks}
    proven = torch.ones_like(floor, dtype=torch.bool)
    for k in ks:
        proven &= (floor >= radii[k]) | everything
    return radii, upper[max(ks)], proven


def _radii_within(
    dist: TiledDistances, rows: Tensor, upper: Tensor, ks: Sequence[int]
) -> dict[int, Tensor]:
    """Exact squared radii of ``rows`` from every point that can lie within ``upper`` (R,).

    ``upper`` bounds each row's largest radius from above, so the points
    whose approximate distance is within the error bound of it include all
    that decide the radii; each is recomputed exactly.
    """
    found_rows, found_cols = [], []
    for part in dist.blocks(rows.numel()):
        ids = rows[part]
        x = dist.row_features(ids)
        for cols in dist.blocks(dist.cols.shape[0]):
            tile = dist.approx(x, dist.col_features(cols), ids, cols)
            limit = rounded_up(upper[part] + dist.row_bound(ids, cols), dist.dtype)
            r, c = (tile <= limit.unsqueeze(1)).nonzero(as_tuple=True)
            found_rows.append(r + part.start)
            found_cols.append(c + cols.start)
    r, c = torch.cat(found_rows), torch.cat(found_cols)
    exact = dist.exact(rows[r], c)
    # Group by row (a stable sort keeps each row's values ascending), then
    # index each group's k-th entry; every row has at least k + 1 entries.
    exact, by_value = exact.sort()
    r = r[by_value]
    r, by_row = r.sort(stable=True)
    exact = exact[by_row]
    counts = torch.bincount(r, minlength=rows.numel())
    starts = counts.cumsum(0) - counts
    return {k: exact[starts + k] for k in ks}


# ------------------------------------------------------------ ball memberships


@dataclass(frozen=True)
class _Balls:
    fake_in_real_ball: Tensor  # (M,) bool, precision
    real_balls_per_fake: Tensor  # (M,) int64, density
    real_ball_has_fake: Tensor  # (N,) bool, coverage
    real_in_fake_ball: Tensor  # (N,) bool, recall


def _ball_counts(
    cross: TiledDistances, precision_radii: Tensor, density_radii: Tensor, recall_radii: Tensor
) -> _Balls:
    """Which fakes lie in which real balls and vice versa, one tile of real x fake at a time.

    Each comparison ``d^2 < r^2`` is settled from the tile when the entry is
    further from r^2 than its error bound, and recomputed exactly otherwise.

    Args:
        cross: reals (rows, N) against fakes (columns, M).
        precision_radii, density_radii: (N,) exact squared radii of the real balls.
        recall_radii: (M,) exact squared radii of the fake balls.
    """
    n, m = cross.rows.shape[0], cross.cols.shape[0]
    dev, ct = cross.device, cross.dtype
    balls = _Balls(
        fake_in_real_ball=torch.zeros(m, dtype=torch.bool, device=dev),
        real_balls_per_fake=torch.zeros(m, dtype=torch.int64, device=dev),
        real_ball_has_fake=torch.zeros(n, dtype=torch.bool, device=dev),
        real_in_fake_ball=torch.zeros(n, dtype=torch.bool, device=dev),
    )
    for rows in cross.blocks(n):
        x = cross.row_features(rows)
        for cols in cross.blocks(m):
            tile = cross.approx(x, cross.col_features(cols), rows, cols)
            row_err = cross.row_bound(rows, cols)
            col_err = cross.col_bound(rows, cols)
            # (threshold, bound) shaped to broadcast along the tile: per row or per column.
            tests = [
                (precision_radii[rows].unsqueeze(1), row_err.unsqueeze(1)),
                (density_radii[rows].unsqueeze(1), row_err.unsqueeze(1)),
                (recall_radii[cols].unsqueeze(0), col_err.unsqueeze(0)),
            ]
            limits = [(rounded_down(t - e, ct), rounded_up(t + e, ct)) for t, e in tests]
            unsure = torch.zeros_like(tile, dtype=torch.bool)
            for test, (low, high) in enumerate(limits):
                inside = tile < low  # surely inside the ball
                if test == 0:
                    balls.fake_in_real_ball[cols] |= inside.any(dim=0)
                elif test == 1:
                    # Summing bytes is twice as fast as summing bools.
                    counts = inside.view(torch.uint8).sum(dim=0, dtype=torch.int32)
                    balls.real_balls_per_fake[cols] += counts
                    balls.real_ball_has_fake[rows] |= inside.any(dim=1)
                else:
                    balls.real_in_fake_ball[rows] |= inside.any(dim=1)
                unsure |= (tile <= high).logical_xor_(inside)
            if unsure.any():
                _settle_unsure(cross, balls, tile, unsure, rows, cols, tests, limits)
    return balls


def _settle_unsure(
    cross: TiledDistances,
    balls: _Balls,
    tile: Tensor,
    unsure: Tensor,
    rows: slice,
    cols: slice,
    tests: list[tuple[Tensor, Tensor]],
    limits: list[tuple[Tensor, Tensor]],
) -> None:
    """Recompute exactly the tile entries too close to a radius, and count them."""
    r, c = unsure.nonzero(as_tuple=True)
    exact = cross.exact(r + rows.start, c + cols.start)
    near = tile[r, c]
    settled = []
    for (threshold, _), (low, high) in zip(tests, limits, strict=True):
        # Only entries in this test's band: the others were settled from the tile.
        in_band = (near >= _at(low, r, c)) & (near <= _at(high, r, c))
        settled.append(in_band & (exact < _at(threshold, r, c)))
    precision, density, recall = settled
    balls.fake_in_real_ball[c[precision] + cols.start] = True
    balls.real_balls_per_fake.index_add_(0, c[density] + cols.start, torch.ones_like(c[density]))
    balls.real_ball_has_fake[r[density] + rows.start] = True
    balls.real_in_fake_ball[r[recall] + rows.start] = True


def _at(values: Tensor, r: Tensor, c: Tensor) -> Tensor:
    """Entries (r, c) of a per-row (R, 1) or per-column (1, C) tensor broadcast over a tile."""
    return values[r, 0] if values.shape[1] == 1 else values[0, c]


# ------------------------------------------------------------------- checks


def _check_k(name: str, k: int) -> int:
    if isinstance(k, bool) or int(k) != k or k < 1:
        raise ValueError(f"{name} must be an integer >= 1, got {k!r}")
    return int(k)


def _check_enough(what: str, name: str, k: int, features: Tensor, side: str) -> None:
    n = features.shape[0]
    if n <= k:
        samples = f"{side} samples" if side else "samples"
        raise TooFewSamplesError(
            f"{name}={k} needs more than {k} {samples} for {what}, got {n}; "
            f"use more samples or a smaller {name}"
        )


def _device(device: torch.device | str | None, features: Tensor) -> torch.device:
    return features.device if device is None else torch.device(device)


# --------------------------------------------------------------------- metric


def _prdc_min_samples(params: Mapping[str, Any]) -> SampleMinimum:
    # Each radius is the k-th neighbour within the sample's own set, itself
    # excluded, so a set needs k + 1 samples: both sets for precision and
    # recall, the real one for density and coverage (only real balls).
    p = merged_params(PRDC_PARAMS, params)
    k_pr, k_dc = int(p["k_precision_recall"]), int(p["k_density_coverage"])
    return SampleMinimum(
        real=max(k_pr, k_dc) + 1,
        fake=k_pr + 1,
        why=(
            f"k-nearest-neighbour radii with k_precision_recall={k_pr} (both sets) and "
            f"k_density_coverage={k_dc} (real set) need more than k samples"
        ),
    )


def _compute_prdc(inputs: EvalInputs, params: Mapping[str, Any]) -> dict[str, float]:
    p = merged_params(PRDC_PARAMS, params)
    result = precision_recall_density_coverage(
        inputs.real_features(),
        inputs.fake_features(),
        k_precision_recall=int(p["k_precision_recall"]),
        k_density_coverage=int(p["k_density_coverage"]),
    )
    return {
        "precision": result.precision,
        "recall": result.recall,
        "density": result.density,
        "coverage": result.coverage,
    }


PRDC_METRIC = MetricSpec(
    name="prdc",
    compute=_compute_prdc,
    outputs={"precision": "higher", "recall": "higher", "density": "higher", "coverage": "higher"},
    needs=("features",),
    params=dict(PRDC_PARAMS),
    min_samples=_prdc_min_samples,
    description=(
        "Improved precision and recall (k=3) and density and coverage (k=5) "
        "of k-nearest-neighbour balls in feature space."
    ),
)
