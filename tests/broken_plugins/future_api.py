"""Written for a plugin API version this ganbench does not provide."""

import ganbench
from ganbench.api import ModelSpec, TaskKind

GANBENCH_API_VERSION = 999


@ganbench.hookimpl
def ganbench_register_models(register) -> None:
    register(
        ModelSpec(
            name="future-model",
            build=dict,
            task=TaskKind.UNCONDITIONAL,
            data_kinds=("vector",),
            paper="from the future",
        )
    )
