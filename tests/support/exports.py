"""The tickets export in this process, without the CLI: for tests that hand it their own client
or watch each checkpoint."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from gorgias_export.api.client import GorgiasClient
from gorgias_export.exports.account_walks import AccountWalks
from gorgias_export.exports.conversations import ConversationExport, ConversationRows
from gorgias_export.exports.progress import ExportProgress
from gorgias_export.jobs.lifecycle import JobResult, open_target, run_job
from gorgias_export.jobs.tickets import TicketsJob
from gorgias_export.output.ticket_index import TicketIndex
from gorgias_export.output.writers import RowSink, make_encoder
from gorgias_export.rows import CONVERSATION_COLUMNS, CONVERSATION_CSV_KINDS


def export_tickets(client: GorgiasClient, out: Path, fmt: str = "csv") -> JobResult:
    """The tickets job into `out`, in this process, through the one lifecycle."""
    job = TicketsJob(fmt)
    target = open_target(job, str(out), None, False, client.settings.base_url, "tickets.csv")
    return run_job(client, job, target)


def conversation_export(
    client: GorgiasClient, out: Path, checkpoint: Callable[[ExportProgress], None]
) -> tuple[ConversationExport, RowSink]:
    """A bare conversation export of the whole account to a CSV file, with its own checkpoint
    (no state file, no lock): for tests that watch what each checkpoint saves."""
    sink = RowSink(make_encoder("csv", CONVERSATION_COLUMNS, CONVERSATION_CSV_KINDS), str(out))
    rows = ConversationRows(sink)
    index = TicketIndex(None, rows.shape)
    export = ConversationExport(client, index, rows, ExportProgress(), checkpoint, AccountWalks())
    return export, sink
