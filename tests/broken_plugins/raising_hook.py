"""Its registration hook raises."""

import ganbench


@ganbench.hookimpl
def ganbench_register_metrics(register) -> None:
    raise RuntimeError("boom while registering")
