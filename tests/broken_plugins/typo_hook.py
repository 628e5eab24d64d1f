"""Implements a misspelled hook, so it registers nothing without noticing."""

import ganbench


@ganbench.hookimpl
def ganbench_register_modles(register) -> None:
    raise AssertionError("never called: pluggy has no such hook")
