"""Small, deterministic copies of a run's ``samples.png`` and ``curves.png`` for the site.

The published site must not point into ``runs/`` (it is not committed) and
must rebuild byte for byte, so each figure is downscaled with Pillow and
re-encoded from its bare pixels: a new image carries no ``info`` (no
text chunks, timestamps, ICC profile or dpi from the source file), and
PNG encoding of the same pixels with the same settings gives the same
bytes.
"""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from ganbench.results.atomic import atomic_write_bytes

#: Longest side of a thumbnail, in pixels, per figure: a sample grid stays
#: legible at 160 px, a loss plot needs more width to show its shape.
MAX_SIDE: dict[str, int] = {"samples": 160, "curves": 320}


def thumbnail_png(source: Path, max_side: int) -> bytes:
    """``source`` downscaled to at most ``max_side`` pixels a side, as PNG bytes without metadata.

    Never upscales. Raises ``OSError`` (or Pillow's ``UnidentifiedImageError``,
    a subclass) when ``source`` cannot be read as an image.
    """
    with Image.open(source) as image:
        image.load()
        mode = "RGBA" if image.mode in ("RGBA", "LA", "P") else "RGB"
        pixels = image.convert(mode)
    pixels.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    # Fresh image from raw pixels: nothing of the source's metadata survives.
    bare = Image.frombytes(pixels.mode, pixels.size, pixels.tobytes())
    buffer = io.BytesIO()
    bare.save(buffer, format="PNG", optimize=False, compress_level=9)
    return buffer.getvalue()


def write_thumbnail(source: Path, target: Path, figure: str) -> bool:
    """Write the thumbnail of ``source`` (``figure``: a key of :data:`MAX_SIDE`) to ``target``.

    Returns False, writing nothing, when ``source`` is missing or unreadable,
    so the page can say so instead of showing a broken image.
    """
    try:
        data = thumbnail_png(source, MAX_SIDE[figure])
    except (OSError, UnidentifiedImageError, ValueError):
        return False
    atomic_write_bytes(target, data)
    return True
