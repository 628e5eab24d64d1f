"""How a sample set to score may be given, in words (torch-free, for ``--help``)."""

from __future__ import annotations

#: The forms ``ganbench score`` accepts for REAL and FAKE.
SOURCE_FORMS = "dataset:NAME:SPLIT, a run folder, a .npy/.npz array or a folder of images"
