"""Registers a model under a first-party name: ``dcgan``."""

import ganbench
from ganbench.api import ModelSpec, TaskKind


@ganbench.hookimpl
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
