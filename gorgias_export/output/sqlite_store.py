"""One SQLite database as an output: its transaction, and the export state beside the tables.

Rows and state are committed together. A sink's `sync()` upserts its queued rows inside the open
transaction, and `save_state()` writes the state row and COMMITs. So a page's rows and the
checkpoint that counts them land together or not at all, and a `kill -9` at any moment leaves
the database at the last checkpoint (SQLite's journal sees to that). Nothing is written until
the first transaction, so a run that fails before its first page leaves an existing file as it
was.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gorgias_export import __version__
from gorgias_export.errors import OutputError, StateConflict
from gorgias_export.fastjson import dumps_text
from gorgias_export.jobs.state import (
    STATE_FORMAT_VERSION,
    SavedState,
    ensure_known_version,
    ensure_same_export,
)
from gorgias_export.output.writers import create_private

if TYPE_CHECKING:
    from gorgias_export.output.table_sink import TableSink

STATE_TABLE = "_gorgias_export_state"
SQLITE_HEADER = b"SQLite format 3\x00"
RUN_COLUMN = "_export_run"
# A reader (a sqlite3 shell, a dashboard) may hold a lock for a moment: wait rather than fail.
BUSY_TIMEOUT_SECONDS = 10.0


def quote(name: str) -> str:
    """An SQL identifier, quoted: API field names are data, whatever they contain."""
    return '"' + name.replace('"', '""') + '"'


def cell(value: Any) -> Any:
    """A value as stored: lists and objects as compact JSON, booleans as 0/1, the rest as is."""
    kind = value.__class__
    if kind is str or kind is int or kind is float or value is None:
        return value
    if kind is bool:
        return 1 if value else 0
    if kind is list or kind is dict:
        return dumps_text(value)
    return value if kind is bytes else str(value)


def json_cell(value: Any) -> Any:
    """A value of a JSON column: always JSON text (a string too), NULL for None."""
    return None if value is None else dumps_text(value)


def _bindable(value: Any) -> Any:
    """A value SQLite accepts: lone surrogates (from a broken `\\ud83d` escape in the API's
    JSON) replaced, as in the CSV output; integers beyond 64 bits as text."""
    if isinstance(value, str):
        return value.encode("utf-8", errors="replace").decode("utf-8")
    if isinstance(value, int) and not -(2**63) <= value < 2**63:
        return str(value)
    return value


class SqliteStore:
    """One SQLite database file: entity tables plus the export state, committed together."""

    def __init__(self, path: Path, flag: str = "--out") -> None:
        self.path = path
        self._flag = flag  # the option that named the file, for the error messages
        self._db: sqlite3.Connection | None = None  # opened on first use
        self._wal = False
        # Bumped by every rollback: tables created in a rolled-back transaction are gone again.
        self.generation = 0
        self._sinks: list[TableSink] = []
        self._pending_reset: tuple[str, tuple[str, ...]] | None = None  # --fresh, not done yet
        self._refuse_foreign_file()

    # -- the connection and its transaction ------------------------------------------------

    def _refuse_foreign_file(self) -> None:
        try:
            with self.path.open("rb") as handle:
                head = handle.read(len(SQLITE_HEADER))
        except FileNotFoundError:
            return
        except OSError as exc:
            raise OutputError(
                f"Could not read {self.path} ({exc.strerror or exc.__class__.__name__}); "
                "fix the path or its permissions."
            ) from None
        if head and head != SQLITE_HEADER:
            raise OutputError(
                f"{self.path} is not a SQLite database, so it is left alone; choose another "
                f"{self._flag}, or a --format that matches the file."
            )

    def _connection(self, create: bool) -> sqlite3.Connection | None:
        if self._db is None:
            if not create and not self.path.exists():
                return None
            # isolation_level=None: no implicit transactions, so BEGIN and COMMIT below are
            # exactly the checkpoint's boundaries.
            existed = self.path.exists() and self.path.stat().st_size > 0
            if not existed:
                create_private(self.path)
            db = sqlite3.connect(self.path, isolation_level=None, timeout=BUSY_TIMEOUT_SECONDS)
            try:
                db.execute("PRAGMA synchronous=FULL")  # a commit is on the disk when it returns
                db.execute("SELECT count(*) FROM sqlite_master").fetchone()  # not a database?
                if existed:
                    self._refuse_damaged(db)
            except BaseException:
                db.close()
                raise
            self._db = db
        return self._db

    def _refuse_damaged(self, db: sqlite3.Connection) -> None:
        """A database damaged anywhere, even in pages this run would not touch, is not written
        to: rows added to it could be lost with it, and the exit status would say all is well.
        `quick_check` reads the whole file once per run (seconds for a few GB)."""
        try:
            problems = [row[0] for row in db.execute("PRAGMA quick_check(1)").fetchall()]
        except sqlite3.DatabaseError as exc:
            problems = [str(exc)]
        if problems != ["ok"]:
            problems = [" ".join(str(problems[0]).replace("***", "").split())]  # one line
            raise StateConflict(
                f"{self.path} is damaged (SQLite's quick_check: {problems[0]}), so nothing is "
                "written to it; restore it from a backup, or move it away and rerun to export "
                "again."
            )

    def _begin(self) -> sqlite3.Connection:
        """The connection, inside a write transaction (opened if none is)."""
        db = self._connection(create=True)
        assert db is not None
        if not db.in_transaction:
            if not self._wal:
                # WAL rather than a rollback journal: someone may query the mirror while a run
                # writes it (readers then neither block a commit nor see half of one), and a
                # commit costs one fsync. Set at the first write, so that a run failing before
                # its first page leaves the file untouched; close() checkpoints, so the .db
                # alone is complete for whoever copies it afterwards.
                db.execute("PRAGMA journal_mode=WAL")
                self._wal = True
            db.execute("BEGIN IMMEDIATE")
            if self._pending_reset is not None:
                self._empty(*self._pending_reset)
        return db

    @contextlib.contextmanager
    def guarded(self) -> Iterator[None]:
        """SQLite errors become an OutputError with one sentence saying what to do."""
        try:
            yield
        except sqlite3.Error as exc:
            raise OutputError(self._explain(exc)) from None

    def _explain(self, exc: sqlite3.Error) -> str:
        name = getattr(exc, "sqlite_errorname", "") or ""
        where = self.path
        if name == "SQLITE_FULL":
            return f"Could not write {where} (disk full); free some space, then rerun to continue."
        if name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")):
            return (
                f"{where} is locked by another program writing to it; close that program, "
                "then rerun to continue."
            )
        if name == "SQLITE_NOTADB":
            return (
                f"{where} is not a SQLite database, so it is left alone; choose another "
                f"{self._flag}."
            )
        if name.startswith("SQLITE_CORRUPT"):
            return (
                f"{where} is damaged ({exc}); restore it from a copy, or choose another "
                f"{self._flag}."
            )
        if name.startswith("SQLITE_CANTOPEN"):
            return f"Could not open {where}; check that its directory exists and is writable."
        if name.startswith("SQLITE_IOERR"):
            return (
                f"Could not write {where} ({exc}); check that the disk has room and works, "
                "then rerun to continue."
            )
        if name.startswith("SQLITE_READONLY"):
            return f"{where} is read-only; make it and its directory writable, then rerun."
        return f"Could not write {where} ({exc}); fix the cause, then rerun to continue."

    def _executemany(self, sql: str, rows: list[list[Any]]) -> sqlite3.Cursor:
        db = self._begin()
        try:
            return db.executemany(sql, rows)
        except (UnicodeEncodeError, OverflowError):
            # Rows before the offending one already ran; they run again, which is harmless for
            # upserts, updates and deletes by key.
            return db.executemany(sql, [[_bindable(v) for v in row] for row in rows])

    # -- the export state --------------------------------------------------------------------

    def load_state(self, export_key: str, identity: dict[str, Any]) -> SavedState | None:
        """The saved state of this export, None if there is none; refuses a foreign or broken
        one, with the same rules as a state file."""
        where = f"The saved state of {export_key!r} in {self.path}"
        with self.guarded():
            db = self._connection(create=False)
            if db is None or not self._columns(STATE_TABLE):
                return None
            found = db.execute(
                f"SELECT format_version, identity, progress FROM {STATE_TABLE} WHERE export = ?",
                (export_key,),
            ).fetchone()
        if found is None:
            return None
        version, identity_text, progress_text = found
        try:
            saved_identity = json.loads(identity_text)
            progress = json.loads(progress_text)
            if not (isinstance(saved_identity, dict) and isinstance(progress, dict)):
                raise TypeError
        except (ValueError, TypeError):
            raise StateConflict(f"{where} is corrupt; rerun with --fresh to start over.") from None
        ensure_known_version(version, where)
        ensure_same_export(saved_identity, identity, where)
        return SavedState(identity=saved_identity, progress=progress)

    def has_state(self, export_key: str) -> bool:
        """Whether some export saved its state under `export_key` here (whatever its identity)."""
        with self.guarded():
            db = self._connection(create=False)
            if db is None or not self._columns(STATE_TABLE):
                return False
            query = f"SELECT 1 FROM {STATE_TABLE} WHERE export = ?"
            return db.execute(query, (export_key,)).fetchone() is not None

    def save_state(
        self, export_key: str, identity: dict[str, Any], progress: dict[str, Any]
    ) -> None:
        """Write the state row and COMMIT: the rows synced since the last save land with it."""
        with self.guarded():
            db = self._begin()
            db.execute(
                f"CREATE TABLE IF NOT EXISTS {STATE_TABLE} (export TEXT PRIMARY KEY NOT NULL, "
                "format_version INTEGER NOT NULL, written_by TEXT, identity TEXT NOT NULL, "
                "progress TEXT NOT NULL)"
            )
            db.execute(
                f"INSERT INTO {STATE_TABLE} VALUES (?, ?, ?, ?, ?) ON CONFLICT(export) DO UPDATE "
                "SET format_version = excluded.format_version, written_by = excluded.written_by, "
                "identity = excluded.identity, progress = excluded.progress",
                (
                    export_key,
                    STATE_FORMAT_VERSION,
                    f"gorgias-export {__version__}",
                    dumps_text(identity),
                    dumps_text(progress),
                ),
            )
            db.execute("COMMIT")
            self._pending_reset = None  # done, and now durable

    def reset(self, export_key: str, tables: Iterable[str]) -> None:
        """For --fresh: delete these tables' rows and the export's state row.

        Done at the first write, inside its transaction, so it is committed with the first
        checkpoint: a run that fails before its first page leaves the file as it was, byte for
        byte. Tables are emptied, not dropped, so that a user's own indexes and views on them
        survive."""
        if self.path.exists():
            self._pending_reset = (export_key, tuple(tables))

    def _empty(self, export_key: str, tables: tuple[str, ...]) -> None:
        assert self._db is not None and self._db.in_transaction
        for table in tables:
            if self._columns(table):
                self._db.execute(f"DELETE FROM {quote(table)}")
        if self._columns(STATE_TABLE):
            self._db.execute(f"DELETE FROM {STATE_TABLE} WHERE export = ?", (export_key,))

    def row_count(self, table: str) -> int:
        """Rows in `table`, 0 if it does not exist (committed or not)."""
        with self.guarded():
            db = self._connection(create=False)
            if db is None or not self._columns(table):
                return 0
            count: int = db.execute(f"SELECT count(*) FROM {quote(table)}").fetchone()[0]
            return count

    def select(
        self, table: str, columns: Sequence[str], order_by: Sequence[str]
    ) -> Iterator[tuple[Any, ...]]:
        """Every committed row of `table` (none if it does not exist), these columns in this
        order, streamed: for what is written from the store (an .xlsx workbook)."""
        with self.guarded():
            existing = set(self._columns(table))
            if not existing:
                return
            db = self._connection(create=False)
            assert db is not None
            picked = ", ".join(quote(c) if c in existing else "NULL" for c in columns)
            order = ", ".join(quote(c) for c in order_by if c in existing) or "rowid"
            yield from db.execute(f"SELECT {picked} FROM {quote(table)} ORDER BY {order}")

    def table_columns(self, table: str) -> list[str]:
        """The columns of `table`, in order ([] if it does not exist)."""
        with self.guarded():
            return self._columns(table)

    def _columns(self, table: str) -> list[str]:
        db = self._connection(create=False)
        if db is None:
            return []
        return [row[1] for row in db.execute(f"PRAGMA table_info({quote(table)})")]

    # -- tables --------------------------------------------------------------------------------

    def register(self, sink: TableSink) -> None:
        """A sink whose queued rows a rollback discards."""
        self._sinks.append(sink)

    def rollback(self) -> None:
        """Drop everything since the last save_state, queued rows included (best effort)."""
        for sink in self._sinks:
            sink.discard_queued()
        self.generation += 1
        if self._db is not None and self._db.in_transaction:
            with contextlib.suppress(sqlite3.Error):
                self._db.execute("ROLLBACK")

    def close(self) -> None:
        """Roll back what no checkpoint vouches for, fold the WAL into the file, close."""
        if self._db is None:
            return
        self.rollback()
        with contextlib.suppress(sqlite3.Error):
            if self._wal:
                self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        with contextlib.suppress(sqlite3.Error):
            self._db.close()
        self._db = None
        self._wal = False
