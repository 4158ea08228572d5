"""Reading a `tickets` export back, streamed, for `verify`: which tickets and messages it holds.

One reader per format the exporter writes, each a function that reads the file once, front to
back, and hands every row's ticket id and message id to the scratch database: nothing grows in
memory with the export. A format added to the exporter is one more function here and one more
entry in `READERS`.

A row that cannot be read (a line torn by a crash, an edit that broke the quoting, an id that
is not a number) is counted and named, not fatal: that is something the report should say.
"""

from __future__ import annotations

import contextlib
import csv
import io
import sqlite3
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gorgias_export import fastjson
from gorgias_export.errors import OutputError
from gorgias_export.output.verify_scratch import VerifyScratch
from gorgias_export.output.workbook_reader import workbook_rows

_SHOWN = 10  # unreadable rows named in the report; the rest are counted


@dataclass
class ReadNotes:
    """What reading the export found besides rows: the rows it could not read."""

    unreadable: int = 0
    first_unreadable: list[int] = field(default_factory=list)

    def bad(self, row: int) -> None:
        self.unreadable += 1
        if len(self.first_unreadable) < _SHOWN:
            self.first_unreadable.append(row)


Reader = Callable[[Path, VerifyScratch, ReadNotes], None]


def _as_id(value: Any) -> int | None:
    """An id as the exports write it: an int (JSON, SQLite) or its digits (CSV)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.isascii() and value.isdigit():
        return int(value)
    return None


def read_csv_rows(path: Path, scratch: VerifyScratch, notes: ReadNotes) -> None:
    """The conversation CSV: a header, then one row per message (or per ticket without any)."""
    csv.field_size_limit(sys.maxsize)  # bodies can pass the 128 KiB default
    with _opened(path) as raw:
        # utf-8-sig: a spreadsheet's re-save adds a byte-order mark, which would hide the first
        # column's name. surrogateescape: a byte that is not UTF-8 spoils its row, not the read.
        text = io.TextIOWrapper(raw, encoding="utf-8-sig", errors="surrogateescape", newline="")
        reader = csv.reader(text)
        header = next(reader, None)
        if not header or "ticket_id" not in header or "message_id" not in header:
            raise OutputError(f"{path} does not begin with the tickets export's CSV header.")
        ticket_at, message_at, width = (
            header.index("ticket_id"),
            header.index("message_id"),
            len(header),
        )
        number = 1
        while True:
            number += 1
            try:
                row = next(reader)
            except StopIteration:
                break
            except csv.Error:  # a NUL byte, say; the reader goes on at the next line
                notes.bad(number)
                continue
            if len(row) != width:
                notes.bad(number)
                continue
            _take(scratch, notes, number, row[ticket_at], row[message_at] or None)


def read_jsonl_rows(path: Path, scratch: VerifyScratch, notes: ReadNotes) -> None:
    """The conversation JSONL: one object per message (or per ticket without any)."""
    for number, row in _json_lines(path, notes):
        _take(scratch, notes, number, row.get("ticket_id"), row.get("message_id"))


def read_ticket_lines(path: Path, scratch: VerifyScratch, notes: ReadNotes) -> None:
    """`--per ticket`: one object per ticket, its `messages` nested; the last line of an id is
    the ticket's current conversation, so only that line's messages count."""
    for number, line in _json_lines(path, notes):
        ticket_id = _as_id(line.get("id"))
        messages = line.get("messages")
        if ticket_id is None or not isinstance(messages, list):
            notes.bad(number)
            continue
        ids = [_as_id(m.get("id")) if isinstance(m, dict) else None for m in messages]
        if None in ids:
            notes.bad(number)
            continue
        scratch.ticket(ticket_id, number)
        for message_id in ids:
            assert message_id is not None
            scratch.message(ticket_id, message_id, number)
    scratch.keep_current_lines()


def read_mirror(path: Path, scratch: VerifyScratch, notes: ReadNotes) -> None:
    """The SQLite mirror's `conversations` table, read-only (the same rows as the CSV)."""
    try:
        db = open_database(path)
        try:
            rows = db.execute("SELECT rowid, ticket_id, message_id FROM conversations")
            for number, ticket_id, message_id in rows:
                _take(scratch, notes, number, ticket_id, message_id)
        finally:
            db.close()
    except sqlite3.Error as exc:
        raise OutputError(f"Could not read the conversations table of {path} ({exc}).") from None


def read_workbook_rows(path: Path, scratch: VerifyScratch, notes: ReadNotes) -> None:
    """The .xlsx workbook itself (not the store beside it): the conversation rows of every
    sheet, the same rows as the CSV."""
    for number, (ticket_id, message_id) in workbook_rows(path, ("ticket_id", "message_id")):
        _take(scratch, notes, number, ticket_id, message_id)


def open_database(path: Path) -> sqlite3.Connection:
    """A connection that only reads `path` and leaves no file behind.

    `mode=ro` would leave a WAL database's `-wal` and `-shm` behind when they were not there (a
    reader cannot remove them), so it is used only when they are (a run in flight, or killed).
    Otherwise an ordinary connection, with writes refused (`query_only`): as the last one to
    close, SQLite removes the files it made, and the database's bytes do not change."""
    if path.with_name(path.name + "-wal").exists():
        return sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    db = sqlite3.connect(path)
    db.execute("PRAGMA query_only = ON")
    return db


# Beside a file export, what its deletion pass recorded instead of cutting rows out of the
# append log: one JSON object a line, {"object": "ticket", "id": ..., "merged_into": ...}.
DELETIONS_LOG_SUFFIX = ".deletions.jsonl"


def read_deletions_log(export: Path, scratch: VerifyScratch) -> None:
    """The tickets the export's deletions log records as deleted or merged, if it has one. A
    line that is not one of those (a torn tail the next run cuts back) is passed over: the
    log explains rows, it holds none."""
    log = export.with_name(export.name + DELETIONS_LOG_SUFFIX)
    if not log.is_file():
        return
    notes = ReadNotes()
    for _, entry in _json_lines(log, notes):
        ticket_id = _as_id(entry.get("id"))
        merged_into = _as_id(entry.get("merged_into"))
        if entry.get("object") == "ticket" and ticket_id is not None:
            scratch.recorded(ticket_id, merged_into)


# The readers by (format, --per): the keys of a tickets export's identity.
READERS: dict[tuple[str, str], Reader] = {
    ("csv", "message"): read_csv_rows,
    ("jsonl", "message"): read_jsonl_rows,
    ("jsonl", "ticket"): read_ticket_lines,
    ("sqlite", "message"): read_mirror,
    ("xlsx", "message"): read_workbook_rows,
}


def _take(scratch: VerifyScratch, notes: ReadNotes, number: int, ticket: Any, message: Any) -> None:
    """One conversation row: a ticket id, and a message id unless it is a ticket's own row."""
    ticket_id = _as_id(ticket)
    message_id = None if message is None else _as_id(message)
    if ticket_id is None or (message is not None and message_id is None):
        notes.bad(number)
        return
    scratch.ticket(ticket_id, number)
    if message_id is not None:
        scratch.message(ticket_id, message_id, number)


def _json_lines(path: Path, notes: ReadNotes) -> Iterator[tuple[int, dict[str, Any]]]:
    """Each line's object, with its line number; a line that is not one is noted."""
    with _opened(path) as raw:
        for number, line in enumerate(raw, start=1):
            try:
                value = fastjson.loads(line)
            except ValueError:
                value = None
            if isinstance(value, dict):
                yield number, value
            elif line.strip():
                notes.bad(number)


@contextlib.contextmanager
def _opened(path: Path) -> Iterator[io.BufferedReader]:
    try:
        handle = path.open("rb")
    except OSError as exc:
        raise OutputError(
            f"Could not read {path} ({exc.strerror or exc.__class__.__name__})."
        ) from None
    with handle:
        yield handle
