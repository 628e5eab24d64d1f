"""Squared Euclidean distances between two feature sets, a tile at a time, with an error bound.

Nearest-neighbour metrics compare distances with radii, so one distance
rounded to the wrong side of a radius changes a count. All N x M distances
come fastest from the expansion ``|x - y|^2 = |x|^2 + |y|^2 - 2 x.y`` and a
matrix product, in float32; but the rounding error of that expansion grows
with the norms, not with the distance. :class:`TiledDistances` therefore
gives each tile of approximate squared distances together with a proven
bound on the error of every entry (:meth:`TiledDistances.row_bound`,
:meth:`TiledDistances.col_bound`), so that callers settle almost every
comparison from the tile and recompute only the few pairs that fall inside
the bound with :meth:`TiledDistances.exact`: float64 differences of the
original features, summed in a fixed order so that equal pairs of vectors
always give bitwise equal distances (ties stay ties).

The features are centred on their mean before the product: distances do
not change, the norms, and with them the error bound, shrink.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator

import numpy as np
import torch
from torch import Tensor

#: Default memory budget of one tile and its temporaries, in bytes.
DEFAULT_CHUNK_BYTES = 512 * 2**20

_FLOAT64 = torch.float64


def unit_roundoff(dtype: torch.dtype) -> float:
    """Half the distance from 1 to the next float: 2^-24 for float32, 2^-53 for float64."""
    return torch.finfo(dtype).eps / 2


@contextlib.contextmanager
def ieee_float32_matmul() -> Iterator[None]:
    """Full float32 matrix products (no TF32 or bfloat16 passes) inside the block.

    The error bound assumes every product and sum is rounded to float32;
    ``torch.set_float32_matmul_precision("high")`` elsewhere in a process
    would silently make float32 products ~8,000 times less precise on GPUs.
    """
    previous = torch.get_float32_matmul_precision()
    torch.set_float32_matmul_precision("highest")
    try:
        yield
    finally:
        torch.set_float32_matmul_precision(previous)


def as_feature_tensor(x: Tensor | np.ndarray, name: str) -> Tensor:
    """``x`` (N, D) as a floating torch tensor, without copying when it already is one."""
    t = x.detach() if isinstance(x, Tensor) else torch.from_numpy(np.ascontiguousarray(x))
    if t.ndim != 2:
        raise ValueError(f"{name} must have 2 dimensions (N, D), got shape {tuple(t.shape)}")
    if t.dtype not in (torch.float32, _FLOAT64):
        t = t.to(torch.float32)  # exact for half precisions; integers are rare as features
    return t


def _slices(n: int, size: int) -> list[slice]:
    return [slice(start, min(start + size, n)) for start in range(0, n, size)]


class TiledDistances:
    """Squared distances between the rows of ``rows`` (N, D) and of ``cols`` (M, D).

    Args:
        rows, cols: features (any float dtype, any device); ``cols=None``
            means the set against itself.
        device: where tiles are computed.
        compute_dtype: dtype of the tiles' matrix products, float32 or float64.
        max_chunk_bytes: memory budget of one tile, its temporaries and the
            feature rows it is computed from; sets :attr:`tile` (rows and
            columns per tile) and bounds :attr:`pair_batch` (pairs per batch
            of :meth:`exact`).
    """

    def __init__(
        self,
        rows: Tensor,
        cols: Tensor | None = None,
        *,
        device: torch.device,
        compute_dtype: torch.dtype = torch.float32,
        max_chunk_bytes: int = DEFAULT_CHUNK_BYTES,
    ) -> None:
        if compute_dtype not in (torch.float32, torch.float64):
            raise ValueError(
                f"compute_dtype must be torch.float32 or torch.float64, got {compute_dtype}"
            )
        if not math.isfinite(_kappa(rows.shape[1], compute_dtype)):
            compute_dtype = _FLOAT64  # float32 cannot bound ~10^7-term products
        self.rows = rows
        self.cols = rows if cols is None else cols
        self.same = cols is None
        self.device = device
        self.dtype = compute_dtype
        self.dim = rows.shape[1]
        self.budget = int(max_chunk_bytes)
        self.tile = _tile_size(self.dim, self.budget, _esize(compute_dtype))
        # An exact batch holds two gathered copies of its rows and their float64
        # difference; batches beyond ~128 pairs fall out of cache and get slower.
        self.pair_batch = max(1, min(128, self.budget // (3 * 8 * self.dim)))
        # Rounded to float32, so that float32 features are centred by one
        # correctly rounded float32 subtraction (see _centred).
        self.center = self._mean().to(torch.float32).to(_FLOAT64)
        self._center32 = self.center.to(torch.float32)
        self.row_norms = self._centred_norms(self.rows)
        self.col_norms = self.row_norms if self.same else self._centred_norms(self.cols)
        if not (torch.isfinite(self.row_norms).all() and torch.isfinite(self.col_norms).all()):
            raise ValueError("features contain NaN or infinite values")
        self._row_norms_ct = self.row_norms.to(compute_dtype)
        self._col_norms_ct = self.col_norms.to(compute_dtype)
        self._max_col_norm = float(self.col_norms.max())
        self.kappa = _kappa(self.dim, compute_dtype)

    def with_dtype(self, compute_dtype: torch.dtype) -> TiledDistances:
        """The same distances, with tiles computed in another dtype (norms are reused)."""
        other = object.__new__(TiledDistances)
        other.__dict__.update(self.__dict__)
        other.dtype = compute_dtype
        other.tile = _tile_size(self.dim, self.budget, _esize(compute_dtype))
        other._row_norms_ct = self.row_norms.to(compute_dtype)
        other._col_norms_ct = self.col_norms.to(compute_dtype)
        other.kappa = _kappa(self.dim, compute_dtype)
        return other

    # ----------------------------------------------------------------- set-up passes

    def _mean(self) -> Tensor:
        total = torch.zeros(self.dim, dtype=_FLOAT64, device=self.device)
        sources = (self.rows,) if self.same else (self.rows, self.cols)
        for source in sources:
            for sl in _slices(source.shape[0], self.tile):
                total += source[sl].to(self.device, _FLOAT64).sum(dim=0)
        return total / sum(source.shape[0] for source in sources)

    def _centred_norms(self, source: Tensor) -> Tensor:
        norms = torch.empty(source.shape[0], dtype=_FLOAT64, device=self.device)
        for sl in _slices(source.shape[0], self.tile):
            norms[sl] = self._centred(source, sl, _FLOAT64).square().sum(dim=1)
        return norms

    def _centred(self, source: Tensor, index: slice | Tensor, dtype: torch.dtype) -> Tensor:
        """Rows of ``source`` minus the centre, each entry rounded once to ``dtype``."""
        if isinstance(index, Tensor):
            index = index.to(source.device)
        rows = source[index].to(self.device)
        if rows.dtype == dtype == torch.float32:
            # float32 minus float32 is the exact difference rounded once: no
            # float64 round trip needed, and none of its memory traffic.
            return rows - self._center32
        return (rows.to(_FLOAT64) - self.center).to(dtype)

    # ----------------------------------------------------------------------- tiles

    def blocks(self, n: int) -> list[slice]:
        """Consecutive slices of ``range(n)``: as few as :attr:`tile` allows, of nearly equal size.

        Balanced because a nearly empty last block would cost a whole pass
        over the columns for a few rows.
        """
        count = -(-n // self.tile)
        return _slices(n, -(-n // count))

    def row_features(self, index: slice | Tensor) -> Tensor:
        """Centred rows of ``rows`` in the compute dtype, on the device (R, D)."""
        return self._centred(self.rows, index, self.dtype)

    def col_features(self, index: slice | Tensor) -> Tensor:
        """Centred rows of ``cols`` in the compute dtype, on the device (C, D)."""
        return self._centred(self.cols, index, self.dtype)

    def approx(self, x: Tensor, y: Tensor, rows: slice | Tensor, cols: slice | Tensor) -> Tensor:
        """Approximate squared distances (R, C) in the compute dtype.

        Args:
            x, y: :meth:`row_features` and :meth:`col_features` of ``rows`` and ``cols``.
        """
        with ieee_float32_matmul():
            tile = x @ y.T
        # Norms added after the product, not inside it (addmm): a blocked
        # product may add them to partial sums, which doubles the error bound.
        torch.add(self._col_norms_ct[cols].unsqueeze(0), tile, alpha=-2, out=tile)
        return tile.add_(self._row_norms_ct[rows].unsqueeze(1))

    def row_bound(self, rows: slice | Tensor, cols: slice | Tensor) -> Tensor:
        """Per row, a bound (R,) float64 on the error of its entries over ``cols``."""
        return self.kappa * (self.row_norms[rows] + float(self.col_norms[cols].max()))

    def col_bound(self, rows: slice | Tensor, cols: slice | Tensor) -> Tensor:
        """Per column, a bound (C,) float64 on the error of its entries over ``rows``."""
        return self.kappa * (float(self.row_norms[rows].max()) + self.col_norms[cols])

    def pair_bound(self, i: Tensor, j: Tensor) -> Tensor:
        """The bound (same shape as ``i`` and ``j``) on the error of entries (i, j)."""
        return self.kappa * (self.row_norms[i] + self.col_norms[j])

    def max_bound(self, i: Tensor) -> Tensor:
        """Per row index in ``i``, a bound on the error of its entries over all columns."""
        return self.kappa * (self.row_norms[i] + self._max_col_norm)

    # ----------------------------------------------------------------------- exact

    def exact(self, i: Tensor, j: Tensor) -> Tensor:
        """Exact squared distances between rows ``i`` of ``rows`` and ``j`` of ``cols``.

        float64 differences of the original features, each row summed by
        numpy's pairwise summation: the result depends only on the two
        vectors, never on the batch, the thread count or the device, so equal
        pairs of vectors give bitwise equal distances.

        Args:
            i, j: int64 indices of equal shape (P,).

        Returns:
            (P,) float64 on the device, >= 0.
        """
        i_host, j_host = i.cpu().numpy(), j.cpu().numpy()
        out = np.empty(i_host.shape[0], dtype=np.float64)
        batch = self.pair_batch
        a = np.empty((batch, self.dim), dtype=_numpy_dtype(self.rows))
        b = np.empty((batch, self.dim), dtype=_numpy_dtype(self.cols))
        diff = np.empty((batch, self.dim), dtype=np.float64)
        for sl in _slices(i_host.shape[0], batch):
            size = sl.stop - sl.start
            _take(self.rows, i_host[sl], a[:size])
            _take(self.cols, j_host[sl], b[:size])
            np.subtract(a[:size], b[:size], out=diff[:size], dtype=np.float64)
            np.square(diff[:size], out=diff[:size])
            out[sl] = diff[:size].sum(axis=1)
        return torch.from_numpy(out).to(self.device)


def _numpy_dtype(source: Tensor) -> np.dtype:
    return np.dtype(np.float64 if source.dtype == _FLOAT64 else np.float32)


def _take(source: Tensor, index: np.ndarray, out: np.ndarray) -> None:
    """Rows ``index`` of ``source`` into ``out`` (a host buffer of the right dtype)."""
    if source.device.type == "cpu":
        np.take(source.numpy(), index, axis=0, out=out)
    else:
        out[...] = source[torch.from_numpy(index).to(source.device)].cpu().numpy()


def rounded_down(x: Tensor, dtype: torch.dtype) -> Tensor:
    """``x`` (float64) in ``dtype``, rounded towards -inf: the result is never above ``x``."""
    y = x.to(dtype)
    return torch.where(y.to(_FLOAT64) > x, torch.nextafter(y, torch.full_like(y, -math.inf)), y)


def rounded_up(x: Tensor, dtype: torch.dtype) -> Tensor:
    """``x`` (float64) in ``dtype``, rounded towards +inf: the result is never below ``x``."""
    y = x.to(dtype)
    return torch.where(y.to(_FLOAT64) < x, torch.nextafter(y, torch.full_like(y, math.inf)), y)


# Per tile entry: the tile, a transposed copy or a few boolean masks.
def _pair_bytes(esize: int) -> int:
    return 2 * esize + 4


# Per feature row of a tile: the row in the compute dtype and its float64 centring.
def _row_bytes(dim: int, esize: int) -> int:
    return dim * (esize + 8)


def _tile_size(dim: int, budget: int, esize: int) -> int:
    """Largest B with B^2 tile entries and 2 B feature rows within ``budget`` bytes."""
    a, b = _pair_bytes(esize), 2 * _row_bytes(dim, esize)
    size = int((-b + math.sqrt(b * b + 4 * a * budget)) / (2 * a))
    return max(1, size)


def _esize(dtype: torch.dtype) -> int:
    return torch.finfo(dtype).bits // 8


def _kappa(dim: int, dtype: torch.dtype) -> float:
    """kappa with |tile entry - exact| <= kappa (|x'|^2 + |y'|^2) for centred rows x', y'.

    The product x'.y' of features rounded to the compute dtype (unit
    roundoff u), summed in any order, is off by at most
    gamma_{D+2} |x'||y'| <= gamma_{D+2} (|x'|^2 + |y'|^2) / 2, where
    gamma_n = n u / (1 - n u) (Higham, Accuracy and Stability of Numerical
    Algorithms, 2nd ed., section 3.1); the tile holds -2 x'.y'. Rounding the
    norms to the compute dtype and the two additions add at most 5 u, the
    float64 norms and centring at most gamma_{D+4} in float64: in all, less
    than gamma_{D+8}(u) + gamma_{D+8}(u64). The factor 1.5 is a safety
    margin (a wider bound only costs a few more exact recomputations).
    """

    def gamma(n: int, u: float) -> float:
        return n * u / (1.0 - n * u) if n * u < 0.5 else math.inf

    return 1.5 * (gamma(dim + 8, unit_roundoff(dtype)) + gamma(dim + 8, unit_roundoff(_FLOAT64)))
