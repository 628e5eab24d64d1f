"""Scoring sample sets without training: ``ganbench score`` and ``ganbench stats``."""
