"""ganbench's first-party plugins.

Each module here is registered through the ``ganbench`` entry-point group in
``pyproject.toml``, exactly as a third-party package registers its own, and
uses only the public API (``ganbench`` / ``ganbench.api``).
"""
