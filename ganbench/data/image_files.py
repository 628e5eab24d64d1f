"""Which files are images: one list, shared by the ``image-folder`` dataset and ``ganbench score``.

A folder of images must mean the same files whether it is trained on
(``--dataset image-folder``) or scored (``ganbench score REAL FOLDER``);
with two lists, a folder of TIFFs scored fine and then was "empty" as a
dataset.
"""

from __future__ import annotations

#: Lower-case suffixes read as images: formats Pillow's wheels read (PNG, JPEG,
#: BMP, WebP, TIFF and netpbm's PPM/PGM). Any other file in a folder is ignored.
IMAGE_SUFFIXES: tuple[str, ...] = (
    ".png",
    ".jpg",
    ".jpeg",
    ".bmp",
    ".webp",
    ".tif",
    ".tiff",
    ".ppm",
    ".pgm",
)
