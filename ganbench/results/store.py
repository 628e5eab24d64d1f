"""The results store: every RunRecord, indexed in one SQLite file.

Tables:

- ``runs``: one row per run, the searchable columns plus the full record as
  JSON (``record_json`` is the source of truth; the other columns are an index).
- ``metrics``: one row per (run, metric), for queries across runs.
- ``protocols``: the comparison-relevant protocol fields, once per comparison key.
- ``sweep_cells``: one row per ``ganbench sweep`` cell (its key, a short
  sha256 of the run request): ``completed`` or ``diverged`` with the run that
  fills it (written in the run's own transaction), or ``failed`` with the
  error of its last attempt. A later sweep skips the done cells and retries
  the failed ones.

``sweep_cells`` was added without bumping :data:`SCHEMA_VERSION`: it is a
table of its own, created (if missing) whenever a store is opened, and the
other tables are unchanged. An older ganbench therefore reads and writes such
a store as before (it never looks at the table), and an older store gains
the empty table the first time this version opens it.

Journal mode: SQLite's default rollback journal, not WAL. Writes are rare (one
per finished run) and short, so WAL's concurrency buys nothing, while it
leaves ``-wal``/``-shm`` files beside the database, needs shared memory and
does not work on network file systems, where benchmark folders often live.
The rollback journal with ``synchronous=FULL`` is already crash-safe: a killed
process leaves the database as of the last committed transaction.

Every operation opens its own connection and closes it when done, so no
connection (or open transaction) outlives the call that needed it.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ganbench.errors import GanbenchError
from ganbench.run.record import COMPARISON_FIELDS, RunRecord, comparison_key

#: Bumped when the table layout changes; stored in ``PRAGMA user_version``.
SCHEMA_VERSION = 1

_SCHEMA = (
    """
    CREATE TABLE IF NOT EXISTS runs (
        run_id          TEXT PRIMARY KEY,
        kind            TEXT NOT NULL,
        status          TEXT NOT NULL,
        model           TEXT NOT NULL,
        dataset         TEXT NOT NULL,
        task            TEXT NOT NULL,
        tricks_json     TEXT NOT NULL,
        seed            INTEGER NOT NULL,
        steps           INTEGER NOT NULL,
        batch_size      INTEGER NOT NULL,
        comparison_key  TEXT NOT NULL,
        primary_metric  TEXT,
        wall_time_s     REAL NOT NULL,
        created_at      TEXT NOT NULL,
        record_json     TEXT NOT NULL
    )
    """,
    # value is NULL for NaN (SQLite has no NaN); the record JSON keeps the NaN.
    """
    CREATE TABLE IF NOT EXISTS metrics (
        run_id          TEXT NOT NULL,
        name            TEXT NOT NULL,
        value           REAL,
        direction       TEXT,
        comparison_key  TEXT NOT NULL,
        PRIMARY KEY (run_id, name)
    )
    """,
    """
    CREATE TABLE IF NOT EXISTS protocols (
        comparison_key  TEXT PRIMARY KEY,
        protocol_json   TEXT NOT NULL
    )
    """,
    """
    CREATE TABLE IF NOT EXISTS sweep_cells (
        cell_key        TEXT PRIMARY KEY,
        status          TEXT NOT NULL,
        run_id          TEXT,
        attempts        INTEGER NOT NULL,
        error           TEXT,
        updated_at      TEXT NOT NULL
    )
    """,
    "CREATE INDEX IF NOT EXISTS runs_by_dataset ON runs (dataset, kind, status)",
    "CREATE INDEX IF NOT EXISTS metrics_by_key ON metrics (comparison_key, name)",
)


class ResultsStore:
    """All run records, in one SQLite file at ``path``.

    The file and its parent folders are created on first use. Adding a run
    is one transaction: either the run, its metrics and its protocol are all
    stored, or nothing is.
    """

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._create_schema()
        except (OSError, sqlite3.Error) as exc:
            raise StoreUnavailableError(
                f"cannot open results store {str(self.path)!r}: {_error_text(exc)}"
            ) from None

    def __repr__(self) -> str:
        return f"ResultsStore({str(self.path)!r})"

    # -- writing ---------------------------------------------------------

    def add(self, record: RunRecord, cell_attempts: int = 1) -> None:
        """Store ``record``, replacing any run with the same ``run_id``.

        A record with a ``cell_key`` (a ``ganbench sweep`` cell) also marks
        its cell done in ``sweep_cells``, in the same transaction, with the
        ``cell_attempts`` it took.

        Raises:
            ValueError: ``record.comparison_key`` does not match its protocol
                (the key is what keeps incomparable numbers apart, so a stale
                one is refused), or a metric value is not a number.
        """
        key = _checked_comparison_key(record)
        record_json = json.dumps(record.to_dict(), sort_keys=True, default=_json_scalar)
        relevant = {name: record.protocol.get(name) for name in COMPARISON_FIELDS}
        protocol_json = json.dumps(relevant, sort_keys=True, default=str)
        run_row = (
            record.run_id,
            record.kind,
            record.status,
            record.model,
            record.dataset,
            record.task,
            json.dumps(record.tricks, sort_keys=True, default=_json_scalar),
            int(record.seed),
            int(record.steps),
            int(record.batch_size),
            key,
            record.primary_metric,
            float(record.wall_time_s),
            record.created_at,
            record_json,
        )
        try:
            cell = None
            if record.cell_key:
                cell = (
                    record.cell_key,
                    record.status,
                    record.run_id,
                    int(cell_attempts),
                    None,
                    _now(),
                )
            self._insert(
                record.run_id, run_row, _metric_rows(record, key), key, protocol_json, cell
            )
        except (OSError, sqlite3.OperationalError) as exc:
            raise StoreUnavailableError(
                f"cannot add run {record.run_id!r} to results store {str(self.path)!r}: "
                f"{_error_text(exc)}"
            ) from None

    def _insert(
        self,
        run_id: str,
        run_row: tuple[Any, ...],
        metric_rows: Iterator[tuple[Any, ...]],
        key: str,
        protocol_json: str,
        cell: tuple[Any, ...] | None = None,
    ) -> None:
        with self._transaction(write=True) as conn:
            # Delete-then-insert inside the same transaction is the replace:
            # an old run's metrics that the new record no longer has go too.
            conn.execute("DELETE FROM metrics WHERE run_id = ?", (run_id,))
            conn.execute("DELETE FROM runs WHERE run_id = ?", (run_id,))
            conn.execute(f"INSERT INTO runs VALUES ({', '.join('?' * len(run_row))})", run_row)
            conn.executemany("INSERT INTO metrics VALUES (?, ?, ?, ?, ?)", metric_rows)
            # Same key means same relevant fields (the key is their hash), so
            # an existing row is already right.
            conn.execute("INSERT OR IGNORE INTO protocols VALUES (?, ?)", (key, protocol_json))
            if cell is not None:
                conn.execute("INSERT OR REPLACE INTO sweep_cells VALUES (?, ?, ?, ?, ?, ?)", cell)

    def record_cell_failure(self, cell_key: str, error: str, attempts: int) -> None:
        """Mark sweep cell ``cell_key`` failed after ``attempts`` attempts, with its last error.

        A cell that a stored run already fills is left as it is: a failure
        never hides a result.
        """
        try:
            with self._transaction(write=True) as conn:
                row = conn.execute(
                    "SELECT status FROM sweep_cells WHERE cell_key = ?", (cell_key,)
                ).fetchone()
                if row is not None and row[0] in DONE_CELL_STATUSES:
                    return
                conn.execute(
                    "INSERT OR REPLACE INTO sweep_cells VALUES (?, 'failed', NULL, ?, ?, ?)",
                    (cell_key, int(attempts), error, _now()),
                )
        except (OSError, sqlite3.OperationalError) as exc:
            raise StoreUnavailableError(
                f"cannot record sweep cell {cell_key!r} in results store {str(self.path)!r}: "
                f"{_error_text(exc)}"
            ) from None

    # -- reading ---------------------------------------------------------

    def sweep_cells(self) -> dict[str, SweepCell]:
        """Every recorded sweep cell, by key."""
        with self._transaction() as conn:
            rows = conn.execute(
                "SELECT cell_key, status, run_id, attempts, error FROM sweep_cells"
            ).fetchall()
        return {row[0]: SweepCell(*row) for row in rows}

    def get(self, run_id: str) -> RunRecord | None:
        """The stored record of ``run_id``, or None."""
        with self._transaction() as conn:
            row = conn.execute(
                "SELECT record_json FROM runs WHERE run_id = ?", (run_id,)
            ).fetchone()
        return None if row is None else RunRecord.from_dict(json.loads(row[0]))

    def runs(
        self,
        dataset: str | None = None,
        kind: str | None = None,
        status: str | None = None,
        task: str | None = None,
    ) -> list[RunRecord]:
        """Records matching every given filter, ordered by ``created_at`` then ``run_id``."""
        filters = {"dataset": dataset, "kind": kind, "status": status, "task": task}
        given = {column: value for column, value in filters.items() if value is not None}
        # Column names come from the fixed dict above, never from the caller.
        where = " AND ".join(f"{column} = ?" for column in given) or "1"
        query = f"SELECT record_json FROM runs WHERE {where} ORDER BY created_at, run_id"
        with self._transaction() as conn:
            rows = conn.execute(query, tuple(given.values())).fetchall()
        return [RunRecord.from_dict(json.loads(row[0])) for row in rows]

    def protocol(self, comparison_key: str) -> dict[str, Any] | None:
        """The comparison-relevant protocol fields stored under ``comparison_key``, or None."""
        with self._transaction() as conn:
            row = conn.execute(
                "SELECT protocol_json FROM protocols WHERE comparison_key = ?", (comparison_key,)
            ).fetchone()
        return None if row is None else json.loads(row[0])

    # -- plumbing --------------------------------------------------------

    @contextmanager
    def _transaction(self, write: bool = False) -> Iterator[sqlite3.Connection]:
        """One connection, one transaction: committed on success, rolled back on any error."""
        # isolation_level=None turns off the sqlite3 module's implicit
        # transactions, so BEGIN/COMMIT below are the only ones. The timeout
        # lets parallel runs that finish together wait for each other.
        conn = sqlite3.connect(self.path, timeout=30.0, isolation_level=None)
        with closing(conn):
            # A writer takes the write lock up front (IMMEDIATE), so two
            # processes cannot both read and then deadlock upgrading to write.
            conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
            try:
                yield conn
            except BaseException:
                # SQLite may already have rolled back (e.g. disk full); a second
                # ROLLBACK would then raise and hide the original error.
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    def _create_schema(self) -> None:
        with self._transaction(write=True) as conn:
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise GanbenchError(
                    f"results store {self.path} has schema version {version}, newer than "
                    f"this ganbench understands ({SCHEMA_VERSION}); upgrade ganbench"
                )
            for statement in _SCHEMA:
                conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")


#: Sweep cell statuses that mean "a stored run fills it": a later sweep skips them.
DONE_CELL_STATUSES = ("completed", "diverged")


@dataclass(frozen=True)
class SweepCell:
    """A row of ``sweep_cells``: a sweep cell's state in this store."""

    cell_key: str
    status: str
    run_id: str | None
    attempts: int
    error: str | None

    @property
    def done(self) -> bool:
        """Whether a stored run (completed or diverged) fills the cell."""
        return self.status in DONE_CELL_STATUSES


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


class StoreUnavailableError(GanbenchError):
    """The results store cannot be opened or written (one line, exit 2)."""


def _error_text(exc: BaseException) -> str:
    """An OS or SQLite error as a short phrase ("unable to open database file")."""
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc) or type(exc).__name__


def _checked_comparison_key(record: RunRecord) -> str:
    """The record's comparison key, computed if empty and verified if given."""
    computed = comparison_key(record.protocol)
    if record.comparison_key and record.comparison_key != computed:
        raise ValueError(
            f"run {record.run_id!r}: comparison_key {record.comparison_key!r} does not match "
            f"its protocol (expected {computed!r}); was the protocol edited after the fact?"
        )
    return computed


def _metric_rows(record: RunRecord, key: str) -> Iterator[tuple[Any, ...]]:
    """Rows for the ``metrics`` table, validated as they are inserted."""
    for name, value in sorted(record.metrics.items()):
        try:
            number = float(value)
        except (TypeError, ValueError) as error:
            raise ValueError(
                f"run {record.run_id!r}: metric {name!r} is not a number: {value!r}"
            ) from error
        yield (record.run_id, name, number, record.directions.get(name), key)


def _json_scalar(value: Any) -> Any:
    """JSON fallback for numpy/torch scalars and paths, which records may carry."""
    if hasattr(value, "item"):
        return value.item()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"cannot store {type(value).__name__} in a run record: {value!r}")


def read_only_get(path: Path | str, run_id: str) -> RunRecord | None:
    """The stored record of ``run_id`` in the store at ``path``, read without writing.

    For processes that must not write the store (``ganbench sweep``'s
    workers): :class:`ResultsStore` creates its tables on opening, a write.
    A missing file, or one without the ``runs`` table yet, holds no run.
    """
    path = Path(path)
    if not path.is_file():
        return None
    conn = sqlite3.connect(f"{path.absolute().as_uri()}?mode=ro", uri=True, timeout=30.0)
    with closing(conn):
        try:
            row = conn.execute(
                "SELECT record_json FROM runs WHERE run_id = ?", (run_id,)
            ).fetchone()
        except sqlite3.OperationalError:
            return None  # no tables yet: the driver has not opened it
    return None if row is None else RunRecord.from_dict(json.loads(row[0]))
