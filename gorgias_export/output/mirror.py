"""The tickets command's SQLite tables, kept current: tickets, messages and conversations.

- `tickets` and `messages`: the API's objects, one row per id, one column per top-level field
  (nested values as JSON), upserted so that a rerun updates a ticket rather than adding one.
- `conversations`: the rows the CSV output holds, keyed by `row_id` (`m:<message id>`, or
  `t:<ticket id>` for a ticket without messages). When a ticket is read again, the ticket
  columns of all its rows are updated, so that every row shows its current status; once a
  ticket has messages, its `t:` row goes.

One object is both the export's row sink (conversation rows) and its mirror (raw pages): the
export calls it inside each page, and the store commits it all with the page's checkpoint.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from gorgias_export.output.sqlite_store import SqliteStore
from gorgias_export.output.table_sink import TableSink
from gorgias_export.rows import CONVERSATION_COLUMNS, CONVERSATION_CSV_KINDS, ticket_context

TABLES = ("tickets", "messages", "conversations")
# Conversation rows in a workbook: by ticket creation, ticket, then message time.
WORKBOOK_ORDER = ("ticket_created_datetime", "ticket_id", "message_created_datetime", "message_id")
# An .xlsx workbook's store: each ticket's messages_count, which its deletion pass recounts
# against (output/workbook_removals.py), in place of the raw `tickets` table it does not keep.
COUNTS_TABLE = "_gorgias_export_ticket_counts"
CONVERSATION_JSON_COLUMNS = tuple(k for k, kind in CONVERSATION_CSV_KINDS.items() if kind == "json")


def row_id(row: dict[str, Any]) -> str:
    """A conversation row's key: the export's own de-duplication id."""
    message_id = row.get("message_id")
    return f"m:{message_id}" if message_id is not None else f"t:{row.get('ticket_id')}"


class RawTable:
    """API objects by id, a column per top-level field; a field seen for the first time adds a
    column (the API may add fields between runs)."""

    def __init__(self, store: SqliteStore, table: str, indexes: Sequence[str] = ()) -> None:
        self._store = store
        self._table = table
        self._indexes = indexes
        self._columns: dict[str, None] = {"id": None}
        self._json: set[str] = set()
        self._sink: TableSink | None = None

    def upsert(self, items: Sequence[dict[str, Any]]) -> None:
        """Upsert now, inside the open transaction."""
        keyed = [item for item in items if isinstance(item.get("id"), int)]
        if not keyed:
            return
        sink = self._sink
        if sink is None or any(name not in self._columns for item in keyed for name in item):
            sink = self._grow(keyed)
        for item in keyed:
            sink.write_row(item)
        sink.sync()

    def _grow(self, items: Sequence[dict[str, Any]]) -> TableSink:
        for item in items:
            for name, value in item.items():
                self._columns.setdefault(name)
                if isinstance(value, list | dict):
                    self._json.add(name)
        sink = TableSink(self._store, self._table, list(self._columns), json_columns=self._json)
        for column in self._indexes:
            sink.ensure_index(column)
        self._sink = sink
        return sink


class ConversationMirror:
    """The export's sink for conversation rows, and its mirror for raw tickets and messages.

    `raw`: keep the `tickets` and `messages` tables too (the SQLite output); an .xlsx
    workbook's store keeps only the rows, current as in the mirror."""

    def __init__(self, store: SqliteStore, raw: bool = True) -> None:
        self._tickets = RawTable(store, "tickets") if raw else None
        self._messages = RawTable(store, "messages", indexes=("ticket_id",)) if raw else None
        self._rows = TableSink(
            store,
            "conversations",
            ("row_id", *CONVERSATION_COLUMNS),
            key="row_id",
            json_columns=CONVERSATION_JSON_COLUMNS,
        )
        self._rows.ensure_index("ticket_id")
        self._counts: TableSink | None = None
        if not raw:  # the workbook's order: an index scan, not a sort of every row's text
            self._rows.ensure_index(*WORKBOOK_ORDER)
            self._counts = TableSink(
                store, COUNTS_TABLE, ("ticket_id", "messages_count"), key="ticket_id"
            )

    # -- the mirror: raw pages ---------------------------------------------------------------

    def tickets(self, items: list[dict[str, Any]]) -> None:
        tickets = [t for t in items if isinstance(t.get("id"), int)]
        if not tickets:
            return
        if self._tickets is not None:
            self._tickets.upsert(tickets)
        if self._counts is not None:
            for t in tickets:
                self._counts.write_row(
                    {"ticket_id": t["id"], "messages_count": t.get("messages_count")}
                )
            self._counts.sync()
        self._rows.update_by("ticket_id", [ticket_context(t) for t in tickets])
        self._rows.delete_keys(f"t:{t['id']}" for t in tickets if t.get("messages_count") != 0)

    def messages(self, items: list[dict[str, Any]]) -> None:
        if not items:
            return
        if self._messages is not None:
            self._messages.upsert(items)
        ticket_ids = {m.get("ticket_id") for m in items}
        self._rows.delete_keys(
            f"t:{tid}" for tid in sorted(t for t in ticket_ids if isinstance(t, int))
        )

    # -- the sink: conversation rows ---------------------------------------------------------

    def write_row(self, row: dict[str, Any]) -> None:
        self._rows.write_row({"row_id": row_id(row), **row})

    def sync(self) -> int:
        return self._rows.sync()

    def cut_back(self, offset: int) -> None:
        self._rows.cut_back(offset)

    def close(self) -> None:
        self._rows.close()
        if self._counts is not None:
            self._counts.close()
