"""The conversation export: ticket and message pages in, conversation rows out, checkpoints between.

One class, with two strategies:
- where tickets come from (`TicketSource`): the whole account's listings, walked from several
  ends at once (account_walks.py), or the tickets a filter lists, each with its own messages
  (filtered.py);
- what goes out (`ConversationOutput`): one row per message to a file, stdout or SQLite
  (`ConversationRows`), or one JSON line per ticket with its messages nested (ticket_lines.py).

The class itself owns what every combination shares: the plan of a run (backfill or window),
the ticket index that joins each message to its ticket, row de-duplication, checkpoints and the
progress events. After each page, rows are synced to disk, then the position is saved: a crash
at any moment loses at most the pages in flight, and the rerun cuts the output back to the
saved length.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import time
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from typing import Any, Protocol

from gorgias_export.api.client import GorgiasClient, Params
from gorgias_export.api.prefetch import Chain
from gorgias_export.entity_types import INCREMENTAL_OVERLAP
from gorgias_export.exports.checkpoints import Checkpointing
from gorgias_export.exports.conversation_status import Tally, counts_from_start, export_status
from gorgias_export.exports.listing_counts import count_messages, counted_run, shortfall
from gorgias_export.exports.progress import ExportProgress, Key, RunProgress
from gorgias_export.exports.status import ExportStatus, StatusCallback
from gorgias_export.output.ticket_index import ContextShape, JsonContexts, TicketIndex
from gorgias_export.output.writers import Sink
from gorgias_export.rows import conversation_row, ticket_context, unknown_ticket_context
from gorgias_export.timeutil import format_utc, shift, sort_key

log = logging.getLogger("gorgias_export")

TICKET_IDS_PER_REQUEST = 100
Item = dict[str, Any]
Checkpoint = Callable[[ExportProgress], None]


class TicketSource(Protocol):
    """Where tickets come from: drives the walks of one run, calling back into the export."""

    def walk(self, export: ConversationExport, run: RunProgress) -> None: ...


class ConversationOutput(Protocol):
    """What goes out. `sink` is what each checkpoint makes durable before the state is saved."""

    message_rows: int  # written by this run (with --per ticket: lines)
    empty_ticket_rows: int

    @property
    def sink(self) -> Sink: ...
    @property
    def shape(self) -> ContextShape[Any]:
        """What the ticket index keeps of a ticket for this output's rows."""
        ...

    def begin(self, progress: ExportProgress) -> None: ...
    def tickets(self, items: list[Item]) -> None: ...  # each page's raw tickets
    def messages(self, items: list[Item]) -> None: ...  # each page's raw in-window messages
    def row(self, context: Any, message: Item | None, created: str) -> bool:
        """Write one conversation row (`context` in the output's shape); False when rows are
        not written one by one."""
        ...

    def finish(self, run: RunProgress, export: ConversationExport) -> None: ...


class Mirror(Protocol):
    """Raw pages kept beside the rows (the SQLite mirror), committed with the page's rows."""

    def tickets(self, items: list[Item]) -> None: ...
    def messages(self, items: list[Item]) -> None: ...


class RowWriter(Protocol):
    """Builds and writes conversation rows from contexts kept in its `shape`."""

    @property
    def shape(self) -> ContextShape[Any]: ...
    def row(self, context: Any, message: Item | None, created: str) -> None: ...


class DictRows:
    """Rows as dictionaries (JSONL, SQLite), from contexts kept as they are."""

    shape = JsonContexts()

    def __init__(self, sink: Sink) -> None:
        self._sink = sink

    def row(self, context: dict[str, Any], message: Item | None, created: str) -> None:
        self._sink.write_row(conversation_row(context, message, created))


class ConversationRows:
    """One row per message (and per ticket without messages) into `sink`, the raw pages into
    `mirror` when there is one (SQLite: the same object). `writer` builds the rows: as
    dictionaries, or for a CSV file straight into lines (output/conversation_csv.py)."""

    def __init__(
        self, sink: Sink, mirror: Mirror | None = None, writer: RowWriter | None = None
    ) -> None:
        self.sink = sink
        self.mirror = mirror
        self._writer = writer or DictRows(sink)
        self.message_rows = 0
        self.empty_ticket_rows = 0

    @property
    def shape(self) -> ContextShape[Any]:
        return self._writer.shape

    def begin(self, progress: ExportProgress) -> None:
        pass

    def tickets(self, items: list[Item]) -> None:
        if self.mirror is not None:
            self.mirror.tickets(items)

    def messages(self, items: list[Item]) -> None:
        if self.mirror is not None:
            self.mirror.messages(items)

    def row(self, context: Any, message: Item | None, created: str) -> bool:
        self._writer.row(context, message, created)
        if message is None:
            self.empty_ticket_rows += 1
        else:
            self.message_rows += 1
        return True

    def finish(self, run: RunProgress, export: ConversationExport) -> None:
        pass


def latest(*values: str | None) -> str | None:
    present = [v for v in values if v]
    return max(present) if present else None


class ConversationExport(Checkpointing):
    """One run of the conversation export, resumed from `progress` and saved via `checkpoint`."""

    def __init__(
        self,
        client: GorgiasClient,
        index: TicketIndex[Any],
        output: ConversationOutput,
        progress: ExportProgress,
        checkpoint: Checkpoint,
        source: TicketSource,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        on_status: StatusCallback | None = None,
        now: Callable[[], datetime] | None = None,
    ) -> None:
        self.client = client
        self.index = index
        self.output = output
        self.sink = output.sink
        self._shape = output.shape
        self.progress = progress
        self._save = checkpoint
        self.source = source
        self.since = format_utc(since) if since else None
        self.until = format_utc(until) if until else None
        self._on_status = on_status or (lambda status: None)
        self._now = now or (lambda: datetime.now().astimezone())
        self._deleted_tickets: set[int] = set()
        self.tickets_read = 0
        self.started = time.monotonic()
        stats = client.stats
        self.tally = Tally(stats.requests, stats.retries, from_start=False)
        # The byte length the state file on disk vouches for: a failure cuts back to it.
        self._saved_bytes = progress.output_bytes

    def run(self) -> ExportStatus:
        """Export until done; on any failure the output is cut back to the last checkpoint."""
        self.output.begin(self.progress)
        if self.progress.run is None:
            self.progress.run = self._plan_run()
        run = self.progress.run
        # Sources that read the whole account's listings can tell what a first run needs.
        plans = bool(getattr(self.source, "plans_requests", False))
        self.tally.from_start = counts_from_start(run, plans)
        try:
            with _fewer_collections():
                self.source.walk(self, run)
            self.output.finish(run, self)
            self._finish(run)
        except BaseException:
            self.sink.cut_back(self._saved_bytes)
            raise
        return self.status(complete=True)

    def _plan_run(self) -> RunProgress:
        started = format_utc(self._now())
        p = self.progress
        if p.completed_runs == 0 and self.since is None:
            run = RunProgress("backfill", None, None, self.until, started)
            run.message_counts = counted_run(run.plan, run.upper)
            return run
        lower_tickets = latest(self.since, shift(p.watermark_tickets, -INCREMENTAL_OVERLAP))
        lower_messages = latest(self.since, shift(p.watermark_messages, -INCREMENTAL_OVERLAP))
        return RunProgress("window", lower_tickets, lower_messages, self.until, started)

    # -- what the ticket sources call ------------------------------------------------------

    def index_tickets(self, items: list[Item]) -> None:
        """A page of tickets: their row context goes to the index, the raw items out."""
        self.index.put_many(
            (t["id"], ticket_context(t)) for t in items if isinstance(t.get("id"), int)
        )
        self.output.tickets(items)
        self.tickets_read += len(items)
        self.tally.tickets += len(items)
        self.tally.messages_listed += sum(
            count for t in items if isinstance(count := t.get("messages_count"), int)
        )

    def ticket_without_messages(self, run: RunProgress, ticket: Item, created: str) -> None:
        """The row of a ticket that has no message (written once)."""
        row_id = f"t:{ticket.get('id')}"
        if self._is_new_row(row_id):
            run.recent[row_id] = created
            if self.output.row(self._shaped(ticket_context(ticket)), None, created):
                self.progress.rows_written += 1

    def message_rows(self, run: RunProgress, messages: list[tuple[Item, Key]]) -> None:
        """The rows of these in-window messages, each joined to its ticket's context."""
        if not messages:
            return
        self.tally.messages_read += len(messages)
        count_messages(run, len(messages))
        self.output.messages([message for message, _ in messages])
        contexts = self._contexts(message.get("ticket_id") for message, _ in messages)
        times = [key[0] for _, key in messages]
        run.newest_message = latest(run.newest_message, *times)
        oldest = min(times)  # an unreadable time ("") counts here, as the oldest
        if run.oldest_message is None or oldest < run.oldest_message:
            run.oldest_message = oldest
        seen, recent, row = self.progress.seen, run.recent, self.output.row
        written = 0
        for message, (created, _) in messages:
            row_id = f"m:{message.get('id')}"
            if row_id in seen or row_id in recent:
                continue  # written by an earlier page or run
            recent[row_id] = created
            ticket_id = message.get("ticket_id")
            context = contexts.get(ticket_id) if isinstance(ticket_id, int) else None
            if context is None:  # deleted since: only its id is known
                context = self._shaped(unknown_ticket_context(ticket_id))
            written += row(context, message, created)
        self.progress.rows_written += written

    def skip_done_pages(self, chain: Chain) -> bool:
        """Pass over pages with nothing new (a walk re-reading from the start after its cursor
        was refused) without using a turn, so rows keep the order they would have had.
        Returns False when the walk ended while doing so."""
        while not chain.done:
            page = chain.peek()
            if page.items or page.next_cursor is None:
                return True
            chain.take()
            chain.walk.advance(page)
            self.checkpoint()
        return False

    def checkpoint(self) -> None:
        """Rows durable, then the position saved; then a progress event."""
        run = self.progress.run
        assert run is not None
        run.recent = _near_newest(
            run.recent, _capped(run.newest_ticket, run), _capped(run.newest_message, run)
        )
        self._sync_and_save()
        self._on_status(self.status())

    def _shaped(self, context: dict[str, Any]) -> Any:
        return self._shape.ready(context, self._shape.pack(context))

    def _contexts(self, ticket_ids: Iterable[object]) -> dict[int, Any]:
        """Ticket context for these ids: from the index, else fetched 100 per request."""
        wanted = sorted({tid for tid in ticket_ids if isinstance(tid, int)})
        found = self.index.get_many(wanted)
        missing = [t for t in wanted if t not in found and t not in self._deleted_tickets]
        for start in range(0, len(missing), TICKET_IDS_PER_REQUEST):
            batch = missing[start : start + TICKET_IDS_PER_REQUEST]
            params: Params = [
                ("limit", TICKET_IDS_PER_REQUEST),
                ("order_by", "created_datetime:asc"),
                *(("ticket_ids", tid) for tid in batch),
            ]
            page = self.client.fetch_page("/tickets", params)
            fetched = self.index.put_many(
                (t["id"], ticket_context(t)) for t in page.items if isinstance(t.get("id"), int)
            )
            self.output.tickets(page.items)
            found.update(fetched)
            # Not returned: deleted since. Its messages keep only the ticket id.
            self._deleted_tickets.update(set(batch) - found.keys())
        return found

    def _is_new_row(self, row_id: str) -> bool:
        run = self.progress.run
        assert run is not None
        return row_id not in self.progress.seen and row_id not in run.recent

    def _finish(self, run: RunProgress) -> None:
        p = self.progress
        short = shortfall(run)
        if short is not None:  # a problem, not progress: shown with --quiet too
            log.error("%s", short)
        p.watermark_tickets = _capped(latest(p.watermark_tickets, run.newest_ticket), run)
        p.watermark_messages = _capped(latest(p.watermark_messages, run.newest_message), run)
        p.seen = _near_newest({**p.seen, **run.recent}, p.watermark_tickets, p.watermark_messages)
        p.completed_runs += 1
        p.last_run_started = run.started_at
        p.run = None
        self._sync_and_save()
        self._on_status(self.status(complete=True))

    # -- progress events -------------------------------------------------------------------

    def status(self, complete: bool = False) -> ExportStatus:
        return export_status(self, complete)


def _capped(newest: str | None, run: RunProgress) -> str | None:
    """A watermark never past the run's start: one row dated in the future (a bad clock
    upstream) must not hide every row created before that date from the next runs."""
    if newest is None:
        return None
    started = sort_key(run.started_at)
    return min(newest, started) if started else newest


@contextlib.contextmanager
def _fewer_collections() -> Iterator[None]:
    """Let the cyclic garbage collector run less often during the export loop.

    Each page decodes into thousands of objects that are all freed a page later, but at the
    default threshold (700 new objects) the collector runs in the middle of that, again and
    again, and moves the pages into older generations that cost full collections: 0.8 CPU-s
    per 100k rows, 6% of the run. With 20,000 it hardly runs; it still catches any cycle.
    """
    first, *older = gc.get_threshold()
    gc.set_threshold(max(first, 20_000), *older)
    try:
        yield
    finally:
        gc.set_threshold(first, *older)


def _near_newest(
    rows: dict[str, str], newest_ticket: str | None, newest_message: str | None
) -> dict[str, str]:
    """Keep the row ids within the overlap of the newest key of their kind (t: or m:)."""
    cutoffs = {
        "t": shift(newest_ticket, -INCREMENTAL_OVERLAP) or "",
        "m": shift(newest_message, -INCREMENTAL_OVERLAP) or "",
    }
    return {row_id: key for row_id, key in rows.items() if key >= cutoffs.get(row_id[:1], "")}
