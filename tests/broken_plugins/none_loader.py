"""A dataset whose load() returns None instead of a GanDataset."""

import ganbench
from ganbench.api import DatasetSpec


@ganbench.hookimpl
def ganbench_register_datasets(register) -> None:
    register(DatasetSpec(name="none-loader", load=lambda options: None, kind="vector"))
