"""States its version as a number instead of a string."""

__version__ = 1.5
