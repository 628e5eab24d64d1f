"""Deterministic stream of training batches, resumable from a position."""

from __future__ import annotations

import torch

from ganbench.data.types import Batch


class BatchStream:
    """Shuffled mini-batches of a split, reproducible from (seed, position).

    Epoch ``e`` uses a permutation drawn from a generator seeded by
    ``(seed, e)``; incomplete final batches are dropped. ``position`` counts
    the batches drawn so far, so a resumed run continues with exactly the
    batch an uninterrupted run would have drawn. Unpaired data (two domains)
    shuffles ``source`` with its own permutation.
    """

    def __init__(
        self, split: Batch, batch_size: int, seed: int, *, paired: bool = True, position: int = 0
    ) -> None:
        if len(split) < batch_size:
            raise ValueError(f"batch size {batch_size} exceeds the {len(split)} training samples")
        self.split = split
        self.batch_size = batch_size
        self.seed = seed
        self.paired = paired
        self.position = position
        self.per_epoch = len(split) // batch_size
        self._epoch = -1
        self._perm = torch.empty(0, dtype=torch.long)
        self._source_perm: torch.Tensor | None = None

    def _permutation(self, epoch: int, salt: int) -> torch.Tensor:
        gen = torch.Generator().manual_seed(self.seed * 1_000_003 + epoch * 7919 + salt)
        return torch.randperm(len(self.split), generator=gen)

    def next(self) -> Batch:
        """The next batch (on the split's device)."""
        epoch, offset = divmod(self.position, self.per_epoch)
        if epoch != self._epoch:
            self._epoch = epoch
            self._perm = self._permutation(epoch, 0).to(self.split.x.device)
            if not self.paired and self.split.source is not None:
                self._source_perm = self._permutation(epoch, 1).to(self.split.x.device)
        lo, hi = offset * self.batch_size, (offset + 1) * self.batch_size
        idx = self._perm[lo:hi]
        source_idx = None if self._source_perm is None else self._source_perm[lo:hi]
        self.position += 1
        return self.split.index(idx, source_idx=source_idx)
