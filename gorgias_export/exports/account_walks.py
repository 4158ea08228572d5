"""Where the whole account's conversations come from: `/tickets` and `/messages`, walked from
several ends at once, never one request per ticket.

- The first run ("backfill") walks `/tickets` from both ends beside `/messages` oldest first,
  keeping the ticket walk from below ahead so each message's ticket is already in the index
  when the message arrives (a merge join). Once tickets are done, messages are also walked
  newest first and, where the API takes a hand-built cursor, from a split point in the middle
  in both directions (api/meeting.py): walks stop where they meet.
- Later runs and `--since` runs ("window") walk newest first down to the window's lower edge:
  tickets by `updated_datetime` (a new message bumps it: fresh context), tickets by
  `created_datetime` (new tickets without messages), then messages.

Each walk keeps its next page requested ahead (api/prefetch.py); pages are processed one at a
time in an order fixed by the data and a saved turn counter, so a resumed run writes the same
bytes as an uninterrupted one.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable

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
from gorgias_export.errors import ApiError
from gorgias_export.exports.conversations import ConversationExport, latest
from gorgias_export.exports.empty_tickets import has_no_messages
from gorgias_export.exports.listing_counts import count_ticket
from gorgias_export.exports.progress import RunProgress, WalkPosition

log = logging.getLogger("gorgias_export")


class AccountWalks:
    """The TicketSource of an unfiltered export: the account-wide listings."""

    plans_requests = True  # a first run's requests follow from the listings' sizes

    def walk(self, export: ConversationExport, run: RunProgress) -> None:
        backfill = run.plan == "backfill"
        tickets = ListingWalk(
            export.client,
            "/tickets",
            "created_datetime" if backfill else "updated_datetime",
            descending=not backfill,
            position=run.tickets,
        )
        messages = ListingWalk(
            export.client,
            "/messages",
            "created_datetime",
            descending=not backfill,
            position=run.messages,
        )
        if backfill:
            _Backfill(export, run).walk(tickets, messages)
        else:
            _window(export, run, tickets, messages)


class _Backfill:
    """The first run: three, then four requests in flight (see the module's docstring)."""

    def __init__(self, export: ConversationExport, run: RunProgress) -> None:
        self.export = export
        self.run = run

    def _walk(
        self, path: str, descending: bool, position: WalkPosition, entered: bool = False
    ) -> ListingWalk:
        return ListingWalk(
            self.export.client,
            path,
            "created_datetime",
            descending,
            position=position,
            entered=entered,
        )

    def walk(self, tickets_walk: ListingWalk, messages: ListingWalk) -> None:
        """Pages are processed round-robin in an order that depends only on the data and
        `run.turn`, never on timing, so a resumed run writes the same bytes as an
        uninterrupted one."""
        run, export = self.run, self.export
        # --until keeps one walk per listing: reading down from the newest would mostly read
        # past it.
        if run.upper is not None:
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
            chain.prefetch = functools.partial(self._worth_asking_ahead, pair_of, chain)
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
                if not export.skip_done_pages(chain):
                    pair_of(chain).ended()  # read to the end of the listing
                    continue
                _believe_end(chain, pair_of(chain))
            except EntryRefused as refused:
                log.info("%s Reading on from the ends instead.", refused)
                if _entering(run):
                    # No way in at the split point: no split, the two ends meet each other.
                    run.split_at = ""
                    run.messages_lower.done = run.messages_upper.done = True
                else:  # refused on re-entering: the walk it meets reads its stretch instead
                    chain.walk.position.done = True
                export.checkpoint()
                continue
            if chain is oldest and not tickets.done and _needs_more_tickets(tickets.up, oldest):
                chain = tickets.up  # each message's ticket must be indexed before the message
                if not export.skip_done_pages(chain):
                    tickets.ended()
                    continue
                _believe_end(chain, tickets)
            run.turn += 1
            if chain in (tickets.up, tickets.down):
                _ticket_page(export, run, chain, emit_empty=True, pair=tickets)
                continue
            self._messages(chain, pair_of(chain), split_after=chain is newest)

    def _messages(self, chain: Chain, pair: Pair, split_after: bool = False) -> None:
        run = self.run
        page = chain.take()
        mine, met = pair.cut(chain, page.keys)
        in_window = []
        for message, key in zip(page.items[:mine], page.keys[:mine], strict=True):
            if run.upper and key[0] > run.upper:
                met = True  # past --until: nothing further up is wanted
                break
            in_window.append((message, key))
        self.export.message_rows(run, in_window)
        chain.walk.advance(page, finished=met)
        if chain.walk.done:  # met, or read the whole listing: the pair's stretch is done
            pair.ended()
        if split_after and run.split_at is None:
            # Saved with this page, so a run killed here decides on the same page again.
            self._decide_split(page)
        self.export.checkpoint()

    def _decide_split(self, first_newest: WalkPage) -> None:
        """After the newest-first walk's first page: split the gap left between the two message
        walks in the middle, if it is wide enough to pay, and start the two middle walks."""
        run = self.run
        low, high = run.messages.after, run.messages_desc.after
        if run.messages.done or low is None or high is None:
            return  # the walks already met (a short listing): nothing left to split
        split = split_point(low, high, first_newest.keys)
        run.split_at = split[0] if split else ""
        if split is not None:
            for position in (run.messages_lower, run.messages_upper):
                position.cursor, position.after, position.done = keyset_cursor(split), split, False
                position.decodes = False  # never sent: entered at its key (api/walk.py)

    def _worth_asking_ahead(
        self, pair_of: Callable[[Chain], Pair], chain: Chain, page: WalkPage
    ) -> bool:
        """Whether to request the page after `page` now. Near where two walks meet (or past
        --until) that page would be mostly wasted, so it is not asked for."""
        if self.run.upper and page.keys and page.keys[-1][0] > self.run.upper:
            return False
        return pair_of(chain).worth_asking_ahead(chain, page)


# How many times a page that ends a listing short of the partner walk is asked for again.
SHORT_END_TRIES = 3


def _believe_end(chain: Chain, pair: Pair) -> None:
    """A page that ends the listing before the walk meets its partner says that the rows the
    partner has already read are gone: the API answered wrongly (an empty last page in the
    middle of the listing), or every one of those rows was deleted meanwhile. Taken at its word,
    it would end both walks with the rows between them unread and the run would finish with
    exit 0 (issue 12). It is asked for again, then the run stops (exit 5, progress saved)."""
    for attempt in range(SHORT_END_TRIES + 1):
        page = chain.peek()
        # Not the end, no partner position to judge by, or it reaches the partner (a meeting).
        if (
            page.next_cursor is not None
            or pair.boundary(chain) is None
            or pair.cut(chain, page.keys)[1]
        ):
            if attempt:  # a wrong answer, even one put right, is worth a line
                log.warning(
                    "The API ended %s before the rows already read from its other end; the "
                    "page asked for again was whole.",
                    chain.walk.path,
                )
            return
        if attempt < SHORT_END_TRIES:
            log.info("%s ended short of the other end's rows; asking again", chain.walk.path)
            chain.again()
    raise ApiError(
        f"The API's {chain.walk.path} listing kept ending ({1 + SHORT_END_TRIES} times on the "
        "same page) before the rows already read from its other end, which would leave rows "
        "out; progress is saved, rerun the same command later to continue."
    )


def _needs_more_tickets(tickets: Chain, messages: Chain) -> bool:
    page = messages.peek()
    frontier = tickets.walk.position.after
    # Equal times: the next ticket page may still hold one created in the same instant.
    return bool(page.keys) and (frontier is None or frontier[0] <= page.keys[-1][0])


def _entering(run: RunProgress) -> bool:
    """Whether the message listing is split and neither middle walk has read a page yet."""
    entry = (run.split_at, 0)
    return bool(run.split_at) and all(
        not position.done and position.after == entry
        for position in (run.messages_lower, run.messages_upper)
    )


def _window(
    export: ConversationExport, run: RunProgress, tickets_walk: ListingWalk, messages: ListingWalk
) -> None:
    # Every ticket with a message in the window was updated inside it, so walking tickets by
    # updated_datetime down to the lower edge refreshes their context.
    lowers = [run.lower_tickets, run.lower_messages]
    ticket_floor = None if None in lowers else min(v for v in lowers if v)
    # Tickets without messages are found by creation time, a key that never moves: a ticket
    # updated during the walk above jumps past its position and would be missed there.
    created_walk = ListingWalk(
        export.client, "/tickets", "created_datetime", descending=True, position=run.new_tickets
    )
    updated = Chain(tickets_walk, prefetch=stays_above(ticket_floor))
    created = Chain(created_walk, prefetch=stays_above(run.lower_tickets))
    while not (updated.done and created.done):
        active = [chain for chain in (updated, created) if not chain.done]
        chain = active[run.turn % len(active)]
        if not export.skip_done_pages(chain):
            continue
        run.turn += 1
        if chain is updated:
            _ticket_page(export, run, updated, emit_empty=False, stop_below=ticket_floor)
        else:
            _ticket_page(export, run, created, emit_empty=True, stop_below=run.lower_tickets)
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
        export.message_rows(run, in_window)
        messages.advance(page, finished=below(page, run.lower_messages))
        export.checkpoint()


def _ticket_page(
    export: ConversationExport,
    run: RunProgress,
    chain: Chain,
    emit_empty: bool,
    stop_below: str | None = None,
    pair: Pair | None = None,
) -> None:
    """Index one page of tickets; with `emit_empty` (a walk by creation), write the rows of
    tickets without messages that fall in the run's window. With `pair`, the page ends where
    the walk meets the other end's."""
    page = chain.take()
    walk = chain.walk
    mine, met = pair.cut(chain, page.keys) if pair else (len(page.items), False)
    items, keys = page.items[:mine], page.keys[:mine]
    export.index_tickets(items)
    if emit_empty:  # a walk by creation: each ticket of the run once (listing_counts.py)
        for ticket in items:
            count_ticket(run, ticket)
    beyond_until = False
    for ticket, (created, _) in zip(items, keys, strict=True) if emit_empty else ():
        if run.upper and created > run.upper:
            if not walk.descending:  # ascending: every ticket after this is beyond too
                beyond_until = True
                break
            continue
        if run.lower_tickets and created < run.lower_tickets:
            continue
        run.newest_ticket = latest(run.newest_ticket, created)
        if has_no_messages(export.client, ticket):
            export.ticket_without_messages(run, ticket, created)
    walk.advance(page, finished=beyond_until or below(page, stop_below) or met)
    if pair is not None and walk.done:
        pair.ended()
    export.checkpoint()
