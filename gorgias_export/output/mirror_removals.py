"""What the deletion pass does to a SQLite mirror: rows of deleted or merged-away tickets and
customers leave every table, and each removal is logged in `_gorgias_export_deleted`.

Removed rather than marked, so that a naive `count(*)` or join over `tickets`, `messages`,
`conversations` or `customers` counts what the account has; the log keeps what went and why.
Every statement runs inside the store's open transaction, which the next checkpoint commits with
the pass's position: a crash leaves the mirror at the last checkpoint, and the rerun repeats
idempotent deletes.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from gorgias_export.output.sqlite_store import SqliteStore, quote

DELETED_TABLE = "_gorgias_export_deleted"
LISTED_TABLE = "_gorgias_export_listed"  # ids a reconciliation listed so far
RECOUNTED_TABLE = "_gorgias_export_recounted"  # tickets re-read at a given messages_count
BATCH = 500  # ids per statement, under SQLite's default variable limit
_SCHEMAS = {
    DELETED_TABLE: "kind TEXT NOT NULL, id INTEGER NOT NULL, how TEXT, merged_into INTEGER, "
    "event_id INTEGER, detected_at TEXT, PRIMARY KEY (kind, id)",
    LISTED_TABLE: "kind TEXT NOT NULL, id INTEGER NOT NULL, PRIMARY KEY (kind, id)",
    RECOUNTED_TABLE: "ticket_id INTEGER PRIMARY KEY, messages_count INTEGER",
}


@dataclass(frozen=True)
class Removal:
    """One ticket or customer the account no longer has."""

    kind: str  # "ticket" | "customer"
    id: int
    how: str  # the event's type ("ticket-merged", ...), or "reconcile"
    merged_into: int | None
    event_id: int | None
    detected_at: str

    def to_json(self) -> dict[str, Any]:
        return {
            "object": self.kind,
            "id": self.id,
            "how": self.how,
            "merged_into": self.merged_into,
            "event_id": self.event_id,
            "detected_at": self.detected_at,
        }


class MirrorRemovals:
    """One kind's table (`tickets` or `customers`) and what hangs off it, in one database."""

    def __init__(self, store: SqliteStore, kind: str) -> None:
        self._store = store
        self.kind = kind
        self.table = "tickets" if kind == "ticket" else "customers"

    def _db(self, *tables: str) -> Any:
        """The connection in its write transaction, with these bookkeeping tables created: only
        when first needed, so that a mirror nothing was removed from keeps the tables it had."""
        db = self._store._begin()
        for table in tables:
            db.execute(f"CREATE TABLE IF NOT EXISTS {table} ({_SCHEMAS[table]})")
        return db

    def _has(self, table: str) -> bool:
        return bool(self._store._columns(table))

    def _ids_in(self, table: str, column: str, ids: Iterable[int]) -> set[int]:
        """Which of these ids `table` holds in `column` (none if there is no such table yet),
        asked BATCH at a time."""
        wanted = sorted(set(ids))
        if not wanted or not self._has(table):
            return set()
        found: set[int] = set()
        with self._store.guarded():
            db = self._db()
            for part in _parts(wanted):
                marks = ",".join("?" * len(part))
                sql = f"SELECT DISTINCT {column} FROM {quote(table)} WHERE {column} IN ({marks})"
                found.update(row[0] for row in db.execute(sql, part))
        return found

    def _ids_where(self, table: str, sql: str, args: Sequence[Any]) -> list[int]:
        """The first column of `sql`, a query of `table` (nothing if there is no such table)."""
        if not self._has(table):
            return []
        with self._store.guarded():
            return [row[0] for row in self._db().execute(sql, args)]

    def present(self, ids: Iterable[int]) -> set[int]:
        """Which of these ids the mirror holds."""
        return self._ids_in(self.table, "id", ids)

    def tickets_of_customer(self, customer_id: int) -> list[int]:
        """Mirrored tickets naming this customer (a customer's deletion may take them)."""
        if self.kind != "ticket":
            return []
        sql = "SELECT id FROM tickets WHERE json_extract(customer, '$.id') = ?"
        return self._ids_where("tickets", sql, (customer_id,))

    def remove(self, removals: Sequence[Removal]) -> None:
        """The rows leave every table; the log keeps one line per object."""
        if not removals:
            return
        with self._store.guarded():
            db = self._db(DELETED_TABLE)
            ids = [r.id for r in removals]
            for part in _parts(ids):
                marks = ",".join("?" * len(part))
                if self._has(self.table):
                    db.execute(f"DELETE FROM {quote(self.table)} WHERE id IN ({marks})", part)
                if self.kind == "ticket":
                    # ticket_summary: `tickets --per ticket` into the same or its own database
                    for table in ("messages", "conversations", "ticket_summary"):
                        if self._has(table):
                            sql = f"DELETE FROM {table} WHERE ticket_id IN ({marks})"
                            db.execute(sql, part)
            db.executemany(
                f"INSERT OR REPLACE INTO {DELETED_TABLE} VALUES (?, ?, ?, ?, ?, ?)",
                [(r.kind, r.id, r.how, r.merged_into, r.event_id, r.detected_at) for r in removals],
            )

    # -- tickets whose messages_count the mirror does not match ------------------------------

    def mismatched(self, limit: int) -> list[tuple[int, int]]:
        """(ticket id, messages_count) of tickets whose mirrored messages are not as many as
        their messages_count says, leaving out those already re-read at that count."""
        if not self._can_recount():
            return []
        with self._store.guarded():
            db = self._db()
            return [(row[0], row[1]) for row in db.execute(self.mismatch_sql(), (limit,))]

    def _can_recount(self) -> bool:
        """Whether the store holds what `mismatch_sql` reads."""
        return self.kind == "ticket" and self._has("tickets")

    def mismatch_sql(self) -> str:
        # One lookup per ticket in messages_by_ticket_id. `+ 0`: without it, t.id's INTEGER
        # affinity is applied to the untyped ticket_id column, and SQLite then scans every
        # message for every ticket (hours on 100,000 tickets, 0.4 s with it).
        counted = (
            "(SELECT count(*) FROM messages m WHERE m.ticket_id = t.id + 0)"
            if self._has("messages")
            else "0"
        )
        if not self._has(RECOUNTED_TABLE):  # none re-read yet
            return (
                "SELECT t.id, t.messages_count FROM tickets t WHERE "
                f"typeof(t.messages_count) = 'integer' AND t.messages_count != {counted} "
                "ORDER BY t.id LIMIT ?"
            )
        return (
            f"SELECT t.id, t.messages_count FROM tickets t "
            f"LEFT JOIN {RECOUNTED_TABLE} r ON r.ticket_id = t.id "
            f"WHERE typeof(t.messages_count) = 'integer' AND t.messages_count != {counted} "
            "AND (r.messages_count IS NULL OR r.messages_count != t.messages_count) "
            "ORDER BY t.id LIMIT ?"
        )

    def message_ids(self, ticket_id: int) -> set[int]:
        sql = "SELECT id FROM messages WHERE ticket_id = ?"
        return set(self._ids_where("messages", sql, (ticket_id,)))

    def drop_messages(self, message_ids: Iterable[int]) -> None:
        """Messages the API no longer lists under their ticket, with their conversation rows."""
        wanted = sorted(message_ids)
        with self._store.guarded():
            db = self._db()
            for part in _parts(wanted):
                marks = ",".join("?" * len(part))
                db.execute(f"DELETE FROM messages WHERE id IN ({marks})", part)
                if self._has("conversations"):
                    keys = [f"m:{i}" for i in part]
                    db.execute(f"DELETE FROM conversations WHERE row_id IN ({marks})", keys)

    def note_recount(self, ticket_id: int, messages_count: int) -> None:
        """Re-read at this count: not again unless the count changes (an account whose count
        never matches would otherwise cost a re-read every run)."""
        with self._store.guarded():
            self._db(RECOUNTED_TABLE).execute(
                f"INSERT OR REPLACE INTO {RECOUNTED_TABLE} VALUES (?, ?)",
                (ticket_id, messages_count),
            )

    # -- a reconciliation's listing ------------------------------------------------------------

    def note_listed(self, ids: Iterable[int]) -> None:
        with self._store.guarded():
            self._db(LISTED_TABLE).executemany(
                f"INSERT OR IGNORE INTO {LISTED_TABLE} VALUES (?, ?)",
                [(self.kind, i) for i in ids],
            )

    def unlisted(self) -> list[int]:
        """Mirrored ids the finished listing did not show."""
        if not self._has(self.table):
            return []
        sql = (
            f"SELECT id FROM {quote(self.table)} WHERE id NOT IN "
            f"(SELECT id FROM {LISTED_TABLE} WHERE kind = ?) ORDER BY id"
        )
        with self._store.guarded():
            return [row[0] for row in self._db(LISTED_TABLE).execute(sql, (self.kind,))]

    def clear_listed(self) -> None:
        with self._store.guarded():
            if self._has(LISTED_TABLE):
                self._db().execute(f"DELETE FROM {LISTED_TABLE} WHERE kind = ?", (self.kind,))

    def count(self) -> int:
        return self._store.row_count(self.table)


def _parts(ids: Sequence[Any]) -> Iterable[list[Any]]:
    for start in range(0, len(ids), BATCH):
        yield list(ids[start : start + BATCH])
