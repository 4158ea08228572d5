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
from typing import Any

from gorgias_export.api.client import Params
from gorgias_export.api.prefetch import Chain
from gorgias_export.api.walk import ListingWalk, below, stays_above
from gorgias_export.exports.conversations import ConversationExport, ExportStatus
from gorgias_export.exports.progress import Key, RunProgress, WalkPosition
from gorgias_export.rows import conversation_row, ticket_context
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


class FilteredConversationExport(ConversationExport):
    """The conversation export restricted to the tickets a filter lists."""

    def __init__(self, *args: Any, listings: Sequence[Params], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.listings = list(listings)

    def run(self) -> ExportStatus:
        if self.progress.run is None:
            self.progress.run = self._plan_run()
        run = self.progress.run
        try:
            while run.listing < len(self.listings):
                self._walk_tickets(run, self.listings[run.listing])
                run.listing += 1
                run.tickets = WalkPosition()
            self._finish(run)
        except BaseException:
            self.sink.cut_back(self._saved_bytes)
            raise
        return self.status(complete=True)

    def _walk_tickets(self, run: RunProgress, params: Params) -> None:
        backfill = run.plan == "backfill"
        lowers = [run.lower_tickets, run.lower_messages]
        floor = None if backfill or None in lowers else min(v for v in lowers if v)
        walk = ListingWalk(
            self.client,
            "/tickets",
            "created_datetime" if backfill else "updated_datetime",
            descending=not backfill,
            position=run.tickets,
            filters=params,
        )
        chain = Chain(walk, prefetch=stays_above(floor))
        while not walk.done:
            page = chain.take()
            self.index.put_many(
                (t["id"], ticket_context(t)) for t in page.items if isinstance(t.get("id"), int)
            )
            if self.mirror is not None:
                self.mirror.tickets(page.items)
            self.tickets_read += len(page.items)
            beyond_until = False
            for ticket, key in zip(page.items, page.keys, strict=True):
                if backfill and run.upper and key[0] > run.upper:
                    beyond_until = True  # created after --until: so are all that follow
                    break
                if floor is None or key[0] >= floor:
                    self._conversation(run, ticket)
                self._ticket_done(run, walk, key)
            walk.advance(page, finished=beyond_until or below(page, floor))
            self._checkpoint()

    def _ticket_done(self, run: RunProgress, walk: ListingWalk, key: Key) -> None:
        """Move the walk's position to this ticket, inside its page: a resume skips it."""
        walk.position.after = key
        run.messages = WalkPosition()
        run.messages_of = 0
        self._checkpoint()

    def _conversation(self, run: RunProgress, ticket: dict[str, Any]) -> None:
        ticket_id = ticket.get("id")
        if not isinstance(ticket_id, int):
            return
        if ticket.get("messages_count") == 0:
            self._empty_ticket_row(run, ticket)
            return
        if run.messages_of != ticket_id:  # a saved message walk is only good for its ticket
            run.messages = WalkPosition()
            run.messages_of = ticket_id
        messages = ListingWalk(
            self.client,
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
            self._message_rows(run, in_window)
            messages.advance(page)
            if not messages.done:  # the last page is saved with the ticket, one step later
                self._checkpoint()

    def _empty_ticket_row(self, run: RunProgress, ticket: dict[str, Any]) -> None:
        created = sort_key(ticket.get("created_datetime"))
        if run.upper and created > run.upper:
            return
        if run.lower_tickets and created < run.lower_tickets:
            return
        run.newest_ticket = max(filter(None, (run.newest_ticket, created)), default=None)
        row_id = f"t:{ticket.get('id')}"
        if self._is_new_row(row_id):
            self._write(row_id, created, conversation_row(ticket_context(ticket), None))
            self.empty_ticket_rows += 1
