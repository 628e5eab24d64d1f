"""What a conformance check reports, and the bookkeeping that turns errors into reports."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Literal, NoReturn

Status = Literal["passed", "failed", "skipped"]

#: A detail longer than this is cut: it is one line of a table.
MAX_DETAIL = 400


@dataclass(frozen=True)
class CheckResult:
    """The outcome of one conformance check.

    Attributes:
        kind: ``"model"``, ``"trick"``, ``"dataset"``, ``"metric"``,
            ``"feature_extractor"`` or ``"plugin"``.
        subject: the registered name checked, e.g. ``"dcgan"``.
        check: short id of the check, e.g. ``"generator output shape [digits]"``
            (the dataset a model was checked on is named in brackets).
        status: ``"passed"``, ``"failed"`` or ``"skipped"``.
        detail: one line: why it failed or was skipped, or what was measured.
    """

    kind: str
    subject: str
    check: str
    status: str
    detail: str = ""

    def to_dict(self) -> dict[str, str]:
        """JSON-ready form (``ganbench check-plugin --json``)."""
        return {
            "kind": self.kind,
            "subject": self.subject,
            "check": self.check,
            "status": self.status,
            "detail": self.detail,
        }


def one_line(text: object) -> str:
    """``text`` on one line, cut to :data:`MAX_DETAIL` characters."""
    flat = " ".join(str(text).split())
    return flat if len(flat) <= MAX_DETAIL else flat[: MAX_DETAIL - 3] + "..."


def describe_error(exc: BaseException) -> str:
    """``TypeName: message`` on one line."""
    message = one_line(exc)
    return f"{type(exc).__name__}: {message}" if message else type(exc).__name__


class CheckFailed(Exception):
    """Raised inside a check: the subject broke the contract (the message says how)."""


class CheckSkipped(Exception):
    """Raised inside a check: it cannot run here (missing data or weights)."""


class Check:
    """One running check: a context manager that records its outcome in a log.

    The block passes unless it raises: :meth:`fail` and :meth:`skip` end it
    with that status, and any other exception fails it with the exception's
    one-line description, so a plugin that crashes is reported, not raised.
    ``KeyboardInterrupt`` and ``SystemExit`` propagate.
    """

    def __init__(self, log: CheckLog, name: str) -> None:
        self.log = log
        self.name = name
        self.detail = ""
        self.status: Status | None = None

    @property
    def ok(self) -> bool:
        """Whether the check passed (False while it runs)."""
        return self.status == "passed"

    def fail(self, detail: str) -> NoReturn:
        """End the check as failed."""
        raise CheckFailed(detail)

    def skip(self, detail: str) -> NoReturn:
        """End the check as skipped."""
        raise CheckSkipped(detail)

    def __enter__(self) -> Check:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool:
        if exc_type is None:
            self.status = "passed"
        elif issubclass(exc_type, CheckFailed):
            self.status, self.detail = "failed", str(exc)
        elif issubclass(exc_type, CheckSkipped):
            self.status, self.detail = "skipped", str(exc)
        elif issubclass(exc_type, Exception):
            assert exc is not None
            self.status, self.detail = "failed", describe_error(exc)
        else:
            return False
        self.log.add(self.name, self.status, self.detail)
        return True


class CheckLog:
    """The results of the checks of one subject, in the order they ran."""

    def __init__(self, kind: str, subject: str) -> None:
        self.kind = kind
        self.subject = subject
        self.results: list[CheckResult] = []

    def check(self, name: str) -> Check:
        """A context manager running check ``name``; see :class:`Check`."""
        return Check(self, name)

    def registration(
        self, kind: str, spec_class: type, spec: Any, describe: Callable[[], str] | None = None
    ) -> bool:
        """Check ``spec`` as the registry validates a registration; True when it passed.

        ``describe`` gives the detail of a passing check (it may read fields
        that a broken record lacks, so it runs only after validation).
        """
        from ganbench.registry import _validate  # the very rules registration applies

        with self.check("registration") as check:
            problem = _validate(kind, spec_class, spec)
            if problem is not None:
                check.fail(problem)
            if describe is not None:
                check.detail = describe()
        return check.ok

    def add(self, name: str, status: Status, detail: Any = "") -> None:
        """Record a result directly."""
        self.results.append(CheckResult(self.kind, self.subject, name, status, one_line(detail)))
