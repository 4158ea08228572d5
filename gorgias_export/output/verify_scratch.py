"""The scratch database of `verify`: both sides of the comparison on disk, not in memory.

An export can hold millions of rows, and naming a duplicated message needs every message id
seen so far: a set of them would grow with the export. So the rows read from the export and the
tickets listed from the account go to a temporary SQLite file (a bounded page cache, no journal,
no fsync: it is thrown away at the end), and the comparison is a few queries over it.
"""

from __future__ import annotations

import sqlite3
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

# What a report says of one named id, from its query row.
Say = Callable[[tuple[Any, ...]], str]

# Rows are inserted in batches: one executemany per batch instead of one call per row.
_BATCH = 10_000
_CACHE_KIB = 16 * 1024  # the page cache's bound; the operating system caches the rest

_SCHEMA = (
    # One row per message row read from the export (a duplicate is two rows), with the line
    # (or row number) it came from: `--per ticket` keeps only each ticket's last line.
    "CREATE TABLE export_rows (message_id INTEGER NOT NULL, ticket_id INTEGER NOT NULL, "
    "line INTEGER NOT NULL)",
    # Every ticket the export names, with or without messages; for `--per ticket`, the line
    # that is current (the last one of its id).
    "CREATE TABLE export_tickets (ticket_id INTEGER PRIMARY KEY, line INTEGER NOT NULL)",
    # The account's tickets, as the listing gives them; times as `timeutil.sort_key` writes
    # them, so that comparing strings compares instants.
    "CREATE TABLE account (ticket_id INTEGER PRIMARY KEY, messages_count INTEGER, "
    "created TEXT NOT NULL, updated TEXT NOT NULL)",
    # Tickets the account's events say were deleted or merged away since the export.
    "CREATE TABLE gone (ticket_id INTEGER PRIMARY KEY, how TEXT NOT NULL)",
    # Tickets the export's own deletions log records as gone (a file export is an append log:
    # their rows stay); a merged one's rows count for the ticket it went into.
    "CREATE TABLE recorded (ticket_id INTEGER PRIMARY KEY, merged_into INTEGER)",
    "CREATE TABLE owners (ticket_id INTEGER PRIMARY KEY, owner INTEGER NOT NULL)",
)
_MERGE_LINKS = 8  # a merge of a merge of ...: followed this far


@dataclass(frozen=True)
class Named:
    """A category of the report: how many, and the first ids (with what to say of each)."""

    count: int
    shown: list[tuple[int, str]]


class VerifyScratch:
    """Rows in (`message`, `ticket`, `listed`, `gone`), then `finish` and the queries."""

    def __init__(self, directory: Path | None = None) -> None:
        self._dir = tempfile.TemporaryDirectory(prefix="gorgias-verify-", dir=directory)
        self._db = sqlite3.connect(Path(self._dir.name) / "verify.sqlite", isolation_level=None)
        pragmas = ("journal_mode = OFF", "synchronous = OFF", "temp_store = FILE")
        for pragma in (*pragmas, f"cache_size = -{_CACHE_KIB}"):
            self._db.execute(f"PRAGMA {pragma}")
        self._db.execute("BEGIN")
        for statement in _SCHEMA:
            self._db.execute(statement)
        self._messages: list[tuple[int, int, int]] = []
        self._tickets: list[tuple[int, int]] = []

    def __enter__(self) -> VerifyScratch:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self._db.close()
        self._dir.cleanup()

    # -- the export's side ---------------------------------------------------------------------

    def message(self, ticket_id: int, message_id: int, line: int) -> None:
        self._messages.append((message_id, ticket_id, line))
        if len(self._messages) >= _BATCH:
            self._flush_messages()

    def ticket(self, ticket_id: int, line: int) -> None:
        """A ticket the export names at `line`; a later line of the same id replaces it."""
        self._tickets.append((ticket_id, line))
        if len(self._tickets) >= _BATCH:
            self._flush_tickets()

    def _flush_messages(self) -> None:
        self._db.executemany("INSERT INTO export_rows VALUES (?, ?, ?)", self._messages)
        self._messages.clear()

    def _flush_tickets(self) -> None:
        self._db.executemany(
            "INSERT INTO export_tickets VALUES (?, ?) ON CONFLICT(ticket_id) DO UPDATE "
            "SET line = max(line, excluded.line)",
            self._tickets,
        )
        self._tickets.clear()

    def keep_current_lines(self) -> None:
        """`--per ticket`: only each ticket's last line counts; earlier lines' messages go."""
        self._flush_export()
        self._db.execute(
            "DELETE FROM export_rows WHERE line NOT IN (SELECT line FROM export_tickets)"
        )

    def _flush_export(self) -> None:
        self._flush_messages()
        self._flush_tickets()

    # -- the account's side --------------------------------------------------------------------

    def listed(self, tickets: list[tuple[int, int | None, str, str]]) -> None:
        """A page of the account's tickets: (id, messages_count, created, updated)."""
        self._db.executemany("INSERT OR REPLACE INTO account VALUES (?, ?, ?, ?)", tickets)

    def gone(self, ticket_id: int, how: str) -> None:
        self._db.execute("INSERT OR REPLACE INTO gone VALUES (?, ?)", (ticket_id, how))

    # -- the comparison ------------------------------------------------------------------------

    def recorded(self, ticket_id: int, merged_into: int | None) -> None:
        self._db.execute("INSERT OR REPLACE INTO recorded VALUES (?, ?)", (ticket_id, merged_into))

    def finish(self) -> None:
        """Both sides read: count each exported ticket's distinct messages, once. The rows of a
        ticket the deletions log records as merged count for the ticket it went into; those of
        one it records as deleted, for none."""
        self._flush_export()
        db = self._db
        db.execute(
            "INSERT INTO owners SELECT ticket_id, merged_into FROM recorded "
            "WHERE merged_into IS NOT NULL"
        )
        for _ in range(_MERGE_LINKS):
            db.execute(
                "UPDATE owners SET owner = (SELECT o.owner FROM owners o "
                "WHERE o.ticket_id = owners.owner) WHERE owner IN (SELECT ticket_id FROM owners)"
            )
        db.execute("CREATE TABLE counts (ticket_id INTEGER PRIMARY KEY, n INTEGER NOT NULL)")
        db.execute(
            "INSERT INTO counts "
            "WITH owned AS (SELECT coalesce(o.owner, r.ticket_id) AS owner, r.message_id "
            "  FROM export_rows r LEFT JOIN owners o USING (ticket_id) WHERE r.ticket_id "
            "  NOT IN (SELECT ticket_id FROM recorded WHERE merged_into IS NULL)),"
            " kept AS (SELECT ticket_id FROM export_tickets "
            "  WHERE ticket_id NOT IN (SELECT ticket_id FROM recorded) "
            "  UNION SELECT owner FROM owned) "
            "SELECT k.ticket_id, coalesce(m.n, 0) FROM kept k LEFT JOIN "
            "(SELECT owner, count(DISTINCT message_id) AS n FROM owned GROUP BY owner) m "
            "ON m.owner = k.ticket_id"
        )

    def recorded_tickets(self, limit: int) -> Named:
        """Tickets of the export that its deletions log records as deleted or merged."""
        return self._named(
            "SELECT r.ticket_id, r.merged_into FROM recorded r "
            "JOIN export_tickets USING (ticket_id)",
            limit,
            lambda row: "deleted" if row[1] is None else f"merged into {row[1]}",
        )

    def exported_tickets(self) -> int:
        return self._scalar("SELECT count(*) FROM export_tickets")

    def exported_messages(self) -> int:
        return self._scalar("SELECT coalesce(sum(n), 0) FROM counts")

    def listed_tickets(self) -> int:
        return self._scalar("SELECT count(*) FROM account")

    def duplicates(self, limit: int) -> Named:
        """Message ids on more than one row."""
        # A merged ticket's rows stay in an append log, and the ticket it went into may get
        # the same messages again: that is the log's record, not a row written twice.
        query = (
            "SELECT message_id, count(*) FROM export_rows WHERE ticket_id NOT IN "
            "(SELECT ticket_id FROM recorded) GROUP BY message_id HAVING count(*) > 1"
        )
        return self._named(query, limit, lambda row: f"{row[1]} rows")

    def missing_tickets(self, as_of: str, limit: int) -> Named:
        """In the account, created before the export's time, and not in the export."""
        return self._named(
            "SELECT a.ticket_id FROM account a LEFT JOIN counts c USING (ticket_id) "
            "WHERE c.ticket_id IS NULL AND a.created <= ?",
            limit,
            lambda row: "",
            (as_of,),
        )

    def new_tickets(self, as_of: str, limit: int) -> Named:
        """In the account, not in the export, created after the export's time."""
        return self._named(
            "SELECT a.ticket_id FROM account a LEFT JOIN counts c USING (ticket_id) "
            "WHERE c.ticket_id IS NULL AND a.created > ?",
            limit,
            lambda row: "",
            (as_of,),
        )

    def count_mismatches(self, as_of: str, which: str, limit: int) -> Named:
        """Tickets in both whose message counts differ. `which`: "changed", those updated
        after the export's time (a rerun brings them); else those the export has "fewer" or
        "more" messages of, though the account did not change them since."""
        when = {
            "changed": "a.updated > ?",
            "fewer": "a.updated <= ? AND c.n < a.messages_count",
            "more": "a.updated <= ? AND c.n > a.messages_count",
        }[which]
        return self._named(
            "SELECT a.ticket_id, c.n, a.messages_count FROM account a JOIN counts c "
            f"USING (ticket_id) WHERE a.messages_count IS NOT c.n AND {when}",
            limit,
            lambda row: f"{row[1]} of {row[2]} messages",
            (as_of,),
        )

    def unlisted_tickets(self, gone: bool, limit: int) -> Named:
        """In the export, not in the account: `gone` says whether those the events say were
        deleted or merged since the export's time, or the others."""
        where = "g.ticket_id IS NOT NULL" if gone else "g.ticket_id IS NULL"
        return self._named(
            "SELECT c.ticket_id, g.how FROM counts c LEFT JOIN account a USING (ticket_id) "
            f"LEFT JOIN gone g USING (ticket_id) WHERE a.ticket_id IS NULL AND {where}",
            limit,
            lambda row: row[1] or "",
        )

    def _named(self, query: str, limit: int, say: Say, params: tuple[object, ...] = ()) -> Named:
        count = self._scalar(f"SELECT count(*) FROM ({query})", params)
        rows = self._db.execute(f"{query} ORDER BY 1 LIMIT ?", (*params, limit)).fetchall()
        return Named(count, [(int(row[0]), str(say(row))) for row in rows])

    def _scalar(self, query: str, params: tuple[object, ...] = ()) -> int:
        value = self._db.execute(query, params).fetchone()[0]
        return int(value or 0)
