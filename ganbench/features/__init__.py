"""Feature spaces for metrics: domain evaluators, identity features."""
