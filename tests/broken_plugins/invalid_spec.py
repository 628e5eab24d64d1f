"""Registers models whose specs are invalid: no paper, a bad name, a build that is not callable."""

import ganbench
from ganbench.api import ModelSpec, TaskKind


@ganbench.hookimpl
def ganbench_register_models(register) -> None:
    register(
        ModelSpec(
            name="no-paper",
            build=dict,
            task=TaskKind.UNCONDITIONAL,
            data_kinds=("vector",),
            paper="",
        )
    )
    register(
        ModelSpec(
            name="Bad Name",
            build=dict,
            task=TaskKind.UNCONDITIONAL,
            data_kinds=("vector",),
            paper="x",
        )
    )
    register(
        ModelSpec(
            name="not-callable",
            build="nope",
            task=TaskKind.UNCONDITIONAL,
            data_kinds=("vector",),
            paper="x",
        )
    )
