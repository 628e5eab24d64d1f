"""Where the results store lives unless the user says otherwise."""

from __future__ import annotations

import os
from pathlib import Path

#: Environment variable that overrides the store location.
STORE_ENV_VAR = "GANBENCH_STORE"


def default_store_path() -> Path:
    """The results store path: ``$GANBENCH_STORE`` if set and non-empty, else ``./runs/results.sqlite``.

    The default is relative to the current directory, next to the ``runs/``
    folders that ``ganbench run`` creates, so one project folder holds its
    runs and their index together. ``~`` in the variable is expanded.
    """
    override = os.environ.get(STORE_ENV_VAR, "").strip()
    if override:
        return Path(override).expanduser()
    return Path("runs") / "results.sqlite"
