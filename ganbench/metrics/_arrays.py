"""Conversion of metric inputs (torch tensors or numpy arrays) to float64/int64 numpy.

Metrics are computed in float64 because FID and KID subtract large, nearly
equal numbers; float32 features would lose several significant digits.
"""

from __future__ import annotations

import numpy as np
import torch

#: What the metric functions accept: a torch tensor (any device) or a numpy array
#: (nested lists work too, through ``np.asarray``).
ArrayLike = torch.Tensor | np.ndarray


def as_float64(x: ArrayLike, *, ndim: int | None = None, name: str = "array") -> np.ndarray:
    """``x`` as a float64 numpy array, optionally checking its number of dimensions."""
    if isinstance(x, torch.Tensor):
        arr = x.detach().cpu().to(torch.float64).numpy()
    else:
        arr = np.asarray(x, dtype=np.float64)
    if ndim is not None and arr.ndim != ndim:
        raise ValueError(f"{name} must have {ndim} dimensions, got shape {tuple(arr.shape)}")
    return arr


def as_int64(x: ArrayLike, *, name: str = "array") -> np.ndarray:
    """``x`` as a 1-D int64 numpy array (class labels)."""
    if isinstance(x, torch.Tensor):
        arr = x.detach().cpu().to(torch.int64).numpy()
    else:
        arr = np.asarray(x, dtype=np.int64)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {tuple(arr.shape)}")
    return arr


def as_probs(probs: ArrayLike, *, name: str = "probs") -> np.ndarray:
    """Class probabilities (N x K) as float64 rows that sum to exactly 1.

    Rows must already be distributions (non-negative, summing to 1 within
    1e-3) so that passing logits by mistake fails loudly; they are then
    renormalised because float32 softmax rows only sum to 1 within ~1e-7.
    """
    arr = as_float64(probs, ndim=2, name=name)
    if arr.shape[0] == 0 or arr.shape[1] == 0:
        raise ValueError(f"{name} is empty: shape {tuple(arr.shape)}")
    if not np.isfinite(arr).all() or (arr < 0).any():
        raise ValueError(
            f"{name} must be finite and non-negative (class probabilities, not logits)"
        )
    sums = arr.sum(axis=1, keepdims=True)
    if np.abs(sums - 1.0).max() > 1e-3:
        raise ValueError(f"{name} rows must sum to 1 (class probabilities, not logits)")
    return arr / sums
