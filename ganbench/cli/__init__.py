"""The ``ganbench`` command line."""
