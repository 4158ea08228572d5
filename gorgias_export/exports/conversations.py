"""The conversation export loop: listing pages in, conversation rows out, checkpoints between.

Two listings are walked, never one request per ticket:
- the first run ("backfill") walks `/tickets` from both ends beside `/messages` oldest first,
  keeping the ticket walk from below ahead so each message's ticket is already in the on-disk
  index when the message arrives (a merge join); once tickets are done, messages are also walked
  newest first and, where the API takes a hand-built cursor, from a split point in the middle in
  both directions (meeting.py): walks stop where they meet;
- later runs and `--since` runs ("window") walk newest first down to the window's lower edge:
  tickets by `updated_datetime` (a new message bumps it: fresh context), tickets by
  `created_datetime` (new tickets without messages), then messages.
Tickets the walks did not bring (rare) are fetched 100 at a time with `ticket_ids`.

Each walk keeps its next page requested ahead (chains.py); pages are processed one at a time in
an order fixed by the data and a saved turn counter. After each page, rows are synced to disk,
then the position is saved: a crash at any moment loses at most the pages in flight, and the
rerun cuts the file back to the saved length. No typer or rich here: progress goes out through
a callback.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import logging
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from gorgias_export.api.client import GorgiasClient
from gorgias_export.api.meeting import Pair, split_point
from gorgias_export.api.prefetch import Chain
from gorgias_export.api.walk import (
    EntryRefused,
    ListingWalk,
    WalkPage,
    below,
    keyset_cursor,
    stays_above,
)
from gorgias_export.exports.checkpoints import Checkpointing
from gorgias_export.exports.progress import ExportProgress, Key, RunProgress, WalkPosition
from gorgias_export.output.ticket_index import TicketIndex
from gorgias_export.output.writers import Sink
from gorgias_export.resources import INCREMENTAL_OVERLAP
from gorgias_export.rows import conversation_row, ticket_context, unknown_ticket_context
from gorgias_export.timeutil import format_utc, parse_api_datetime, shift, sort_key

log = logging.getLogger("gorgias_export")

TICKET_IDS_PER_REQUEST = 100


@dataclass
class ExportStatus:
    """What a progress display needs, sent after every checkpoint."""

    phase: str
    tickets_read: int
    message_rows: int
    empty_ticket_rows: int
    requests: int
    rate_limited: int
    retries: int
    allowed_rate: float  # requests per second the account's bucket (and --max-rate) allow
    fraction: float | None  # an estimate from the walk's position in time; None if unknown
    complete: bool = False

    @property
    def rows(self) -> int:
        return self.message_rows + self.empty_ticket_rows

    def counts(self) -> str:
        return (
            f"{self.tickets_read:,} tickets · {self.message_rows:,} messages"
            f" · {self.requests:,} requests"
        )


StatusCallback = Callable[[ExportStatus], None]
Checkpoint = Callable[[ExportProgress], None]


class Mirror(Protocol):
    """Optional (SQLite): gets each page's raw tickets and in-window messages, before the page's
    checkpoint, so that they commit with its rows."""

    def tickets(self, items: list[dict[str, Any]]) -> None: ...
    def messages(self, items: list[dict[str, Any]]) -> None: ...


def _latest(*values: str | None) -> str | None:
    present = [v for v in values if v]
    return max(present) if present else None


class ConversationExport(Checkpointing):
    """One run of the conversation export, resumed from `progress` and saved via `checkpoint`."""

    def __init__(
        self,
        client: GorgiasClient,
        index: TicketIndex,
        sink: Sink,
        progress: ExportProgress,
        checkpoint: Checkpoint,
        since: datetime | None = None,
        until: datetime | None = None,
        on_status: StatusCallback | None = None,
        now: Callable[[], datetime] | None = None,
        mirror: Mirror | None = None,
    ) -> None:
        self.client = client
        self.mirror = mirror
        self.index = index
        self.sink = sink
        self.progress = progress
        self._save = checkpoint
        self.since = format_utc(since) if since else None
        self.until = format_utc(until) if until else None
        self._on_status = on_status or (lambda status: None)
        self._now = now or (lambda: datetime.now().astimezone())
        self._deleted_tickets: set[int] = set()
        self.tickets_read = 0
        self.message_rows = 0
        self.empty_ticket_rows = 0
        self.started = time.monotonic()
        # The byte length the state file on disk vouches for: a failure cuts back to it.
        self._saved_bytes = progress.output_bytes

    # -- the run ---------------------------------------------------------------------------

    def run(self) -> ExportStatus:
        """Export until done; on any failure the output is cut back to the last checkpoint."""
        if self.progress.run is None:
            self.progress.run = self._plan_run()
        run = self.progress.run
        backfill = run.plan == "backfill"
        tickets = ListingWalk(
            self.client,
            "/tickets",
            "created_datetime" if backfill else "updated_datetime",
            descending=not backfill,
            position=run.tickets,
        )
        messages = ListingWalk(
            self.client,
            "/messages",
            "created_datetime",
            descending=not backfill,
            position=run.messages,
        )
        try:
            with _fewer_collections():
                if backfill:
                    self._backfill(run, tickets, messages)
                else:
                    self._window(run, tickets, messages)
            self._finish(run)
        except BaseException:
            self.sink.cut_back(self._saved_bytes)
            raise
        return self.status(complete=True)

    def _plan_run(self) -> RunProgress:
        started = format_utc(self._now())
        p = self.progress
        if p.completed_runs == 0 and self.since is None:
            return RunProgress("backfill", None, None, self.until, started)
        lower_tickets = _latest(self.since, shift(p.watermark_tickets, -INCREMENTAL_OVERLAP))
        lower_messages = _latest(self.since, shift(p.watermark_messages, -INCREMENTAL_OVERLAP))
        return RunProgress("window", lower_tickets, lower_messages, self.until, started)

    def _backfill(self, run: RunProgress, tickets_walk: ListingWalk, messages: ListingWalk) -> None:
        """Tickets from both ends beside messages oldest first; once tickets are done, messages
        also newest first and, when the API takes a hand-built cursor, from a split point in
        the middle in both directions (meeting.py): three, then four requests in flight.

        Pages are processed round-robin in an order that depends only on the data and
        `run.turn`, never on timing, so a resumed run writes the same bytes as an uninterrupted
        one.
        """
        # --until keeps one walk per listing: reading down from the newest would mostly read
        # past it.
        both_ends = run.upper is None
        if not both_ends:
            run.tickets_desc.done = run.messages_desc.done = True
        tickets = Pair(Chain(tickets_walk), Chain(self._walk("/tickets", True, run.tickets_desc)))
        oldest = Chain(messages)
        newest = Chain(self._walk("/messages", True, run.messages_desc))
        lower = Chain(self._walk("/messages", True, run.messages_lower, entered=True))
        upper = Chain(self._walk("/messages", False, run.messages_upper, entered=True))

        def pair_of(chain: Chain) -> Pair:
            if chain in (tickets.up, tickets.down):
                return tickets
            if run.split_at:
                return Pair(oldest, lower) if chain in (oldest, lower) else Pair(upper, newest)
            return Pair(oldest, newest)

        for chain in (tickets.up, tickets.down, oldest, newest, lower, upper):
            chain.prefetch = functools.partial(self._worth_asking_ahead, run, pair_of, chain)
        message_chains = (oldest, newest, lower, upper)
        while not (tickets.done and all(chain.done for chain in message_chains)):
            active = [chain for chain in (tickets.up, tickets.down, oldest) if not chain.done]
            if tickets.done:
                active += [chain for chain in (newest, lower, upper) if not chain.done]
            chain = active[run.turn % len(active)]
            try:
                if chain in (lower, upper) and _entering(run):
                    # Both entries are checked before either is used: an API that misreads
                    # the cursor enters too low or too high, which only one of them can see.
                    lower.peek()
                    upper.peek()
                # Pages already done (re-read after a refused cursor) are passed over first, so
                # that what follows is decided on the page a clean run would have seen.
                if not self._skip_done_pages(chain):
                    pair_of(chain).ended()  # read to the end of the listing
                    continue
            except EntryRefused as refused:
                log.info("%s Reading on from the ends instead.", refused)
                if _entering(run):
                    # No way in at the split point: no split, the two ends meet each other.
                    run.split_at = ""
                    run.messages_lower.done = run.messages_upper.done = True
                else:  # refused on re-entering: the walk it meets reads its stretch instead
                    chain.walk.position.done = True
                self._checkpoint()
                continue
            if (
                chain is oldest
                and not tickets.done
                and self._needs_more_tickets(tickets.up, oldest)
            ):
                chain = tickets.up  # each message's ticket must be indexed before the message
                if not self._skip_done_pages(chain):
                    tickets.ended()
                    continue
            run.turn += 1
            if chain in (tickets.up, tickets.down):
                self._ticket_page(run, chain, emit_empty=True, pair=tickets)
                continue
            self._backfill_messages(run, chain, pair_of(chain), split_after=chain is newest)

    def _walk(
        self, path: str, descending: bool, position: WalkPosition, entered: bool = False
    ) -> ListingWalk:
        return ListingWalk(
            self.client, path, "created_datetime", descending, position=position, entered=entered
        )

    def _decide_split(self, run: RunProgress, first_newest: WalkPage) -> None:
        """After the newest-first walk's first page: split the gap left between the two message
        walks in the middle, if it is wide enough to pay, and start the two middle walks."""
        low, high = run.messages.after, run.messages_desc.after
        if run.messages.done or low is None or high is None:
            return  # the walks already met (a short listing): nothing left to split
        split = split_point(low, high, first_newest.keys)
        run.split_at = split[0] if split else ""
        if split is not None:
            for position in (run.messages_lower, run.messages_upper):
                position.cursor, position.after, position.done = keyset_cursor(split), split, False

    def _skip_done_pages(self, chain: Chain) -> bool:
        """Pass over pages with nothing new (a walk re-reading from the start after its cursor
        was refused) without using a turn, so rows keep the order they would have had.
        Returns False when the walk ended while doing so."""
        while not chain.done:
            page = chain.peek()
            if page.items or page.next_cursor is None:
                return True
            chain.take()
            chain.walk.advance(page)
            self._checkpoint()
        return False

    @staticmethod
    def _needs_more_tickets(tickets: Chain, messages: Chain) -> bool:
        page = messages.peek()
        frontier = tickets.walk.position.after
        # Equal times: the next ticket page may still hold one created in the same instant.
        return bool(page.keys) and (frontier is None or frontier[0] <= page.keys[-1][0])

    def _backfill_messages(
        self, run: RunProgress, chain: Chain, pair: Pair, split_after: bool = False
    ) -> None:
        page = chain.take()
        mine, met = pair.cut(chain, page.keys)
        in_window = []
        for message, key in zip(page.items[:mine], page.keys[:mine], strict=True):
            if run.upper and key[0] > run.upper:
                met = True  # past --until: nothing further up is wanted
                break
            in_window.append((message, key))
        self._message_rows(run, in_window)
        chain.walk.advance(page, finished=met)
        if chain.walk.done:  # met, or read the whole listing: the pair's stretch is done
            pair.ended()
        if split_after and run.split_at is None:
            # Saved with this page, so a run killed here decides on the same page again.
            self._decide_split(run, page)
        self._checkpoint()

    def _worth_asking_ahead(
        self, run: RunProgress, pair_of: Callable[[Chain], Pair], chain: Chain, page: WalkPage
    ) -> bool:
        """Whether to request the page after `page` now. Near where two walks meet (or past
        --until) that page would be mostly wasted, so it is not asked for."""
        if run.upper and page.keys and page.keys[-1][0] > run.upper:
            return False
        return pair_of(chain).worth_asking_ahead(chain, page)

    def _window(self, run: RunProgress, tickets_walk: ListingWalk, messages: ListingWalk) -> None:
        # Every ticket with a message in the window was updated inside it, so walking tickets by
        # updated_datetime down to the lower edge refreshes their context.
        lowers = [run.lower_tickets, run.lower_messages]
        ticket_floor = None if None in lowers else min(v for v in lowers if v)
        # Tickets without messages are found by creation time, a key that never moves: a ticket
        # updated during the walk above jumps past its position and would be missed there.
        created_walk = ListingWalk(
            self.client, "/tickets", "created_datetime", descending=True, position=run.new_tickets
        )
        updated = Chain(tickets_walk, prefetch=stays_above(ticket_floor))
        created = Chain(created_walk, prefetch=stays_above(run.lower_tickets))
        while not (updated.done and created.done):
            active = [chain for chain in (updated, created) if not chain.done]
            chain = active[run.turn % len(active)]
            if not self._skip_done_pages(chain):
                continue
            run.turn += 1
            if chain is updated:
                self._ticket_page(run, updated, emit_empty=False, stop_below=ticket_floor)
            else:
                self._ticket_page(run, created, emit_empty=True, stop_below=run.lower_tickets)
        newest = Chain(messages, prefetch=stays_above(run.lower_messages))
        while not messages.done:
            page = newest.take()
            in_window = []
            for message, key in zip(page.items, page.keys, strict=True):
                if run.upper and key[0] > run.upper:
                    continue
                if run.lower_messages and key[0] < run.lower_messages:
                    continue
                in_window.append((message, key))
            self._message_rows(run, in_window)
            messages.advance(page, finished=below(page, run.lower_messages))
            self._checkpoint()

    # -- pages to rows ---------------------------------------------------------------------

    def _ticket_page(
        self,
        run: RunProgress,
        chain: Chain,
        emit_empty: bool,
        stop_below: str | None = None,
        pair: Pair | None = None,
    ) -> None:
        """Index one page of tickets; with `emit_empty` (a walk by creation), write the rows of
        tickets without messages that fall in the run's window. With `pair`, the page ends
        where the walk meets the other end's."""
        page = chain.take()
        walk = chain.walk
        mine, met = pair.cut(chain, page.keys) if pair else (len(page.items), False)
        items, keys = page.items[:mine], page.keys[:mine]
        self.index.put_many(
            (t["id"], ticket_context(t)) for t in items if isinstance(t.get("id"), int)
        )
        if self.mirror is not None:
            self.mirror.tickets(items)
        self.tickets_read += len(items)
        beyond_until = False
        for ticket, (created, _) in zip(items, keys, strict=True) if emit_empty else ():
            if run.upper and created > run.upper:
                if not walk.descending:  # ascending: every ticket after this is beyond too
                    beyond_until = True
                    break
                continue
            if run.lower_tickets and created < run.lower_tickets:
                continue
            run.newest_ticket = _latest(run.newest_ticket, created)
            if ticket.get("messages_count") == 0:
                row_id = f"t:{ticket.get('id')}"
                if self._is_new_row(row_id):
                    self._write(row_id, created, conversation_row(ticket_context(ticket), None))
                    self.empty_ticket_rows += 1
        walk.advance(page, finished=beyond_until or below(page, stop_below) or met)
        if pair is not None and walk.done:
            pair.ended()
        self._checkpoint()

    def _message_rows(self, run: RunProgress, messages: list[tuple[dict[str, Any], Key]]) -> None:
        if not messages:
            return
        if self.mirror is not None:
            self.mirror.messages([message for message, _ in messages])
        contexts = self._contexts(message.get("ticket_id") for message, _ in messages)
        for message, key in messages:
            run.newest_message = _latest(run.newest_message, key[0])
            if run.oldest_message is None or key[0] < run.oldest_message:
                run.oldest_message = key[0]
            row_id = f"m:{message.get('id')}"
            if not self._is_new_row(row_id):
                continue
            ticket_id = message.get("ticket_id")
            context = contexts.get(ticket_id) if isinstance(ticket_id, int) else None
            row = conversation_row(context or unknown_ticket_context(ticket_id), message, key[0])
            self._write(row_id, key[0], row)
            self.message_rows += 1

    def _contexts(self, ticket_ids: Iterable[object]) -> dict[int, dict[str, Any]]:
        """Ticket context for these ids: from the index, else fetched 100 per request."""
        wanted = sorted({tid for tid in ticket_ids if isinstance(tid, int)})
        found = self.index.get_many(wanted)
        missing = [t for t in wanted if t not in found and t not in self._deleted_tickets]
        for start in range(0, len(missing), TICKET_IDS_PER_REQUEST):
            batch = missing[start : start + TICKET_IDS_PER_REQUEST]
            params: list[tuple[str, str | int]] = [
                ("limit", TICKET_IDS_PER_REQUEST),
                ("order_by", "created_datetime:asc"),
            ]
            params += [("ticket_ids", tid) for tid in batch]
            page = self.client.fetch_page("/tickets", params)
            fetched = [
                (t["id"], ticket_context(t)) for t in page.items if isinstance(t.get("id"), int)
            ]
            self.index.put_many(fetched)
            if self.mirror is not None:
                self.mirror.tickets(page.items)
            found.update(fetched)
            # Not returned: deleted since. Its messages keep only the ticket id.
            self._deleted_tickets.update(set(batch) - found.keys())
        return found

    # -- rows, de-duplication, checkpoints -------------------------------------------------

    def _is_new_row(self, row_id: str) -> bool:
        run = self.progress.run
        assert run is not None
        return row_id not in self.progress.seen and row_id not in run.recent

    def _write(self, row_id: str, key: str, row: dict[str, Any]) -> None:
        run = self.progress.run
        assert run is not None
        self.sink.write_row(row)
        self.progress.rows_written += 1
        run.recent[row_id] = key

    def _checkpoint(self) -> None:
        run = self.progress.run
        assert run is not None
        run.recent = _near_newest(
            run.recent, _capped(run.newest_ticket, run), _capped(run.newest_message, run)
        )
        self._sync_and_save()
        self._on_status(self.status())

    def _finish(self, run: RunProgress) -> None:
        p = self.progress
        p.watermark_tickets = _capped(_latest(p.watermark_tickets, run.newest_ticket), run)
        p.watermark_messages = _capped(_latest(p.watermark_messages, run.newest_message), run)
        p.seen = _near_newest({**p.seen, **run.recent}, p.watermark_tickets, p.watermark_messages)
        p.completed_runs += 1
        p.run = None
        self._sync_and_save()
        self._on_status(self.status(complete=True))

    def status(self, complete: bool = False) -> ExportStatus:
        run = self.progress.run
        phase = "done"
        if run is not None:
            tickets_pending = not (run.tickets.done and run.new_tickets.done)
            phase = "tickets" if run.plan == "window" and tickets_pending else "messages"
        stats = self.client.stats
        return ExportStatus(
            phase=phase,
            tickets_read=self.tickets_read,
            message_rows=self.message_rows,
            empty_ticket_rows=self.empty_ticket_rows,
            requests=stats.requests,
            rate_limited=stats.rate_limited,
            retries=stats.retries,
            allowed_rate=self.client.pacer.allowed_rate,
            fraction=1.0 if complete else self._fraction(run),
            complete=complete,
        )

    def _fraction(self, run: RunProgress | None) -> float | None:
        """How much of the messages' span of time the walks have covered (for the ETA)."""
        if run is None or run.messages.after is None:
            return None
        at = parse_api_datetime(run.messages.after[0])
        end = parse_api_datetime(run.started_at)
        if run.plan == "backfill":
            start = parse_api_datetime(run.oldest_message)
            if start is None or at is None or end is None or end <= start:
                return None
            covered = at - start
            # The other walks' shares: each from where it started to where it got.
            split = parse_api_datetime(run.split_at) if run.split_at else None
            for position, origin in (
                (run.messages_desc, end),
                (run.messages_lower, split),
                (run.messages_upper, split),
            ):
                reached = parse_api_datetime(position.after[0]) if position.after else None
                if reached is not None and origin is not None:
                    covered += abs(origin - reached)
            return min(1.0, max(0.0, covered / (end - start)))
        start, end = end, parse_api_datetime(run.lower_messages)
        if at is None or start is None or end is None or end == start:
            return None
        return min(1.0, max(0.0, (at - start) / (end - start)))


def _entering(run: RunProgress) -> bool:
    """Whether the message listing is split and neither middle walk has read a page yet."""
    entry = (run.split_at, 0)
    return bool(run.split_at) and all(
        not position.done and position.after == entry
        for position in (run.messages_lower, run.messages_upper)
    )


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
