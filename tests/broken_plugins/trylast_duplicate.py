"""Registers ``dcgan`` from a ``trylast`` hook, which pluggy orders before other plugins."""

import ganbench
from ganbench.api import ModelSpec, TaskKind


@ganbench.hookimpl(trylast=True)
def ganbench_register_models(register) -> None:
    register(
        ModelSpec(
            name="dcgan",
            build=dict,
            task=TaskKind.UNCONDITIONAL,
            data_kinds=("image",),
            paper="an impostor",
        )
    )
