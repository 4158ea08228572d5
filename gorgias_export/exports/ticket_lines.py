"""`tickets --per ticket`: one JSON object per ticket, with its messages nested in order.

A ticket's messages are spread over the whole account-wide message listing, so no line can be
written until every message is in hand. The export therefore runs in two phases:
1. gather: the usual conversation walks (the same requests as a row export), with each page's
   raw tickets and messages upserted into a staging database beside the state file, and the
   tickets they touch marked with the run's number;
2. emit: the touched tickets, oldest first, each written as one line with its messages from
   the staging database, with a checkpoint after each page of lines.

A rerun gathers only what changed and writes the touched tickets again, whole: in the file, the
last line of a ticket id is its current conversation.
"""

from __future__ import annotations

from typing import Any

from gorgias_export.exports.conversations import ConversationExport, Item
from gorgias_export.exports.progress import ExportProgress, RunProgress
from gorgias_export.fastjson import loads
from gorgias_export.output.staging import ConversationStage
from gorgias_export.output.ticket_index import KnownTickets
from gorgias_export.output.writers import RowSink

EMIT_BATCH = 100  # tickets per checkpoint in the emit phase


class _StagedSink:
    """The lines' file, whose sync first commits the staging database: both are durable
    before the state that counts them is saved."""

    def __init__(self, stage: ConversationStage, lines: RowSink) -> None:
        self._stage = stage
        self._lines = lines

    def write_row(self, row: dict[str, Any]) -> None:
        self._lines.write_row(row)

    def sync(self) -> int:
        self._stage.commit()
        return self._lines.sync()

    def cut_back(self, offset: int) -> None:
        self._lines.cut_back(offset)  # the stage rolls back what no checkpoint committed

    def close(self) -> None:
        self._lines.close()


class TicketLines:
    """The ConversationOutput of `--per ticket`: pages staged, then one line per touched ticket."""

    shape = KnownTickets()  # no row is built from a context: knowing the ticket is enough

    def __init__(self, stage: ConversationStage, lines: RowSink) -> None:
        self.stage = stage
        self.sink = _StagedSink(stage, lines)
        self.message_rows = 0  # lines written: one per ticket
        self.empty_ticket_rows = 0
        self.phase = "gathering"  # then "writing", for the progress display
        self.to_write: int | None = None

    def begin(self, progress: ExportProgress) -> None:
        if progress.completed_runs == 0 and progress.run is None:
            # A new export (--fresh, or its files removed): what a stale stage holds must not
            # pass for unchanged. Cleared inside the first checkpoint's transaction.
            self.stage.clear()
        self.stage.run = progress.completed_runs + 1

    def tickets(self, items: list[Item]) -> None:
        self.stage.tickets(items)

    def messages(self, items: list[Item]) -> None:
        self.stage.messages(items)

    def row(self, context: Any, message: Item | None, created: str) -> bool:
        return False  # only the row's id is kept, for de-duplication: the lines come at the end

    def finish(self, run: RunProgress, export: ConversationExport) -> None:
        """Write the touched tickets, a checkpoint after each batch."""
        position = run.emitted
        self.phase = "writing"
        self.to_write = self.stage.count_touched_after(position.after)
        while not position.done:
            batch = self.stage.touched_after(position.after, EMIT_BATCH)
            for created, ticket_id, body in batch:
                ticket = loads(body)
                ticket["messages"] = [loads(m) for m in self.stage.messages_of(ticket_id)]
                self.sink.write_row(ticket)
                export.progress.rows_written += 1
                self.message_rows += 1
                position.after = (created, ticket_id)
            position.done = len(batch) < EMIT_BATCH
            export.checkpoint()
