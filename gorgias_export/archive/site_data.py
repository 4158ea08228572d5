"""What the archive's pages are made of, read from the SQLite mirror and the attachments manifest.

The mirror is `all --format sqlite`'s database: `tickets` and `messages` hold the API's objects
(nested values as JSON text), `satisfaction_surveys` the surveys. The manifest
(`DIR/manifest.jsonl`, written by the attachments step) says where each attachment's file is,
relative to DIR, and whether it could be fetched. Both are read, never written.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gorgias_export.errors import OutputError

MANIFEST_NAME = "manifest.jsonl"
# Columns the pages need; the rest of a row stays in the database.
TICKET_COLUMNS = (
    "id",
    "subject",
    "status",
    "channel",
    "customer",
    "assignee_user",
    "tags",
    "spam",
    "created_datetime",
    "updated_datetime",
    "closed_datetime",
    "trashed_datetime",
)
MESSAGE_COLUMNS = (
    "id",
    "ticket_id",
    "public",
    "channel",
    "from_agent",
    "sender",
    "source",
    "subject",
    "body_text",
    "body_html",
    "stripped_text",
    "attachments",
    "created_datetime",
    "sent_datetime",
)


@dataclass
class Attachment:
    name: str
    content_type: str
    size: int | None
    url: str
    path: str | None = None  # relative to DIR, when the file was fetched
    status: str | None = None  # ok, gone, forbidden, too_large; None: no manifest row


@dataclass
class Conversation:
    """One ticket as its page shows it."""

    ticket: dict[str, Any]
    messages: list[dict[str, Any]] = field(default_factory=list)
    survey: dict[str, Any] | None = None


def json_columns(db: sqlite3.Connection, table: str) -> frozenset[str]:
    """The columns of `table` that the mirror keeps as JSON text: declared `TEXT` and not
    the key (table_sink: a JSON column is `TEXT`, every other column has no declared type).
    Each of their values is JSON, a string too (the string `[]` is stored with its quotes), so
    decoding them is exact; a value of any other column is free text, kept as it is however
    much it looks like JSON (a subject `[]`)."""
    quoted = '"' + table.replace('"', '""') + '"'
    return frozenset(
        row[1]
        for row in db.execute(f"PRAGMA table_info({quoted})")
        if str(row[2]).upper() == "TEXT" and not row[5]
    )


def decoded(value: Any) -> Any:
    """A value of a JSON column (json_columns), back as an object; one that does not parse (a
    column another tool wrote) as it is."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


class Mirror:
    """Read-only access to the archive's database."""

    def __init__(self, database: Path) -> None:
        if not database.is_file():
            raise OutputError(f"{database} does not exist: the data step has not run yet.")
        uri = database.resolve().as_uri() + "?mode=ro"
        self._db = sqlite3.connect(uri, uri=True)
        self._db.row_factory = sqlite3.Row
        self._columns = {table: self._table_columns(table) for table in ("tickets", "messages")}
        self._json = {table: json_columns(self._db, table) for table in ("tickets", "messages")}

    def close(self) -> None:
        self._db.close()

    def _table_columns(self, table: str) -> set[str]:
        return {row[1] for row in self._db.execute(f'PRAGMA table_info("{table}")')}

    def _select(self, table: str, wanted: tuple[str, ...]) -> str:
        have = self._columns[table]
        return ", ".join(f'"{c}"' if c in have else f'NULL AS "{c}"' for c in wanted)

    def _value(self, table: str, column: str, value: Any) -> Any:
        return decoded(value) if column in self._json[table] else value

    def ticket_count(self) -> int:
        if not self._columns["tickets"]:
            return 0
        return int(self._db.execute("SELECT count(*) FROM tickets").fetchone()[0])

    def conversations(self) -> Iterator[Conversation]:
        """Every ticket with its messages (oldest first) and latest survey, by ticket id.

        Three scans in ticket order, merged, so memory holds one ticket at a time, whatever
        the account."""
        if not self._columns["tickets"]:
            return
        tickets = self._db.execute(
            f"SELECT {self._select('tickets', TICKET_COLUMNS)} FROM tickets ORDER BY id"
        )
        messages = _Merge(self._messages())
        surveys = _Merge(self._surveys())
        for row in tickets:
            ticket = {k: self._value("tickets", k, row[k]) for k in TICKET_COLUMNS}
            found = surveys.take(ticket["id"])
            conversation = Conversation(ticket, messages.take(ticket["id"]))
            conversation.survey = found[-1] if found else None  # the latest
            conversation.messages.sort(key=lambda m: (m["created_datetime"] or "", m["id"]))
            yield conversation

    def _messages(self) -> Iterator[dict[str, Any]]:
        if not self._columns["messages"]:
            return
        rows = self._db.execute(
            f"SELECT {self._select('messages', MESSAGE_COLUMNS)} FROM messages "
            "WHERE typeof(ticket_id) = 'integer' ORDER BY ticket_id, id"
        )
        for row in rows:
            yield {k: self._value("messages", k, row[k]) for k in MESSAGE_COLUMNS}

    def _surveys(self) -> Iterator[dict[str, Any]]:
        if not self._table_columns("satisfaction_surveys"):
            return
        rows = self._db.execute(
            "SELECT ticket_id, score, body_text, scored_datetime, created_datetime "
            "FROM satisfaction_surveys WHERE typeof(ticket_id) = 'integer' "
            "ORDER BY ticket_id, created_datetime, id"
        )
        for row in rows:
            yield dict(row)


class _Merge:
    """Rows sorted by ticket id, handed out ticket by ticket as the tickets come (in id order);
    rows of a ticket the mirror does not hold are skipped."""

    def __init__(self, rows: Iterator[dict[str, Any]]) -> None:
        self._rows = rows
        self._next = next(rows, None)

    def take(self, ticket_id: int) -> list[dict[str, Any]]:
        while self._next is not None and self._next["ticket_id"] < ticket_id:
            self._next = next(self._rows, None)
        taken = []
        while self._next is not None and self._next["ticket_id"] == ticket_id:
            taken.append(self._next)
            self._next = next(self._rows, None)
        return taken


def read_manifest(out_dir: Path) -> dict[int, list[Attachment]]:
    """The attachments step's rows by message id (a later row for the same file wins); empty
    when the step has not run. A line that does not parse (cut by a kill) is skipped."""
    path = out_dir / MANIFEST_NAME
    found: dict[int, dict[str, Attachment]] = {}
    try:
        handle = path.open(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise OutputError(f"Could not read {path} ({exc.strerror}).") from None
    with handle:
        for line in handle:
            try:
                row = json.loads(line)
                message_id = int(row["message_id"])
            except (ValueError, KeyError, TypeError):
                continue
            attachment = Attachment(
                name=str(row.get("name") or ""),
                content_type=str(row.get("content_type") or ""),
                size=row.get("size") if isinstance(row.get("size"), int) else None,
                url=str(row.get("url") or ""),
                path=row.get("path") if isinstance(row.get("path"), str) else None,
                status=str(row.get("status") or ""),
            )
            found.setdefault(message_id, {})[attachment.url or attachment.name] = attachment
    return {mid: list(rows.values()) for mid, rows in found.items()}


def attachments_of(
    message: dict[str, Any], manifest: dict[int, list[Attachment]]
) -> list[Attachment]:
    """A message's attachments: the manifest's rows when it has them, else the message's own
    list (names and URLs, no local file)."""
    listed = manifest.get(message["id"])
    if listed:
        return listed
    own = message.get("attachments")
    if not isinstance(own, list):
        return []
    return [
        Attachment(
            name=str(a.get("name") or ""),
            content_type=str(a.get("content_type") or ""),
            size=a.get("size") if isinstance(a.get("size"), int) else None,
            url=str(a.get("url") or ""),
        )
        for a in own
        if isinstance(a, dict)
    ]
