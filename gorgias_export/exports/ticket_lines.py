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

Each ticket also gets its summary (ticket_summary.py): as a flat row of its own (CSV, the SQLite
`ticket_summary` table), or beside its messages as `ticket_summary` (JSONL). The emit phase
first stages the satisfaction surveys (a changed one touches its ticket), and with
`--custom-fields` asks for each ticket's custom field values as it writes it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gorgias_export.api.client import GorgiasClient
from gorgias_export.exports.conversations import ConversationExport, Item
from gorgias_export.exports.progress import ExportProgress, RunProgress
from gorgias_export.exports.summary_inputs import (
    fetch_field_columns,
    fetch_field_values,
    stage_surveys,
)
from gorgias_export.exports.ticket_summary import (
    Column,
    all_columns,
    custom_field_values,
    summary_row,
)
from gorgias_export.fastjson import loads
from gorgias_export.output.staging import ConversationStage
from gorgias_export.output.ticket_index import KnownTickets
from gorgias_export.output.writers import Sink

EMIT_BATCH = 100  # tickets per checkpoint in the emit phase
SUMMARY_KEY = "ticket_summary"  # in a JSONL line, beside the ticket's fields and messages


@dataclass(frozen=True)
class Summaries:
    """How each ticket's summary is made and written.

    `columns`: every column, the custom fields' last. `nested`: JSONL, the summary goes in the
    ticket's line; else the line is the summary row. `field_values`: ask for each ticket's
    custom field values (--custom-fields), one request per ticket. `surveys_touch`: a changed
    survey rewrites its ticket's line; not on the first run of a JSONL export staged before
    summaries existed, whose surveys are all new to it (its lines gain a summary as their
    tickets change)."""

    client: GorgiasClient
    columns: tuple[Column, ...]
    nested: bool
    field_values: bool
    surveys_touch: bool = True

    def line(self, ticket: Item, messages: list[Item], survey: Item | None) -> Item:
        values = custom_field_values(ticket)  # the listings carry none today: if they ever do
        if values is None and self.field_values and isinstance(ticket.get("id"), int):
            values = fetch_field_values(self.client, ticket["id"])
        row = summary_row(ticket, messages, survey, values, self.columns)
        if not self.nested:
            return row
        ticket["messages"] = messages
        ticket[SUMMARY_KEY] = row
        return ticket


def open_summaries(
    client: GorgiasClient,
    stage: ConversationStage,
    progress: ExportProgress,
    *,
    nested: bool,
    field_values: bool,
) -> Summaries:
    """The summaries of this run. A new export clears a stale stage and fixes its custom field
    columns from the definitions (two requests); later runs keep them, so that every row of a
    file has the columns of its header. Both inside the first checkpoint's transaction."""
    if progress.completed_runs == 0 and progress.run is None:
        # A new export (--fresh, or its files removed): what a stale stage holds must not pass
        # for unchanged.
        stage.clear()
    saved = stage.summary_columns()
    if saved is None:
        custom = fetch_field_columns(client)
        stage.save_summary_columns([(c.name, c.field_id) for c in custom])
    else:
        custom = [Column(name, "text", field_id) for name, field_id in saved]
    # Columns already chosen, or a new export (whose every staged ticket is touched anyway):
    # surveys may touch tickets. Else an export staged before summaries: they are new to it.
    upgraded = saved is None and progress.completed_runs > 0
    return Summaries(client, all_columns(custom), nested, field_values, not upgraded)


class _StagedSink:
    """The lines' file, whose sync first commits the staging database: both are durable
    before the state that counts them is saved."""

    def __init__(self, stage: ConversationStage, lines: Sink) -> None:
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

    def __init__(self, stage: ConversationStage, lines: Sink, summaries: Summaries) -> None:
        self.stage = stage
        self.sink = _StagedSink(stage, lines)
        self.summaries = summaries
        self.message_rows = 0  # lines written: one per ticket
        self.empty_ticket_rows = 0
        self.phase = "gathering"  # then "writing", for the progress display
        self.to_write: int | None = None

    def begin(self, progress: ExportProgress) -> None:
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
        if position.after is None and not position.done:
            # Before the first line: a survey that changed touches its ticket. Read again if
            # interrupted before a line was counted; staging it twice changes nothing.
            stage_surveys(self.summaries.client, self.stage, run, self.summaries.surveys_touch)
            export.checkpoint()
        self.phase = "writing"
        self.to_write = self.stage.count_touched_after(position.after)
        while not position.done:
            batch = self.stage.touched_after(position.after, EMIT_BATCH)
            for created, ticket_id, body in batch:
                messages = [loads(m) for m in self.stage.messages_of(ticket_id)]
                survey = self.stage.survey_of(ticket_id)
                line = self.summaries.line(
                    loads(body), messages, loads(survey) if survey is not None else None
                )
                self.sink.write_row(line)
                export.progress.rows_written += 1
                self.message_rows += 1
                position.after = (created, ticket_id)
            position.done = len(batch) < EMIT_BATCH
            export.checkpoint()
