"""ganbench: a benchmarking suite for Generative Adversarial Networks.

Plugins use ``ganbench.hookimpl`` and the types re-exported from
:mod:`ganbench.api`. Those names are loaded on first use (PEP 562), not on
``import ganbench``: the public API pulls in torch, a two-second import that
``ganbench --help`` and every rejected flag would otherwise pay.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    # Only reached for names not defined here: the public API, and __all__.
    # import_module, not ``from ganbench import api``: that form would ask
    # this very function for ``api`` before importing the submodule.
    api = importlib.import_module("ganbench.api")

    if name == "__all__":
        return ["__version__", *api.__all__]
    if name in api.__all__:
        return getattr(api, name)
    raise AttributeError(f"module 'ganbench' has no attribute {name!r}")


def __dir__() -> list[str]:
    api = importlib.import_module("ganbench.api")

    return sorted({*globals(), *api.__all__})
