"""The three splits every dataset has, and what each one is for.

``train`` trains the model, ``val`` selects its checkpoint and ``test`` is
what numbers are reported on; a separate module so that the command line can
offer the names without importing torch.
"""

from __future__ import annotations

#: Split names, in the order a dataset's ``splits`` lists them.
SPLITS: tuple[str, ...] = ("train", "val", "test")
