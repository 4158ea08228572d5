"""The deletion pass: after each run of `tickets` or `customers`, what the account deleted or
merged leaves the mirror (SQLite) or is logged beside the file (CSV, JSONL).

Three phases, each checkpointed through the job's own checkpoint (its state is
`progress.removals`), so that a kill at any moment and a rerun converge:
1. **events**: the `ticket-deleted`, `ticket-merged`, `customer-deleted` and `customer-merged`
   events since the last pass (a watermark, read with `created_datetime[gte]` and a 5-minute
   overlap), 100 a request. Every object an event names is read directly (removal_lookups.py):
   gone (404) → removed; still there (a merge target) → its messages re-read.
2. **reconcile** (SQLite; `--reconcile`, or every RECONCILE_EVERY-th pass while that costs at
   most AUTO_RECONCILE_MAX_REQUESTS): the ids of every ticket or customer are listed, 100 a
   request, and what the mirror holds beyond them is confirmed gone and removed: deletions older
   than the events kept, or events missed.
3. **recount** (the SQLite tickets mirror of a whole account): a ticket whose `messages_count`
   the mirror's messages do not match has its messages re-read with `/messages?ticket_id=`,
   once per count: merged messages move to their new ticket, whatever the events said.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from gorgias_export.api.client import Forbidden, GorgiasClient, Params
from gorgias_export.entity_types import EVENTS_LOOKBACK
from gorgias_export.errors import CursorRejected, UsageError
from gorgias_export.exports.removal_lookups import (
    PAGE,
    Item,
    event_objects,
    is_gone,
    live_tickets,
    messages_of,
)
from gorgias_export.output.mirror_removals import MirrorRemovals, Removal
from gorgias_export.rows import conversation_row, ticket_context
from gorgias_export.timeutil import format_utc, shift, sort_key

log = logging.getLogger("gorgias_export")
RECONCILE_EVERY = 10
# About 8 minutes at the API's sustained 2 requests a second: cheap beside a day's runs. A
# larger account reconciles only when asked (--reconcile), its cost being ceil(T/100).
AUTO_RECONCILE_MAX_REQUESTS = 500
MAX_PAGES = 1_000_000  # any loop over pages ends
# Re-reads per pass at most (one request per 100 messages each); the rest wait for the next.
MAX_RECOUNTS_PER_PASS = 2_000
# If the API's messages_count counted something else than the listing (undocumented), most
# re-read tickets would still disagree: after this many, over half disagreeing turns it off.
RECOUNT_TRIAL = 50
EVENT_TYPES = {
    "ticket": ("ticket-deleted", "ticket-merged", "customer-deleted"),
    "customer": ("customer-deleted", "customer-merged"),
}


class RemovalTarget(Protocol):
    def present(self, ids: Sequence[int]) -> set[int]: ...
    def remove(self, removals: Sequence[Removal]) -> None: ...


class Rows(Protocol):
    """The tickets mirror's writer (output/mirror.ConversationMirror)."""

    def tickets(self, items: list[Item]) -> None: ...
    def messages(self, items: list[Item]) -> None: ...
    def write_row(self, row: dict[str, Any]) -> None: ...
    def sync(self) -> int: ...


@dataclass
class RemovalCounts:
    removed: int = 0
    recounted: int = 0
    disagreed: int = 0  # re-read, and the count still differs
    reconciled: bool = False


class RemovalPass:
    """One pass for one kind ("ticket" or "customer") into one target, resumed from `state`."""

    def __init__(
        self,
        client: GorgiasClient,
        kind: str,
        target: RemovalTarget,
        state: dict[str, Any],
        save: Callable[[], None],
        *,
        rows: Rows | None = None,
        recount: bool = False,
        reconcile: bool = False,
        now: Callable[[], datetime] | None = None,
    ) -> None:
        self.client = client
        self.kind = kind
        self.target = target
        self.state = state
        self._save = save
        self._rows = rows
        self._mirror = target if isinstance(target, MirrorRemovals) else None
        self._recount = recount and self._mirror is not None and rows is not None
        self._asked_reconcile = reconcile
        self._now = now or (lambda: datetime.now().astimezone())
        self.counts = RemovalCounts()

    @staticmethod
    def begin(state: dict[str, Any], now: datetime) -> None:
        """Before a run's export: the first pass reads the events from the first run's start
        (what was deleted before it was never exported)."""
        state.setdefault("since", format_utc(now))

    def run(self) -> RemovalCounts:
        state = self.state
        if state.get("phase") is None:
            state.update(phase="events", cursor=None, started=format_utc(self._now()))
            state["reconcile"] = self._reconcile_due()
            self._checkpoint()  # the pass's start and plan, kept by a rerun that resumes it
        if state["phase"] == "events":
            self._events()
            self._next_phase("reconcile" if state.get("reconcile") else "recount")
        if state["phase"] == "reconcile":
            self._reconcile()
            self._next_phase("recount")
        if state["phase"] == "recount":
            if self._recount and not state.get("recount_off"):
                self._recount_tickets()
            state["since"] = state["started"]
            state["runs"] = int(state.get("runs", 0)) + 1
            floor = sort_key(shift(state["since"], -2 * EVENTS_LOOKBACK))
            handled = state.get("handled", {})
            state["handled"] = {k: v for k, v in handled.items() if v >= floor}
            self._next_phase(None)
        return self.counts

    def _next_phase(self, phase: str | None) -> None:
        self.state.update(phase=phase, cursor=None)
        self._checkpoint()

    def _checkpoint(self) -> None:
        sync = getattr(self.target, "sync", None)
        if sync is not None:
            sync()
        if self._rows is not None:
            self._rows.sync()
        self._save()

    def _reconcile_due(self) -> bool:
        if self._mirror is None:
            return False
        if self._asked_reconcile:
            return True
        due = (int(self.state.get("runs", 0)) + 1) % RECONCILE_EVERY == 0
        return due and -(-self._mirror.count() // PAGE) <= AUTO_RECONCILE_MAX_REQUESTS

    # -- 1. events ---------------------------------------------------------------------------

    def _events(self) -> None:
        since = shift(self.state["since"], -EVENTS_LOOKBACK) or self.state["since"]
        params: Params = [
            ("limit", PAGE),
            ("order_by", "created_datetime:asc"),
            ("created_datetime[gte]", since),
            *(("types", t) for t in EVENT_TYPES[self.kind]),
        ]
        for _ in range(MAX_PAGES):
            cursor = self.state.get("cursor")
            try:
                page = self.client.fetch_page("/events", params, cursor)
            except CursorRejected:  # expired: the page's work is idempotent, so start over
                self.state["cursor"] = None
                continue
            except (Forbidden, UsageError) as refused:
                # A key whose role may not read events (403), or an API that refuses `types`
                # (400): the export itself is done and saved, so it must not fail for this.
                # The recount and --reconcile still find what events would have told.
                log.warning("Deletions and merges not read from events: %s", refused)
                return
            self._handle_events(page.items)
            self.state["cursor"] = page.next_cursor
            if page.next_cursor is None:
                return
            self._checkpoint()

    def _handle_events(self, events: list[Item]) -> None:
        object_type = "Ticket" if self.kind == "ticket" else "Customer"
        how: dict[int, tuple[str, int | None, int | None]] = {}
        # Events of the overlap with the last pass were handled: a log line is not written
        # twice, nor an object read again. Saved with the page's checkpoint.
        handled: dict[str, str] = self.state.setdefault("handled", {})
        for event in events:
            key = str(event.get("id"))
            if key in handled:
                continue
            handled[key] = sort_key(event.get("created_datetime"))
            kind = str(event.get("type"))
            if self.kind == "ticket" and kind == "customer-deleted" and self._mirror:
                _, _, customers = event_objects(event, "Customer")
                for customer_id in customers:
                    for tid in self._mirror.tickets_of_customer(customer_id):
                        how.setdefault(tid, (kind, None, _id(event)))
                continue
            subject, target, named = event_objects(event, object_type)
            for object_id in named:
                merged_into = target if object_id == subject else None
                how.setdefault(object_id, (kind, merged_into, _id(event)))
        self._settle(how)

    def _settle(self, how: dict[int, tuple[str, int | None, int | None]]) -> None:
        """Each named object still in the target is read: gone → removed; there → refreshed."""
        held = sorted(self.target.present(sorted(how)))
        if not held:
            return
        now = format_utc(self._now())
        if self.kind == "ticket":
            alive, gone = live_tickets(self.client, held)
            for ticket in alive.values():
                self._refresh(ticket)
        else:
            gone = {cid for cid in held if is_gone(self.client, f"/customers/{cid}")}
        removals = [Removal(self.kind, i, *how[i][:2], how[i][2], now) for i in sorted(gone)]
        self.target.remove(removals)
        self.counts.removed += len(removals)

    # -- 2. reconcile ------------------------------------------------------------------------

    def _reconcile(self) -> None:
        mirror = self._mirror
        assert mirror is not None
        self.counts.reconciled = True
        path = "/tickets" if self.kind == "ticket" else "/customers"
        params: Params = [("limit", PAGE), ("order_by", "created_datetime:asc")]
        if self.state.get("cursor") is None and not self.state.get("listing"):
            mirror.clear_listed()
            self.state["listing"] = True
        for _ in range(MAX_PAGES):
            try:
                page = self.client.fetch_page(path, params, self.state.get("cursor"))
            except CursorRejected:  # expired: list again from the start (ids only add)
                self.state["cursor"] = None
                continue
            mirror.note_listed(item["id"] for item in page.items if isinstance(item.get("id"), int))
            self.state["cursor"] = page.next_cursor
            if page.next_cursor is None:
                break
            self._checkpoint()
        unlisted = mirror.unlisted()
        self._settle({i: ("reconcile", None, None) for i in unlisted})
        mirror.clear_listed()
        self.state.pop("listing", None)

    # -- 3. recount --------------------------------------------------------------------------

    def _recount_tickets(self) -> None:
        mirror = self._mirror
        assert mirror is not None
        counts = self.counts
        for _ in range(MAX_PAGES):
            if counts.recounted >= RECOUNT_TRIAL and counts.disagreed * 2 > counts.recounted:
                self.state["recount_off"] = True  # see RECOUNT_TRIAL; --reconcile still works
                return
            batch = mirror.mismatched(PAGE)
            if not batch or counts.recounted >= MAX_RECOUNTS_PER_PASS:
                return
            alive, gone = live_tickets(self.client, [tid for tid, _ in batch])
            for ticket in alive.values():
                self._refresh(ticket)
            now = format_utc(self._now())
            removals = [Removal("ticket", i, "recount", None, None, now) for i in sorted(gone)]
            mirror.remove(removals)
            self.counts.removed += len(removals)
            for tid, count in batch:  # neither listed nor 404: not re-read again at this count
                if tid not in alive and tid not in gone:
                    mirror.note_recount(tid, count)
            self._checkpoint()

    def _refresh(self, ticket: Item) -> None:
        """A ticket as it is now, its messages re-read: moved ones land under it, and the ones
        the API no longer lists under it leave."""
        restage = getattr(self.target, "restage", None)
        if restage is not None:  # --per ticket: the next run writes its line again
            restage(ticket, messages_of(self.client, ticket["id"]))
            return
        if self._rows is None or self._mirror is None:
            return
        tid = ticket["id"]
        messages = messages_of(self.client, tid)
        rows, mirror = self._rows, self._mirror
        rows.tickets([ticket])
        rows.messages(messages)
        context = ticket_context(ticket)
        for message in messages:
            created = sort_key(message.get("created_datetime"))
            rows.write_row(conversation_row(context, message, created))
        if not messages:
            rows.write_row(conversation_row(context, None, sort_key(ticket["created_datetime"])))
        rows.sync()
        stale = mirror.message_ids(tid) - {m["id"] for m in messages}
        if stale:
            mirror.drop_messages(stale)
        count = ticket.get("messages_count")
        if isinstance(count, int):
            mirror.note_recount(tid, count)
            self.counts.disagreed += count != len(messages)
        self.counts.recounted += 1


def _id(event: Item) -> int | None:
    value = event.get("id")
    return value if isinstance(value, int) and not isinstance(value, bool) else None
