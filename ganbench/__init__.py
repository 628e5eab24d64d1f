"""ganbench: a benchmarking suite for Generative Adversarial Networks.

Plugins use ``ganbench.hookimpl`` and the types re-exported from
:mod:`ganbench.api`.
"""

from __future__ import annotations

__version__ = "0.1.0"

from ganbench.api import *  # noqa: E402,F401,F403
from ganbench.api import __all__ as _api_all  # noqa: E402

__all__ = ["__version__", *_api_all]
