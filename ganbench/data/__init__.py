"""Dataset types and helpers shared by the core and dataset plugins."""
