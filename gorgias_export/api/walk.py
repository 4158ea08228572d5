"""Walking one list endpoint page by page, resumable from a saved position.

A walk fetches a page, hands its new items to the caller, and only moves its position when the
caller says the page is done (after the rows are durable). Items at or before the saved key are
dropped, which makes a repeated page harmless.

A walk can also enter a listing at a key of its own, through a cursor built by hand
(`keyset_cursor`, in the real API's encoding: docs/cursors.md):
- a middle walk enters at the split point of the message listing (exports/account_walks.py);
- a walk whose saved cursor is refused re-enters right after its saved position, instead of
  re-reading the listing from the top.
Whether the API takes a built cursor is unsure, so such a request is optional (one try, no long
retries) and its page is checked: a refusal, an error, or a page that does not lie past the key
asked for, makes a middle walk raise `EntryRefused` (the ends read that stretch instead) and
an end walk start over from the top, skipping by key what it already did.
"""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from gorgias_export.api.answers import Page, Params, link_paged
from gorgias_export.api.client import BrokenBody, GorgiasClient, RetriesExhausted
from gorgias_export.api.cursor_form import documented
from gorgias_export.api.http import Answer
from gorgias_export.api.loop_guard import ProgressGuard
from gorgias_export.errors import ApiError, AuthError, CursorRejected
from gorgias_export.exports.progress import Key, WalkPosition
from gorgias_export.timeutil import sort_key

log = logging.getLogger("gorgias_export")

PAGE_SIZE = 100  # the API's maximum
# Starting a listing over from the top costs its pages again: an API that keeps refusing the
# cursors it gives, a little further each time, would otherwise have it read again and again.
MAX_RESTARTS = 5
# What a request with a built cursor may fail with and still only mean that the cursor is no
# good: any 4xx, a 401 or 403 too (an API that checks its cursors may answer a forged one so).
# Credentials that really stopped working fail the next ordinary request.
_BUILT_CURSOR_FAILURES = (ApiError, AuthError)


class EntryRefused(Exception):
    """A hand-built cursor was refused, or answered with a page from the wrong place."""


def keyset_cursor(key: Key) -> str:
    """A cursor for the items after `key` in the walk's order, byte for byte as the API writes
    its own: standard base64, padded, of `json.dumps(["next", <naive datetime with
    microseconds>, <id>])` with json's default separators (docs/cursors.md). "next" means
    onward in the listing's own order, descending ones too. Keys hold UTC datetimes as
    `YYYY-MM-DDTHH:MM:SS.ffffffZ`; the API's cursors hold the same instant without the zone."""
    value = key[0][:-1] if key[0].endswith("Z") else key[0]
    raw = json.dumps(["next", value, key[1]]).encode()
    return base64.b64encode(raw).decode("ascii")


def item_key(item: dict[str, Any], field: str) -> Key:
    raw_id = item.get("id")
    return (sort_key(item.get(field)), raw_id if isinstance(raw_id, int) else 0)


@dataclass(frozen=True)
class Fetched:
    """A raw page and the cursor it was fetched with (None after a restart from the top)."""

    page: Page | None  # None for a page asked for ahead: its `answer`, not decoded yet
    cursor: str | None
    entry: Key | None = None  # for a hand-built cursor: the key its page must start past
    answer: Answer | None = None
    refused: CursorRejected | None = None  # a page asked for ahead whose cursor was refused


@dataclass
class WalkPage:
    items: list[dict[str, Any]]  # the page's items not done before, in walk order
    keys: list[Key]  # their keys, computed once
    next_cursor: str | None
    last_key: Key | None  # key of the page's last item, done or not (for stop conditions)
    page_ids: list[int] = field(default_factory=list)  # a view's items: every id on the page


def below(page: WalkPage, floor: str | None) -> bool:
    """Whether a walk down to `floor` went below it with `page` (it stops after this page)."""
    return bool(floor and page.last_key and page.last_key[0] < floor)


def stays_above(floor: str | None) -> Callable[[WalkPage], bool]:
    """A Chain's prefetch rule for a walk down to `floor`: ask for the next page ahead only if
    this one did not go below the floor (the walk then stops, and that page would be wasted)."""
    return lambda page: not below(page, floor)


class ListingWalk:
    """A resumable keyset walk over one list endpoint in one direction."""

    def __init__(
        self,
        client: GorgiasClient,
        path: str,
        order_field: str,
        descending: bool,
        position: WalkPosition,
        filters: Params = (),
        skip_by_key: bool = True,
        entered: bool = False,
    ) -> None:
        self.client = client
        # Entered in the middle with a hand-built cursor: a refused cursor is rebuilt from the
        # position, never restarted from the top (which would re-read the other walks' part).
        self.entered = entered
        # Off for walks whose order is not a time (custom fields by priority): the caller then
        # de-duplicates by id instead.
        self.skip_by_key = skip_by_key
        self.path = path
        self.order_field = order_field
        self.descending = descending
        self.position = position
        # The cursor an earlier run saved: one the API kept failing on is given up like a
        # refused one (an expired cursor may get a 5xx), or every rerun would stop at it.
        self._saved_cursor = position.cursor
        order = [("order_by", f"{order_field}:{'desc' if descending else 'asc'}")]
        # No order field: the endpoint's own order (`get`, or an order_by in `filters`).
        self.params: Params = [("limit", PAGE_SIZE), *(order if order_field else []), *filters]
        self.recoveries = 0
        self._recoveries_seen = 0
        # Pages done since the walk began here or last started over, and how many it had done
        # when it last started over: each restart must get further than the one before.
        self._pages_done = 0
        self._reached: int | None = None
        # Loop guards, reset when the walk starts over (see `_reset_guards`).
        self._cursors_seen: set[str] = set()
        self._progress_guard = ProgressGuard(path, order_field, descending)
        # A view's items: a link's cursor includes its own value and leaves out one item, so a
        # ticket tied with the last one of a page comes again on the next (api/client.py). The
        # ids of the last page done are kept in the position, so a resumed walk knows them too.
        self._link_paged = link_paged(path)

    @property
    def done(self) -> bool:
        return self.position.done

    def key(self, item: dict[str, Any]) -> Key:
        return item_key(item, self.order_field)

    def request(self, cursor: str | None, ahead: bool = False) -> Fetched:
        """The page at `cursor`, with the cursor it was really fetched with (network only: safe
        to run on another thread). `ahead`: a page asked for before it is needed, kept as the
        answer's bytes until `page_from` decodes it; if its cursor is refused, the way on is
        found there too, from the position the page follows."""
        try:
            if self.entered:
                return self._request_entered(cursor, ahead)
            return self._fetch(cursor, ahead)
        except CursorRejected as refused:
            if ahead:
                # The way on starts from the position, which the consumer may not have moved
                # to this page yet: it is taken where the page is used (`_decoded`).
                return Fetched(None, cursor, refused=refused)
            return self._recover(cursor, refused, ahead)
        except RetriesExhausted:
            if ahead or cursor is None or cursor != self._saved_cursor:
                raise
            self._saved_cursor = None
            failing = CursorRejected(f"The API kept failing on the cursor saved for {self.path}.")
            return self._recover(cursor, failing, ahead)

    def _recover(self, cursor: str | None, refused: CursorRejected, ahead: bool) -> Fetched:
        """The page at `cursor` after the API refused it, from the walk's position."""
        if self.entered:
            after = self.position.after
            if after is None:
                raise refused
            # Entered in the middle: never restarted from the top (which would re-read the
            # other walks' part), only entered again at its position.
            if cursor == keyset_cursor(after):
                raise self._refused() from refused
            log.info("%s Entering %s again after the saved position.", refused, self.path)
            return self._enter_at(after, ahead)
        # Only a cursor we saved can be refused (the first page has none). Cursors are
        # short-lived: enter again right after the saved position, which re-reads nothing.
        entry = self._reentry_key()
        if entry is None or keyset_cursor(entry) == cursor:
            return self._restart(str(refused), ahead)
        log.info("%s Entering %s again after the saved position.", refused, self.path)
        try:
            return self._fetch(keyset_cursor(entry), ahead, entry=entry)
        except _BUILT_CURSOR_FAILURES as failed:
            return self._restart(f"{refused} {failed}", ahead)

    def _reentry_key(self) -> Key | None:
        """The key to build a re-entry cursor from: only where the walk skips by a time key
        (the cursors hold a datetime), and never an unreadable one."""
        after = self.position.after
        if after is None or not self.skip_by_key or not self.order_field or not after[0]:
            return None
        return after

    def _restart(self, reason: str, ahead: bool) -> Fetched:
        """Start over from the top and skip by key: costs requests, never a row. Not again
        before the walk got past where it was: the API is then refusing the cursors it has
        just given, and starting over would read the same pages for ever."""
        if self._reached is not None and self._pages_done <= self._reached:
            raise ApiError(
                f"The API refused a cursor it had just given on {self.path}, again after the "
                "walk started over; stopping instead of looping (progress is saved)."
            )
        if self.recoveries >= MAX_RESTARTS:
            raise ApiError(
                f"The API refused the cursors of {self.path} {self.recoveries + 1} times, and "
                "each time the walk started over; stopping instead of looping (progress is "
                "saved, rerun later to continue)."
            )
        self._reached, self._pages_done = self._pages_done, 0
        log.warning("%s Re-reading %s from the start, skipping done rows.", reason, self.path)
        self.recoveries += 1
        return self._fetch(None, ahead)

    def _fetch(self, cursor: str | None, ahead: bool, entry: Key | None = None) -> Fetched:
        # A built cursor (`entry`) has another way to its rows, so its request is optional:
        # one try, never the minutes of retries an API that cannot read it might cause.
        optional = entry is not None
        if ahead:
            answer = self.client.fetch_body(self.path, self.params, cursor, optional=optional)
            return Fetched(None, cursor, entry, answer)
        page = self.client.fetch_page(self.path, self.params, cursor, optional=optional)
        return Fetched(page, cursor, entry)

    def _request_entered(self, cursor: str | None, ahead: bool) -> Fetched:
        after = self.position.after
        if after is None:
            return self._fetch(cursor, ahead)
        if not ahead and after[1] == 0 and cursor == self.position.cursor:
            # The split point itself (no item has id 0): only a built cursor leads there,
            # whatever was saved (0.2.0 and earlier saved it in another encoding). An API that
            # cannot read it may answer anything, a 5xx too; failing the run would fail every
            # rerun at the same request, so any error ends this walk. Only the walk's first
            # page is asked for there, and never ahead: a page asked for ahead runs on another
            # thread while the consumer moves `position`, so its fields may not agree.
            return self._enter_at(after, ahead)
        return self._fetch(cursor, ahead)  # refused: `_recover`

    def _enter_at(self, key: Key, ahead: bool) -> Fetched:
        try:
            return self._fetch(keyset_cursor(key), ahead, entry=key)
        except _BUILT_CURSOR_FAILURES as failed:
            raise self._refused() from failed

    def _refused(self) -> EntryRefused:
        # Not the client's "refused a saved cursor": this one was built here (the request's
        # status is in the --verbose log line just before).
        return EntryRefused(f"The API did not take a hand-built cursor on {self.path}.")

    def _decoded(self, fetched: Fetched) -> tuple[Page, Fetched]:
        """The page of `fetched`, decoding a page asked for ahead and checking the page of a
        built cursor. A page asked for ahead whose body turns out broken is asked for again,
        now, with the client's retries; a built cursor's is a failed entry."""
        if fetched.refused is not None:
            return self._decoded(self._recover(fetched.cursor, fetched.refused, ahead=False))
        page = fetched.page
        if page is None:
            assert fetched.answer is not None
            try:
                page = self.client.page_of(fetched.answer, self.path, self.params)
            except BrokenBody as broken:
                if fetched.entry is not None:
                    return self._entry_failed(f"{broken} on a hand-built cursor on {self.path}.")
                log.info("retrying %s now after %s", self.path, broken)
                return self._decoded(self.request(fetched.cursor))
        if fetched.entry is not None and not self._lies_past(page.items, fetched.entry):
            return self._entry_failed(
                f"The API answered a hand-built cursor on {self.path} out of place."
            )
        return page, fetched

    def _entry_failed(self, reason: str) -> tuple[Page, Fetched]:
        """A middle walk gives its stretch up to the walk it meets; an end walk starts over."""
        if self.entered:
            raise EntryRefused(reason)
        return self._decoded(self._restart(reason, ahead=False))

    def page_from(self, fetched: Fetched) -> WalkPage:
        """Keep the items not done yet; guard against a cursor that comes back."""
        page, fetched = self._decoded(fetched)
        if page.next_cursor is not None and page.next_cursor == fetched.cursor:
            raise ApiError(
                f"The API returned a cursor on {self.path} that leads back to the same page; "
                "stopping instead of looping (progress is saved)."
            )
        if self.recoveries > self._recoveries_seen or fetched.cursor is None:
            # Started over (or first page): keyset cursors and positions repeat on a second
            # walk, so the guards start over with it.
            self._reset_guards()
        self._recoveries_seen = self.recoveries
        if page.next_cursor is not None and page.next_cursor in self._cursors_seen:
            raise ApiError(
                f"The API returned a cursor on {self.path} that it had already given; "
                "stopping instead of looping (progress is saved)."
            )
        keys = [self.key(item) for item in page.items]
        self._progress_guard.check(page.items, keys)
        previous = set(self.position.previous_ids)  # empty but on a view's items
        fresh = [
            (item, key)
            for item, key in zip(page.items, keys, strict=True)
            if self._is_new(key) and not (previous and item.get("id") in previous)
        ]
        return WalkPage(
            items=[item for item, _ in fresh],
            keys=[key for _, key in fresh],
            next_cursor=page.next_cursor,
            last_key=keys[-1] if keys else None,
            page_ids=_int_ids(page.items) if self._link_paged else [],
        )

    def _reset_guards(self) -> None:
        self._cursors_seen.clear()
        self._progress_guard = ProgressGuard(self.path, self.order_field, self.descending)

    def _lies_past(self, items: list[dict[str, Any]], entry: Key) -> bool:
        """Whether a built cursor's page lies wholly past its key: an API that ignored or
        misread the cursor would answer with another place in the listing. It must not be
        empty either: past any key a middle walk enters at lie at least the rows its partner
        (an end) has read, and an empty last page would end the walk and its partner with the
        rows between them unread. An end walk's saved cursor is not given for an empty page,
        so an empty one is not trusted there either (the walk starts over instead)."""
        keys = [self.key(item) for item in items]
        past = all(k < entry for k in keys) if self.descending else all(k > entry for k in keys)
        return bool(keys) and past

    def _is_new(self, key: Key) -> bool:
        after = self.position.after
        if after is None or not self.skip_by_key:
            return True
        return key < after if self.descending else key > after

    def advance(self, page: WalkPage, finished: bool = False) -> None:
        """Mark `page` done: the next fetch continues after it."""
        self._pages_done += 1
        if page.keys and self.skip_by_key:
            self.position.after = page.keys[-1]
        if page.next_cursor is not None:
            self._cursors_seen.add(page.next_cursor)  # a cursor a page: bounded by the listing
        if self._link_paged:
            self.position.previous_ids = page.page_ids
        self.position.cursor = page.next_cursor
        # A cursor in the API's documented encoding is marked so: a resume checks it still is
        # (exports/progress.py). One the API gave in another form is sent back unchecked.
        self.position.decodes = page.next_cursor is not None and documented(page.next_cursor)
        self.position.done = finished or page.next_cursor is None


def _int_ids(items: list[dict[str, Any]]) -> list[int]:
    return [i for i in (item.get("id") for item in items) if isinstance(i, int)]
