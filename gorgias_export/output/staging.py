"""The staging database of `tickets --per ticket`: raw tickets and messages, and which tickets a
run touched, so that each ticket can be written whole once every message is in hand.

Upserts are idempotent and only what changed marks a ticket as touched, so a page staged twice
(after a crash between the staging commit and the state save) or the overlap a rerun reads again
changes nothing. What no checkpoint committed is rolled back on close.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from gorgias_export.errors import OutputError
from gorgias_export.fastjson import dumps_storable, loads
from gorgias_export.timeutil import sort_key

_SCHEMA = """
CREATE TABLE IF NOT EXISTS tickets (
    id INTEGER PRIMARY KEY, created TEXT NOT NULL, body TEXT NOT NULL, touched INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS tickets_touched ON tickets (touched, created, id);
CREATE TABLE IF NOT EXISTS messages (
    id INTEGER PRIMARY KEY, ticket_id INTEGER, created TEXT NOT NULL, body TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS messages_of_ticket ON messages (ticket_id, created, id);
CREATE TABLE IF NOT EXISTS surveys (
    id INTEGER PRIMARY KEY, ticket_id INTEGER, created TEXT NOT NULL, body TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS surveys_of_ticket ON surveys (ticket_id, created, id);
CREATE TABLE IF NOT EXISTS summary_columns (
    position INTEGER PRIMARY KEY, name TEXT NOT NULL, field_id INTEGER
);
"""


class ConversationStage:
    """The staging database: raw tickets and messages, and which tickets a run touched."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.run = 0
        try:
            self._db = sqlite3.connect(str(path), isolation_level=None)
            self._db.executescript(_SCHEMA)
        except sqlite3.Error as exc:
            raise OutputError(
                f"Could not open the staging database {path} ({exc}); delete it and rerun "
                "with --fresh."
            ) from None
        self._db.execute("BEGIN")

    # The Mirror protocol of export.ConversationExport: raw items of each page. Only what
    # changed marks a ticket as touched: the overlap a rerun reads again writes nothing.
    def tickets(self, items: list[dict[str, Any]]) -> None:
        bodies = {t["id"]: dumps_storable(t) for t in items if isinstance(t.get("id"), int)}
        changed = self._changed("tickets", bodies)
        self._guard(
            lambda: self._db.executemany(
                "INSERT INTO tickets (id, created, body, touched) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (id) DO UPDATE SET created = excluded.created, "
                "body = excluded.body, touched = excluded.touched",
                [
                    (t["id"], sort_key(t.get("created_datetime")), bodies[t["id"]], self.run)
                    for t in items
                    if t.get("id") in changed
                ],
            )
        )

    def messages(self, items: list[dict[str, Any]]) -> None:
        by_id = {m["id"]: m for m in items if isinstance(m.get("id"), int)}
        bodies = {mid: dumps_storable(m) for mid, m in by_id.items()}
        changed = self._changed("messages", bodies)
        rows = [
            (
                mid,
                by_id[mid].get("ticket_id"),
                sort_key(by_id[mid].get("created_datetime")),
                bodies[mid],
            )
            for mid in changed
        ]
        self._guard(
            lambda: self._db.executemany(
                "INSERT INTO messages (id, ticket_id, created, body) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (id) DO UPDATE SET body = excluded.body",
                rows,
            )
        )
        touched = {(self.run, row[1]) for row in rows if isinstance(row[1], int)}
        self._guard(
            lambda: self._db.executemany("UPDATE tickets SET touched = ? WHERE id = ?", touched)
        )

    def surveys(self, items: list[dict[str, Any]], touch: bool = True) -> None:
        """Satisfaction surveys, for the summary. With `touch`, one whose figures changed (a
        score given, say) touches its ticket, so that its row is written again; without it
        (the first run of an export staged before summaries existed) they are only recorded."""
        by_id = {s["id"]: s for s in items if isinstance(s.get("id"), int)}
        bodies = {sid: dumps_storable(s) for sid, s in by_id.items()}
        stored = self._stored("surveys", list(bodies))
        changed = [sid for sid, body in bodies.items() if stored.get(sid) != body]
        rows = [
            (sid, by_id[sid].get("ticket_id"), sort_key(by_id[sid].get("created_datetime")), body)
            for sid, body in bodies.items()
            if sid in changed
        ]
        self._guard(
            lambda: self._db.executemany(
                "INSERT INTO surveys (id, ticket_id, created, body) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (id) DO UPDATE SET ticket_id = excluded.ticket_id, "
                "created = excluded.created, body = excluded.body",
                rows,
            )
        )
        if not touch:
            return
        touched = {
            (self.run, by_id[sid].get("ticket_id"))
            for sid in changed
            if isinstance(by_id[sid].get("ticket_id"), int)
            and _figures(by_id[sid]) != _figures(loads(stored[sid]) if sid in stored else {})
        }
        self._guard(
            lambda: self._db.executemany("UPDATE tickets SET touched = ? WHERE id = ?", touched)
        )

    def survey_of(self, ticket_id: int) -> str | None:
        """The ticket's survey (the latest created, should there be several), as JSON."""
        found = self._db.execute(
            "SELECT body FROM surveys WHERE ticket_id = ? ORDER BY created DESC, id DESC LIMIT 1",
            (ticket_id,),
        ).fetchone()
        return found[0] if found else None

    def summary_columns(self) -> list[tuple[str, int | None]] | None:
        """The custom field columns (name, field id) the export's first run chose; None until
        then. Kept here, with the staged pages, so that every run writes the same columns."""
        rows = self._db.execute("SELECT name, field_id FROM summary_columns ORDER BY position")
        found = list(rows)
        has_marker = any(name == "" for name, _ in found)
        return [(n, f) for n, f in found if n != ""] if has_marker else None

    def save_summary_columns(self, columns: list[tuple[str, int | None]]) -> None:
        # A marker row first, so that "no custom fields" is told from "not chosen yet".
        rows = [(0, "", None)] + [(i + 1, n, f) for i, (n, f) in enumerate(columns)]
        self._guard(lambda: self._db.execute("DELETE FROM summary_columns"))
        self._guard(
            lambda: self._db.executemany(
                "INSERT INTO summary_columns (position, name, field_id) VALUES (?, ?, ?)", rows
            )
        )

    def _changed(self, table: str, bodies: dict[int, str]) -> set[int]:
        """The ids among `bodies` that are new to `table` or whose JSON differs."""
        stored = self._stored(table, list(bodies))
        return {item_id for item_id, body in bodies.items() if stored.get(item_id) != body}

    def _stored(self, table: str, ids: list[int]) -> dict[int, str]:
        if not ids:
            return {}
        marks = ",".join("?" * len(ids))
        return dict(
            self._guard(
                lambda: self._db.execute(
                    f"SELECT id, body FROM {table} WHERE id IN ({marks})", ids
                ).fetchall()
            )
        )

    def clear(self) -> None:
        # Two statements, not executescript, which would commit the open transaction first.
        self._guard(lambda: self._db.execute("DELETE FROM tickets"))
        self._guard(lambda: self._db.execute("DELETE FROM messages"))
        self._guard(lambda: self._db.execute("DELETE FROM surveys"))
        self._guard(lambda: self._db.execute("DELETE FROM summary_columns"))

    def commit(self) -> None:
        """Make the staged pages durable (before the state that counts them is saved)."""
        self._guard(lambda: (self._db.execute("COMMIT"), self._db.execute("BEGIN")))

    def touched_after(
        self, after: tuple[str, int] | None, limit: int
    ) -> list[tuple[str, int, str]]:
        """(created, id, ticket JSON) of the tickets this run touched, after `after`."""
        created, ticket_id = after or ("", -1)
        cursor = self._db.execute(
            "SELECT created, id, body FROM tickets WHERE touched = ? AND (created, id) > (?, ?) "
            "ORDER BY created, id LIMIT ?",
            (self.run, created, ticket_id, limit),
        )
        return list(cursor)

    def count_touched_after(self, after: tuple[str, int] | None) -> int:
        """How many tickets `touched_after` has left to give (for the progress display)."""
        created, ticket_id = after or ("", -1)
        cursor = self._db.execute(
            "SELECT count(*) FROM tickets WHERE touched = ? AND (created, id) > (?, ?)",
            (self.run, created, ticket_id),
        )
        return int(cursor.fetchone()[0])

    def messages_of(self, ticket_id: int) -> Iterable[str]:
        cursor = self._db.execute(
            "SELECT body FROM messages WHERE ticket_id = ? ORDER BY created, id", (ticket_id,)
        )
        return (body for (body,) in cursor)

    def close(self) -> None:
        # Only what a checkpoint committed stays: the rerun gathers the rest again.
        with contextlib.suppress(sqlite3.Error):
            self._db.execute("ROLLBACK")
        self._db.close()

    def _guard(self, action: Any) -> Any:
        try:
            return action()
        except sqlite3.Error as exc:
            raise OutputError(
                f"Could not write the staging database {self.path} ({exc}); free some space, "
                "then rerun to continue."
            ) from None


def _figures(survey: dict[str, Any]) -> tuple[Any, ...]:
    """What a ticket's summary shows of its survey: a change elsewhere rewrites no row."""
    return (survey.get("score"), survey.get("body_text"), survey.get("scored_datetime"))
