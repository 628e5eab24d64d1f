"""Making plugin-supplied names safe in Markdown, HTML and file names.

Model names, trick labels, metric names, dataset and task names all come
from plugins, so a leaderboard must render them as text, never as markup
(or as a path outside the leaderboard folder).
"""

from __future__ import annotations

import hashlib
import html
import re

# Characters that are active inside a Markdown line (table cell, list item,
# heading text): emphasis, code, links, raw HTML, entities, GFM tables,
# strikethrough and GitHub's math. Line-start syntax (#, -, +, 1.) cannot
# occur because every cell and item starts with our own text.
_MARKDOWN_ACTIVE = re.compile(r"([\\`*_\[\]<>|&~$])")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")
_UNSAFE_IN_FILE_NAME = re.compile(r"[^A-Za-z0-9._-]+")
_MAX_STEM = 100


def escape_markdown(text: str) -> str:
    """``text`` as literal Markdown text: active characters backslash-escaped, newlines flattened.

    >>> escape_markdown("evil|<script>")
    'evil\\\\|\\\\<script\\\\>'
    """
    flat = _CONTROL.sub(" ", str(text))
    return _MARKDOWN_ACTIVE.sub(r"\\\1", flat)


def escape_html(text: str) -> str:
    """``text`` as literal HTML text, safe in element content and quoted attributes."""
    return html.escape(str(text), quote=True)


def safe_file_stem(name: str) -> str:
    """A file-name stem for ``name`` that stays inside its folder.

    Names made only of ``[A-Za-z0-9._-]`` (and not starting with a dot) are
    kept as they are; anything else is sanitised and suffixed with a short
    hash of the original, so two different names never share a file.
    """
    stem = _UNSAFE_IN_FILE_NAME.sub("_", name).lstrip(".")[:_MAX_STEM]
    if stem == name and stem:
        return stem
    digest = hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()[:8]
    return f"{stem or 'unnamed'}-{digest}"
