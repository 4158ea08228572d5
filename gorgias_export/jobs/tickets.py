"""The `tickets` job: every conversation, as rows, as one line per ticket, or as a SQLite mirror.

It picks the export's two strategies: where tickets come from (the whole account, or the
tickets a filter lists) and what goes out (rows to the target, or one line per ticket), and
the side databases they need beside the state: the ticket index (a cache: losing it costs
requests, never rows) and, for --per ticket, the staging database (not a cache).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from gorgias_export.api.client import GorgiasClient, Params
from gorgias_export.exports.account_walks import AccountWalks
from gorgias_export.exports.conversations import (
    ConversationExport,
    ConversationOutput,
    ConversationRows,
    TicketSource,
)
from gorgias_export.exports.filtered import FilteredTickets
from gorgias_export.exports.progress import ExportProgress
from gorgias_export.exports.status import ExportStatus, StatusCallback
from gorgias_export.exports.ticket_lines import TicketLines, open_summaries
from gorgias_export.exports.ticket_summary import (
    BASE_COLUMNS,
    BASE_NAMES,
    SUMMARY_VERSION,
    Column,
)
from gorgias_export.jobs.removal_targets import removal_pass, start_removals
from gorgias_export.jobs.targets import DatabaseTarget, Target
from gorgias_export.output.conversation_csv import CsvConversationLines
from gorgias_export.output.mirror import TABLES, WORKBOOK_ORDER, ConversationMirror
from gorgias_export.output.sqlite_store import SqliteStore
from gorgias_export.output.staging import ConversationStage
from gorgias_export.output.table_sink import TableSink
from gorgias_export.output.ticket_index import TicketIndex
from gorgias_export.output.workbook import Sheet
from gorgias_export.output.writers import CsvEncoder, JsonlEncoder, RowEncoder, Sink, make_encoder
from gorgias_export.rows import (
    CONVERSATION_COLUMNS,
    CONVERSATION_COLUMNS_VERSION,
    CONVERSATION_CSV_KINDS,
)
from gorgias_export.timeutil import format_utc

SUMMARY_TABLE = "ticket_summary"


@dataclass(frozen=True)
class TicketsJob:
    """What the user asked for."""

    fmt: str  # "csv" | "jsonl" | "sqlite" | "xlsx"
    since: datetime | None = None
    until: datetime | None = None
    # Filtered exports (--customer-id, --ticket-id, ...): the /tickets parameter sets to walk.
    listings: tuple[Params, ...] = ()
    per: str = "message"  # "ticket": one line per ticket (JSONL: messages nested; or its summary)
    custom_fields: bool = False  # --per ticket: each ticket's custom field values, a request each
    name: str = "tickets"
    snapshots: bool = False
    tables: tuple[str, ...] = TABLES
    reconcile: bool = False  # --reconcile: this run lists every ticket id (not in identity)

    def summary_in_own_table(self) -> TicketsJob:
        """`--per ticket` into SQLite (or an .xlsx workbook's store): the `ticket_summary`
        table, with a state of its own, so that the conversation mirror (`tickets`) can share
        the database. Other formats: as is."""
        if self.fmt not in ("sqlite", "xlsx"):
            return self
        return replace(self, name=SUMMARY_TABLE, tables=(SUMMARY_TABLE,))

    @property
    def summary_rows(self) -> bool:
        """One flat summary row per ticket (CSV, SQLite), not a nested conversation (JSONL)."""
        return self.per == "ticket" and self.fmt != "jsonl"

    def identity(self, api: str) -> dict[str, Any]:
        """What makes two runs the same export; a state saved under another one is refused.
        (A file target adds the output's path.)"""
        filters = {"filters": [[[k, str(v)] for k, v in params] for params in self.listings]}
        return {
            # Absent unless used, so the states of plain exports stay as they were.
            **(filters if self.listings else {}),
            **({"per": self.per} if self.per != "message" else {}),
            # Absent from JSONL --per ticket, so that its exports from before go on.
            **({"summary_version": SUMMARY_VERSION} if self.summary_rows else {}),
            **({"custom_fields": True} if self.custom_fields else {}),
            "command": "tickets",
            "format": self.fmt,
            "since": format_utc(self.since) if self.since else None,
            "until": format_utc(self.until) if self.until else None,
            "api": api,
            "columns_version": CONVERSATION_COLUMNS_VERSION,
        }

    def new_progress(self) -> ExportProgress:
        return ExportProgress()

    def parse_progress(self, saved: Any) -> ExportProgress:
        return ExportProgress.from_json(saved)

    def saved_bytes(self, progress: ExportProgress) -> int:
        return progress.output_bytes

    def file_header(self) -> bytes:
        if self.summary_rows:
            # The custom field columns that end it come from the account: the fixed part is
            # enough to recognise our file.
            return ",".join(BASE_NAMES).encode()
        return self.encoder().header()

    def shared_tables_conflict(self, store: SqliteStore) -> str | None:
        # Even with --fresh: that command's table would be lost. (The summary has its own.)
        if self.per != "ticket" and store.has_state("messages"):
            return (
                f"{store.path} holds the messages command's table, which the tickets mirror "
                "would overwrite; give tickets another --out."
            )
        return None

    def refused_state(self, output: Path, state: Path) -> str | None:
        if state == output:
            return "--state must not be the --out file; choose another path for it."
        return None

    def sheet(self, store: SqliteStore) -> Sheet:
        """The workbook of an .xlsx export: conversation rows by ticket creation, ticket, then
        message time (the store keeps booleans as 1/0: they are given back as booleans); or
        with --per ticket, the summary rows by ticket creation."""
        if self.summary_rows:
            summary = tuple(store.table_columns(SUMMARY_TABLE)) or BASE_NAMES
            order = ("created_datetime", "ticket_id")
            return Sheet("tickets", summary, store.select(SUMMARY_TABLE, summary, order))
        flags = [
            i for i, c in enumerate(CONVERSATION_COLUMNS) if CONVERSATION_CSV_KINDS.get(c) == "bool"
        ]

        def rows() -> Iterator[list[Any]]:
            for row in store.select("conversations", CONVERSATION_COLUMNS, WORKBOOK_ORDER):
                values = list(row)
                for index in flags:
                    if values[index] is not None:
                        values[index] = bool(values[index])
                yield values

        return Sheet("tickets", CONVERSATION_COLUMNS, rows())

    def encoder(self, columns: tuple[Column, ...] = ()) -> RowEncoder:
        if self.summary_rows:
            return CsvEncoder([c.name for c in columns or BASE_COLUMNS])
        if self.per == "ticket":
            return JsonlEncoder()  # whole tickets, their messages nested
        return make_encoder(self.fmt, CONVERSATION_COLUMNS, CONVERSATION_CSV_KINDS)

    def run(
        self,
        client: GorgiasClient,
        target: Target,
        progress: ExportProgress,
        checkpoint: Callable[[ExportProgress], None],
        on_status: StatusCallback,
    ) -> ExportStatus:
        source: TicketSource = FilteredTickets(self.listings) if self.listings else AccountWalks()
        start_removals(progress)
        with contextlib.ExitStack() as stack:
            output = self._output(client, target, progress, stack)
            index = TicketIndex(target.side_file("ticket-index"), output.shape)
            stack.callback(index.close)
            export = ConversationExport(
                client,
                index,
                output,
                progress,
                checkpoint,
                source,
                since=self.since,
                until=self.until,
                on_status=on_status,
            )
            status = export.run()
            self._removals(client, target, progress, checkpoint, output)
            return status

    def _removals(
        self,
        client: GorgiasClient,
        target: Target,
        progress: ExportProgress,
        checkpoint: Callable[[ExportProgress], None],
        output: ConversationOutput,
    ) -> None:
        """Deleted and merged tickets leave the mirror, or are logged beside the file. The
        mirror's message counts are checked only when it holds whole conversations (no
        --since/--until window, which keeps only part of a ticket's messages)."""
        rows = output.mirror if isinstance(output, ConversationRows) else None
        stage = output.stage if isinstance(output, TicketLines) else None
        whole = self.since is None and self.until is None
        found = removal_pass(
            client,
            "ticket",
            target,
            progress,
            checkpoint,
            rows=rows if isinstance(rows, ConversationMirror) else None,
            recount=whole,
            reconcile=self.reconcile,
            stage=stage,
        )
        if found is not None:
            found.run()

    def _output(
        self,
        client: GorgiasClient,
        target: Target,
        progress: ExportProgress,
        stack: contextlib.ExitStack,
    ) -> ConversationOutput:
        """Rows to the database or the file; or, per ticket, staged pages and then lines.
        Closed (last first) when the run ends."""
        if self.per == "ticket":
            return self._ticket_lines(client, target, progress, stack)
        if isinstance(target, DatabaseTarget):
            # An .xlsx workbook's store keeps the rows only, not the raw pages beside them.
            mirror = ConversationMirror(target.store, raw=self.fmt == "sqlite")
            stack.callback(mirror.close)
            return ConversationRows(mirror, mirror)
        sink, _ = target.rows_file(self.encoder(), progress)
        stack.callback(sink.close)
        lines = CsvConversationLines(sink) if self.fmt == "csv" else None
        return ConversationRows(sink, writer=lines)

    def _ticket_lines(
        self,
        client: GorgiasClient,
        target: Target,
        progress: ExportProgress,
        stack: contextlib.ExitStack,
    ) -> TicketLines:
        """Staged pages, then a line per ticket: its summary row into the file or the
        `ticket_summary` table, or in JSONL its conversation with the summary beside it."""
        stage = ConversationStage(target.side_file("staging"))
        stack.callback(stage.close)
        summaries = open_summaries(
            client, stage, progress, nested=not self.summary_rows, field_values=self.custom_fields
        )
        sink: Sink
        if isinstance(target, DatabaseTarget):
            table = TableSink(
                target.store, SUMMARY_TABLE, [c.name for c in summaries.columns], key="ticket_id"
            )
            table.ensure_index("created_datetime")  # the order rows are read back in
            sink = table
        else:
            sink, _ = target.rows_file(self.encoder(summaries.columns), progress)
        stack.callback(sink.close)
        return TicketLines(stage, sink, summaries)
