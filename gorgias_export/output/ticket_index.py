"""Ticket context by id, on disk, so the message/ticket join uses bounded memory at any size.

SQLite (standard library) holds every ticket's context; a small LRU in front serves the common
case of consecutive messages of one ticket. It is a cache: losing it costs requests (missing
contexts are fetched in batches), never rows, so it is not part of the checkpoint.

What it keeps of a ticket is the output's choice (`ContextShape`): the context as JSON for rows
built as dictionaries, the ticket's part of a CSV line for CSV, nothing at all when only knowing
the ticket exists matters. Each shape has its own table, so a cache written by another output
(or by an earlier release, whose table is `tickets`) is never misread.
"""

from __future__ import annotations

import sqlite3
from collections import OrderedDict
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Generic, Protocol, TypeVar

from gorgias_export import fastjson
from gorgias_export.errors import OutputError, StateConflict
from gorgias_export.output.writers import create_private
from gorgias_export.rows import CONVERSATION_COLUMNS_VERSION

CACHE_ENTRIES = 2048
QUERY_IDS = 500  # ids per SELECT, well under SQLite's limit on parameters
# SQLite's own page cache, in KiB (its default is 2,000): the LRU above serves the hot tickets,
# and the operating system's file cache the rest.
PAGE_CACHE_KIB = 512

T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)


class ContextShape(Protocol[T_co]):
    """How an output keeps a ticket's context: stored as text, used as a T_co."""

    @property
    def table(self) -> str:
        """The index's table for contexts of this shape."""
        ...

    def pack(self, context: dict[str, Any]) -> str: ...
    def unpack(self, text: str) -> T_co: ...
    def ready(self, context: dict[str, Any], text: str) -> T_co:
        """The usable form of a context just packed to `text` (no need to unpack it again)."""
        ...


class JsonContexts:
    """Contexts as they are: dictionaries, stored as compact JSON (rows built as dicts)."""

    # 0.1.0's table, whose contexts have these columns; contexts of other columns get their own.
    table = (
        "tickets"
        if CONVERSATION_COLUMNS_VERSION == 1
        else f"tickets_v{CONVERSATION_COLUMNS_VERSION}"
    )

    def pack(self, context: dict[str, Any]) -> str:
        return fastjson.dumps_storable(context)

    def unpack(self, text: str) -> dict[str, Any]:
        value: dict[str, Any] = fastjson.loads(text)
        return value

    def ready(self, context: dict[str, Any], text: str) -> dict[str, Any]:
        return context


class KnownTickets:
    """Only that the ticket exists (one JSON line per ticket: no row needs its context)."""

    table = "known_tickets"

    def pack(self, context: dict[str, Any]) -> str:
        return ""

    def unpack(self, text: str) -> str:
        return text

    def ready(self, context: dict[str, Any], text: str) -> str:
        return text


class TicketIndex(Generic[T]):
    """id → ticket context in `shape`, persistent across runs of one export."""

    def __init__(self, path: Path | None, shape: ContextShape[T]) -> None:
        self._path = path
        self.shape = shape
        self._connection: sqlite3.Connection | None = None  # opened on first use
        self._cache: OrderedDict[int, T] = OrderedDict()

    @property
    def _db(self) -> sqlite3.Connection:
        if self._connection is None:
            self._connection = self._open_or_rebuild()
        return self._connection

    def _open_or_rebuild(self) -> sqlite3.Connection:
        path = self._path
        target = str(path) if path is not None else ":memory:"
        if path is not None:
            _refuse_foreign_file(path)
        try:
            try:
                return self._open(target)
            except sqlite3.DatabaseError:
                # A damaged cache is rebuilt from scratch: it only ever saves requests.
                if path is not None:
                    path.unlink(missing_ok=True)
                return self._open(target)
        except sqlite3.Error as exc:
            raise OutputError(f"Could not open the ticket index {path} ({exc}).") from None

    def _open(self, target: str) -> sqlite3.Connection:
        table = self.shape.table
        if self._path is not None:
            create_private(self._path)  # tickets' contexts: customers' names and emails
        db = sqlite3.connect(target)
        _refuse_foreign_tables(db, self._path, table)  # before anything is written to it
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")  # a crash may lose recent entries: only a cost
        db.execute(f"PRAGMA cache_size=-{PAGE_CACHE_KIB}")
        db.execute(f"CREATE TABLE IF NOT EXISTS {table} (id INTEGER PRIMARY KEY, context TEXT)")
        db.execute(f"SELECT count(*) FROM {table}").fetchone()  # surfaces a corrupt file now
        return db

    def get(self, ticket_id: int) -> T | None:
        return self.get_many([ticket_id]).get(ticket_id)

    def get_many(self, ticket_ids: Iterable[int]) -> dict[int, T]:
        """The contexts of these ids that the index holds: from memory, then one query for the
        rest (a query per id was most of the join's time once a walk left the cache behind)."""
        found: dict[int, T] = {}
        missing: list[int] = []
        cache = self._cache
        for ticket_id in ticket_ids:
            cached = cache.get(ticket_id)
            if cached is not None:
                cache.move_to_end(ticket_id)
                found[ticket_id] = cached
            else:
                missing.append(ticket_id)
        unpack = self.shape.unpack
        query = f"SELECT id, context FROM {self.shape.table} WHERE id IN "
        for start in range(0, len(missing), QUERY_IDS):
            batch = missing[start : start + QUERY_IDS]
            for ticket_id, text in self._db.execute(
                query + f"({','.join('?' * len(batch))})", batch
            ).fetchall():
                context = unpack(text)
                self._remember(ticket_id, context)
                found[ticket_id] = context
        return found

    def put_many(self, contexts: Iterable[tuple[int, dict[str, Any]]]) -> dict[int, T]:
        """Keep these tickets' contexts; returns them in the shape's usable form."""
        shape = self.shape
        batch = [(ticket_id, context, shape.pack(context)) for ticket_id, context in contexts]
        try:
            with self._db:
                self._db.executemany(
                    f"INSERT OR REPLACE INTO {shape.table} (id, context) VALUES (?, ?)",
                    [(ticket_id, text) for ticket_id, _, text in batch],
                )
        except sqlite3.Error as exc:
            raise OutputError(
                f"Could not write the ticket index {self._path} ({exc}); " + _fix_for(exc)
            ) from None
        kept: dict[int, T] = {}
        for ticket_id, context, text in batch:
            kept[ticket_id] = value = shape.ready(context, text)
            self._remember(ticket_id, value)
        return kept

    def _remember(self, ticket_id: int, context: T) -> None:
        self._cache[ticket_id] = context
        self._cache.move_to_end(ticket_id)
        if len(self._cache) > CACHE_ENTRIES:
            self._cache.popitem(last=False)

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()


def _fix_for(exc: sqlite3.Error) -> str:
    """What to do about a failed write: room only if room is what it lacked. The index is a
    cache: deleting it costs requests, never rows."""
    text = str(exc).lower()
    if "full" in text or "disk i/o" in text:
        return "free some space and rerun."
    return "it is only a cache: delete it and rerun."


_SQLITE_HEADER = b"SQLite format 3\x00"


def _refuse_foreign_file(path: Path) -> None:
    """A file at the index's name that is not an SQLite database is someone else's: it is
    never deleted to make room for the cache (only a damaged database of ours is)."""
    try:
        with path.open("rb") as handle:
            head = handle.read(len(_SQLITE_HEADER))
    except FileNotFoundError:
        return
    except OSError as exc:
        raise OutputError(f"Could not read the ticket index {path} ({exc.strerror}).") from None
    if head and head != _SQLITE_HEADER:
        raise StateConflict(
            f"{path} is not a gorgias-export ticket index, so it is left as it is; move it "
            "away and rerun."
        )


def _is_index_table(name: str) -> bool:
    return name in ("tickets", "known_tickets") or name.startswith(
        ("tickets_v", "csv_ticket_parts_v")
    )


def _refuse_foreign_tables(db: sqlite3.Connection, path: Path | None, table: str) -> None:
    """A database with tables an index never has, or the index's table in another shape, is
    not our index (someone's own database at this name): refused, never emptied."""
    names = [row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
    columns = [row[1] for row in db.execute(f"PRAGMA table_info({table})")]
    foreign = [name for name in names if not _is_index_table(name)]
    if foreign or columns not in ([], ["id", "context"]):
        db.close()
        what = f"a table {foreign[0]}" if foreign else f"a table {table} of another shape"
        raise StateConflict(
            f"{path} holds {what}, so it is not a gorgias-export ticket index and is left as "
            "it is; move it away and rerun."
        )
