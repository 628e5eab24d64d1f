"""Errors that ganbench reports to the user as one line and exit code 2."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, TypeVar

T = TypeVar("T")


class GanbenchError(Exception):
    """A problem with the user's input or environment, reported as one line.

    The CLI prints ``ganbench: error: <message>`` and exits with code 2; no
    traceback, because the message itself says what was wrong and what to do.
    """

    exit_code = 2


class UnknownNameError(GanbenchError):
    """A name (plugin, dataset, metric, trick...) that is not registered."""

    def __init__(self, kind: str, name: str, choices: Iterable[str]) -> None:
        self.kind = kind
        self.name = name
        self.choices = sorted(choices)
        valid = ", ".join(self.choices) if self.choices else "(none registered)"
        super().__init__(f"unknown {kind} {name!r}; valid choices: {valid}")


class IncompatibleError(GanbenchError):
    """A model and dataset (or trick) that cannot be used together."""


class DataMissingError(GanbenchError):
    """Data files a dataset needs are not on disk and cannot be downloaded."""


class CheckpointError(GanbenchError):
    """A checkpoint or run folder that cannot be read."""


class PluginContractError(GanbenchError):
    """A plugin broke the API contract (bad registration, wrong output shape)."""


class InceptionWeightsMissingError(GanbenchError):
    """The Inception-v3 weights file is not on disk and cannot be downloaded."""


class InceptionWeightsInvalidError(GanbenchError):
    """A file given as Inception-v3 weights is not one of the known weights files."""


def call_plugin(
    what: str,
    fn: Callable[..., T],
    *args: Any,
    error: type[GanbenchError] = PluginContractError,
) -> T:
    """``fn(*args)`` from a plugin; any failure but a :class:`GanbenchError` becomes one line.

    The line is ``"<what>: <ExceptionType>: <message>"`` (for example
    ``"metric 'fid' failed: ValueError: ..."``), raised as ``error`` without
    the plugin's traceback: the user sees which plugin broke and how.
    """
    try:
        return fn(*args)
    except GanbenchError:
        raise
    except Exception as exc:
        raise error(f"{what}: {type(exc).__name__}: {exc}") from None
