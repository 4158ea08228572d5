"""Editing a `tickets` export behind the exporter's back, in each format, as `verify` tests need:
rows removed, a row written twice. The edits keep the file readable; only the rows change."""

from __future__ import annotations

import contextlib
import json
import sqlite3
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from gorgias_export.jobs.tickets import TicketsJob
from gorgias_export.jobs.xlsx_target import rows_store_path
from gorgias_export.output.sqlite_store import SqliteStore
from gorgias_export.output.workbook import write_workbook
from tests.support.outputs import read_jsonl

# The formats `verify` reads: (name, --out file name, extra flags of `tickets`).
FORMATS = {
    "csv": ("tickets.csv", ()),
    "jsonl": ("tickets.jsonl", ()),
    "per-ticket": ("conversations.jsonl", ("--per", "ticket")),
    "sqlite": ("mirror.db", ()),
    "xlsx": ("tickets.xlsx", ()),
}


def drop(out: Path, kind: str, ticket_ids: set[int], message_ids: set[int]) -> None:
    """Remove every row of `ticket_ids`, and the rows of `message_ids`."""
    if kind == "xlsx":
        with _workbook_rows(out) as db:
            drop(db, "sqlite", ticket_ids, message_ids)
        return
    if kind == "sqlite":
        with _db(out) as db:
            for tid in ticket_ids:
                db.execute("DELETE FROM conversations WHERE ticket_id = ?", (tid,))
            for mid in message_ids:
                db.execute("DELETE FROM conversations WHERE message_id = ?", (mid,))
        return
    if kind == "per-ticket":
        lines = [
            {**line, "messages": [m for m in line["messages"] if m["id"] not in message_ids]}
            for line in read_jsonl(out)
            if line["id"] not in ticket_ids
        ]
        out.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
        return
    _rewrite(
        out,
        kind,
        lambda row: int(row["ticket_id"]) not in ticket_ids and _message(row) not in message_ids,
    )


def duplicate(out: Path, kind: str, message_id: int) -> None:
    """Write the row of `message_id` a second time, at the end (in SQLite: under another key)."""
    if kind == "xlsx":
        with _workbook_rows(out) as db:
            duplicate(db, "sqlite", message_id)
        return
    if kind == "sqlite":
        with _db(out) as db:
            columns = [r[1] for r in db.execute("PRAGMA table_info(conversations)")]
            chosen = ", ".join("'copy'" if c == "row_id" else c for c in columns)
            db.execute(
                f"INSERT INTO conversations SELECT {chosen} FROM conversations "
                "WHERE message_id = ?",
                (message_id,),
            )
        return
    if kind == "per-ticket":
        lines = read_jsonl(out)
        ticket = next(t for t in lines if any(m["id"] == message_id for m in t["messages"]))
        copy = next(m for m in ticket["messages"] if m["id"] == message_id)
        ticket["messages"].append(copy)
        with out.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(ticket) + "\n")  # the ticket's last line: the current one
        return
    _rewrite(out, kind, lambda row: True, again=lambda row: _message(row) == message_id)


def _message(row: dict[str, Any]) -> int | None:
    value = row["message_id"]
    return None if value in (None, "") else int(value)


def _rewrite(
    out: Path,
    kind: str,
    keep: Callable[[dict[str, Any]], bool],
    again: Callable[[dict[str, Any]], bool] = lambda row: False,
) -> None:
    """Rewrite a row file line by line (CSV rows here have no line breaks inside quotes that
    matter: the records are split with the csv module and written back with it)."""
    if kind == "jsonl":
        rows = read_jsonl(out)
        kept = [r for r in rows if keep(r)] + [r for r in rows if again(r)]
        out.write_text("".join(json.dumps(r) + "\n" for r in kept), encoding="utf-8")
        return
    import csv

    with out.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        fields = list(reader.fieldnames or [])
        rows = list(reader)
    kept = [r for r in rows if keep(r)] + [r for r in rows if again(r)]
    with out.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fields, lineterminator="\r\n")
        writer.writeheader()
        writer.writerows(kept)


@contextlib.contextmanager
def _workbook_rows(out: Path) -> Iterator[Path]:
    """A copy of the workbook's store to edit; the workbook is then written again from the
    copy with the exporter's own writer. The store itself is left as it was, so that a test
    shows that `verify` reads the workbook, not the store."""
    with tempfile.TemporaryDirectory() as folder:
        copy = Path(folder) / "rows.sqlite"
        source = sqlite3.connect(rows_store_path(out))
        try:
            target = sqlite3.connect(copy)
            source.backup(target)
            target.close()
        finally:
            source.close()
        yield copy
        store = SqliteStore(copy, flag="--out")
        try:
            write_workbook(out, TicketsJob("xlsx").sheet(store), owner="tickets")
        finally:
            store.close()


@contextlib.contextmanager
def _db(path: Path) -> Any:
    db = sqlite3.connect(path)
    try:
        yield db
        db.commit()
    finally:
        db.close()
