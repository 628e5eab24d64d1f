"""A metric whose compute() returns a string instead of a mapping of outputs to floats."""

import ganbench
from ganbench.api import MetricSpec


@ganbench.hookimpl
def ganbench_register_metrics(register) -> None:
    register(
        MetricSpec(
            name="bad-metric", compute=lambda inputs, params: "oops", outputs={"bad": "lower"}
        )
    )
