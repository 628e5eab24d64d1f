"""The standard eval protocol: sample, extract features, compute metrics, record."""
