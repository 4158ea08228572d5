"""Conversations of some tickets only: `tickets --customer-id/--view-id/--external-id/--ticket-id`.

The account-wide message listing cannot be filtered by ticket, so reading it all to keep a few
tickets would cost the whole account's requests. Instead the tickets are listed with the
API's filter, and each matching ticket's messages are read with `/messages?ticket_id=`: one
request per ticket (per 100 messages). That is cheap for a customer's or a view's tickets;
for most of the account the unfiltered export is cheaper.

A checkpoint follows every ticket: the walk's position moves to that ticket inside its page,
and the ticket's own message walk is saved while it is in progress, so a resume re-reads at
most one page of tickets and one page of messages.
"""

from __future__ import annotations

from collections.abc import Sequence

from gorgias_export.api.client import Params
from gorgias_export.api.prefetch import Chain
from gorgias_export.api.walk import ListingWalk, below, stays_above
from gorgias_export.exports.conversations import ConversationExport, Item, latest
from gorgias_export.exports.empty_tickets import has_no_messages
from gorgias_export.exports.listing_counts import count_ticket
from gorgias_export.exports.progress import Key, RunProgress, WalkPosition
from gorgias_export.timeutil import sort_key

TICKET_IDS_PER_LISTING = 100  # the API's limit for ticket_ids


def ticket_listings(
    filters: Params, ticket_ids: Sequence[int]
) -> tuple[tuple[tuple[str, str | int], ...], ...]:
    """The sets of /tickets parameters to walk: the filters, once per 100 ticket ids."""
    base = tuple(filters)
    if not ticket_ids:
        return (base,) if base else ()
    unique = sorted(set(ticket_ids))
    return tuple(
        (*base, *(("ticket_ids", tid) for tid in unique[i : i + TICKET_IDS_PER_LISTING]))
        for i in range(0, len(unique), TICKET_IDS_PER_LISTING)
    )


class FilteredTickets:
    """The TicketSource of a filtered export: the tickets the filters list, each ticket's
    messages read with `/messages?ticket_id=`."""

    def __init__(self, listings: Sequence[Params]) -> None:
        self.listings = list(listings)

    def walk(self, export: ConversationExport, run: RunProgress) -> None:
        while run.listing < len(self.listings):
            self._walk_tickets(export, run, self.listings[run.listing])
            run.listing += 1
            run.tickets = WalkPosition()

    def _walk_tickets(self, export: ConversationExport, run: RunProgress, params: Params) -> None:
        backfill = run.plan == "backfill"
        lowers = [run.lower_tickets, run.lower_messages]
        floor = None if backfill or None in lowers else min(v for v in lowers if v)
        walk = ListingWalk(
            export.client,
            "/tickets",
            "created_datetime" if backfill else "updated_datetime",
            descending=not backfill,
            position=run.tickets,
            filters=params,
        )
        chain = Chain(walk, prefetch=stays_above(floor))
        while not walk.done:
            page = chain.take()
            export.index_tickets(page.items)
            beyond_until = False
            for ticket, key in zip(page.items, page.keys, strict=True):
                if backfill and run.upper and key[0] > run.upper:
                    beyond_until = True  # created after --until: so are all that follow
                    break
                if floor is None or key[0] >= floor:
                    self._conversation(export, run, ticket)
                    count_ticket(run, ticket)  # saved with the ticket's checkpoint, just below
                _ticket_done(export, run, walk, key)
            walk.advance(page, finished=beyond_until or below(page, floor))
            export.checkpoint()

    def _conversation(self, export: ConversationExport, run: RunProgress, ticket: Item) -> None:
        ticket_id = ticket.get("id")
        if not isinstance(ticket_id, int):
            return
        if has_no_messages(export.client, ticket):
            _without_messages(export, run, ticket)
            return
        if run.messages_of != ticket_id:  # a saved message walk is only good for its ticket
            run.messages = WalkPosition()
            run.messages_of = ticket_id
        messages = ListingWalk(
            export.client,
            "/messages",
            "created_datetime",
            descending=False,
            position=run.messages,
            filters=[("ticket_id", ticket_id)],
        )
        while not messages.done:
            page = messages.page_from(messages.request(messages.position.cursor))
            in_window = [
                (message, key)
                for message, key in zip(page.items, page.keys, strict=True)
                if not (run.upper and key[0] > run.upper)
                and not (run.lower_messages and key[0] < run.lower_messages)
            ]
            export.message_rows(run, in_window)
            messages.advance(page)
            if not messages.done:  # the last page is saved with the ticket, one step later
                export.checkpoint()


def _ticket_done(export: ConversationExport, run: RunProgress, walk: ListingWalk, key: Key) -> None:
    """Move the walk's position to this ticket, inside its page: a resume skips it."""
    walk.position.after = key
    run.messages = WalkPosition()
    run.messages_of = 0
    export.checkpoint()


def _without_messages(export: ConversationExport, run: RunProgress, ticket: Item) -> None:
    created = sort_key(ticket.get("created_datetime"))
    if run.upper and created > run.upper:
        return
    if run.lower_tickets and created < run.lower_tickets:
        return
    run.newest_ticket = latest(run.newest_ticket, created)
    export.ticket_without_messages(run, ticket, created)
