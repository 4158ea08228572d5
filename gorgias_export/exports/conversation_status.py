"""The `tickets` export's progress event: its phase, counters, and the work it has left.

The share done is requests answered over the requests the run needs, and the run's need is
only stated once it is known, never guessed from how far a walk has got in time (that
estimate jumped to 65% at the start of a run and back). For a first full export the need is
the floor of the listings, `ceil(T/100) + ceil(M/100)`, plus the part-used pages where walks
meet (docs/pacing.md): T, the tickets, is known once both ticket walks are done, and
M, the messages, is the sum of their `messages_count`. Before that, and for runs whose size
the listings do not tell (incremental, `--since`, `--until`, filtered, resumed after the
ticket walks began), the share is unknown and the display shows an indeterminate bar.
"""

from __future__ import annotations

from dataclasses import dataclass
from math import ceil
from typing import TYPE_CHECKING

from gorgias_export.exports.progress import RunProgress, WalkPosition
from gorgias_export.exports.status import ExportStatus, fraction_of

if TYPE_CHECKING:
    from gorgias_export.exports.conversations import ConversationExport

PAGE = 100
# Part-used pages where walks meet: at most 3 (the budget's "floor + 3"), 2 in the benchmark
# runs, 1 in some; 2 leaves the ETA a second long or short.
MEETING_PAGES = 2


@dataclass
class Tally:
    """What one process of the export has read, for the estimate of what the run needs."""

    requests_before: int  # the client's counts when the export began (`all` shares a client)
    retries_before: int
    from_start: bool  # this process read the ticket listings from their start
    tickets: int = 0
    messages_listed: int = 0  # the sum of the tickets' `messages_count`
    messages_read: int = 0


def untouched(*positions: WalkPosition) -> bool:
    return all(p.cursor is None and p.after is None and not p.done for p in positions)


def counts_from_start(run: RunProgress, plans_requests: bool) -> bool:
    """Whether this process will see every ticket of the run: a first full export, unbounded
    (`--until` leaves messages of listed tickets out), whose ticket walks have not begun."""
    return (
        plans_requests
        and run.plan == "backfill"
        and run.upper is None
        and untouched(run.tickets, run.tickets_desc)
    )


def planned_requests(run: RunProgress | None, tally: Tally) -> int | None:
    """The requests this run needs in all, once its tickets are all listed; else None."""
    if run is None or not tally.from_start or not (run.tickets.done and run.tickets_desc.done):
        return None
    return ceil(tally.tickets / PAGE) + ceil(tally.messages_listed / PAGE) + MEETING_PAGES


def export_status(export: ConversationExport, complete: bool) -> ExportStatus:
    run = export.progress.run
    output = export.output
    # --per ticket says which of its two phases it is in; a row export only reads.
    phase = "done" if run is None else str(getattr(output, "phase", "reading"))
    stats, pacer, tally = export.client.stats, export.client.pacer, export.tally
    if phase == "writing":
        done, planned = output.message_rows, getattr(output, "to_write", None)
    else:
        done = (stats.requests - tally.requests_before) - (stats.retries - tally.retries_before)
        planned = planned_requests(run, tally)
    return ExportStatus(
        phase=phase,
        requests=stats.requests - tally.requests_before,
        rate_limited=stats.rate_limited,
        retries=stats.retries,
        allowed_rate=pacer.allowed_rate,
        fraction=fraction_of(done, planned, complete),
        complete=complete,
        limit_known=pacer.limit_known,
        burst=pacer.limit or 0,
        room=pacer.room(),
        done=done,
        planned=planned,
        sent=stats.requests,
        tickets_read=export.tickets_read,
        message_rows=output.message_rows,
        empty_ticket_rows=output.empty_ticket_rows,
        messages_read=tally.messages_read,
    )
