"""Ticket context by id, on disk, so the message/ticket join uses bounded memory at any size.

SQLite (standard library) holds every ticket's row context; a small LRU in front serves the
common case of consecutive messages of one ticket. It is a cache: losing it costs requests
(missing contexts are fetched in batches), never rows, so it is not part of the checkpoint.
"""

from __future__ import annotations

import json
import sqlite3
from collections import OrderedDict
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from gorgias_export import fastjson
from gorgias_export.errors import OutputError

CACHE_ENTRIES = 2048
QUERY_IDS = 500  # ids per SELECT, well under SQLite's limit on parameters


class TicketIndex:
    """id → ticket context, persistent across runs of one export."""

    def __init__(self, path: Path | None) -> None:
        self._path = path
        self._connection: sqlite3.Connection | None = None  # opened on first use
        self._cache: OrderedDict[int, dict[str, Any]] = OrderedDict()

    @property
    def _db(self) -> sqlite3.Connection:
        if self._connection is None:
            self._connection = self._open_or_rebuild()
        return self._connection

    def _open_or_rebuild(self) -> sqlite3.Connection:
        path = self._path
        target = str(path) if path is not None else ":memory:"
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

    @staticmethod
    def _open(target: str) -> sqlite3.Connection:
        db = sqlite3.connect(target)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")  # a crash may lose recent entries: only a cost
        db.execute("CREATE TABLE IF NOT EXISTS tickets (id INTEGER PRIMARY KEY, context TEXT)")
        db.execute("SELECT count(*) FROM tickets").fetchone()  # surfaces a corrupt file now
        return db

    def get(self, ticket_id: int) -> dict[str, Any] | None:
        return self.get_many([ticket_id]).get(ticket_id)

    def get_many(self, ticket_ids: Iterable[int]) -> dict[int, dict[str, Any]]:
        """The contexts of these ids that the index holds: from memory, then one query for the
        rest (a query per id was most of the join's time once a walk left the cache behind)."""
        found: dict[int, dict[str, Any]] = {}
        missing: list[int] = []
        for ticket_id in ticket_ids:
            cached = self._cache.get(ticket_id)
            if cached is not None:
                self._cache.move_to_end(ticket_id)
                found[ticket_id] = cached
            else:
                missing.append(ticket_id)
        for start in range(0, len(missing), QUERY_IDS):
            batch = missing[start : start + QUERY_IDS]
            marks = ",".join("?" * len(batch))
            query = f"SELECT id, context FROM tickets WHERE id IN ({marks})"
            for ticket_id, text in self._db.execute(query, batch).fetchall():
                context = fastjson.loads(text)
                self._remember(ticket_id, context)
                found[ticket_id] = context
        return found

    def put_many(self, contexts: Iterable[tuple[int, dict[str, Any]]]) -> None:
        batch = [(ticket_id, context) for ticket_id, context in contexts]
        try:
            with self._db:
                self._db.executemany(
                    "INSERT OR REPLACE INTO tickets (id, context) VALUES (?, ?)",
                    [(tid, _serialized(ctx)) for tid, ctx in batch],
                )
        except sqlite3.Error as exc:
            raise OutputError(
                f"Could not write the ticket index ({exc}); free some space and rerun."
            ) from None
        for ticket_id, context in batch:
            self._remember(ticket_id, context)

    def _remember(self, ticket_id: int, context: dict[str, Any]) -> None:
        self._cache[ticket_id] = context
        self._cache.move_to_end(ticket_id)
        if len(self._cache) > CACHE_ENTRIES:
            self._cache.popitem(last=False)

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()


def _serialized(context: dict[str, Any]) -> bytes:
    """The stored form of a context: compact UTF-8 JSON, read back by `fastjson.loads`."""
    return fastjson.dumps(context) or json.dumps(context).encode("ascii")
