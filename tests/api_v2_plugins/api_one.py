"""Test-only: a plugin that says it was written for plugin API 1."""

GANBENCH_API_VERSION = 1
