"""How an evaluation says what it is doing, without knowing who shows it.

An evaluation is a sequence of phases ("sampling 1000 fakes", "features of
1000 fakes", "metric prdc", ...), each with a number of units of work. The
code that does the work reports to an :class:`EvalProgress`; the command
line shows it (:class:`ganbench.progress.EvaluationProgress`), tests record
it, and everything else (checkpoint validation during training, library
calls) gets :data:`NO_PROGRESS`, whose methods do nothing. Metrics report
finer progress through ``inputs.progress`` (an attribute of
:class:`~ganbench.eval.inputs.EvalInputs`), so metric plugins keep their
``compute(inputs, params)`` signature.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable


@runtime_checkable
class EvalProgress(Protocol):
    """Receives an evaluation's phases and how far the current one is."""

    def phase(self, name: str, total: int = 1) -> None:
        """Phase ``name`` begins (the previous one has ended); it has ``total`` units of work."""
        ...

    def update(self, done: int, total: int | None = None) -> None:
        """``done`` units of the current phase are finished (``total``, if given, replaces it)."""
        ...


class SilentProgress:
    """An :class:`EvalProgress` that shows nothing and costs nothing."""

    def phase(self, name: str, total: int = 1) -> None:
        """Ignore the phase."""

    def update(self, done: int, total: int | None = None) -> None:
        """Ignore the update."""


#: The progress of evaluations nobody watches (and the default everywhere).
NO_PROGRESS = SilentProgress()
