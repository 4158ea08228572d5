"""Walking one list endpoint page by page, resumable from a saved position.

A walk fetches a page, hands its new items to the caller, and only moves its position when the
caller says the page is done (after the rows are durable). Items at or before the saved key are
dropped, which makes a repeated page harmless and lets a walk whose cursor was refused start
over from the top and skip what it already did.

A walk can also enter a listing in the middle, through a cursor built by hand (`keyset_cursor`):
the API's cursors appear to be base64url of `["next", <sort value>, <id>]` (gorgias-api.md, an
inference). Whether the real API takes such a cursor is unsure, so it is checked: a refusal, or a
page that does not start past the key asked for, raises `EntryRefused`, and the export reads
that stretch from the ends instead (exports/account_walks.py, meeting.py).
"""

from __future__ import annotations

import base64
import json
import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from gorgias_export.api.client import BrokenBody, GorgiasClient, Page, Params, link_paged
from gorgias_export.api.http import Answer
from gorgias_export.errors import ApiError, CursorRejected
from gorgias_export.exports.progress import Key, WalkPosition
from gorgias_export.timeutil import sort_key

log = logging.getLogger("gorgias_export")

PAGE_SIZE = 100  # the API's maximum


class EntryRefused(Exception):
    """A hand-built cursor was refused, or answered with a page from the wrong place."""


def keyset_cursor(key: Key) -> str:
    """A cursor for the items after `key` in the walk's order, in the API's shape. The sort
    value is written as the API shows datetimes (`+00:00`), the id as a number."""
    value = key[0][:-1] + "+00:00" if key[0].endswith("Z") else key[0]
    raw = json.dumps(["next", value, key[1]], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


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


@dataclass
class WalkPage:
    items: list[dict[str, Any]]  # the page's items not done before, in walk order
    keys: list[Key]  # their keys, computed once
    next_cursor: str | None
    last_key: Key | None  # key of the page's last item, done or not (for stop conditions)


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
        order = [("order_by", f"{order_field}:{'desc' if descending else 'asc'}")]
        # No order field: the endpoint's own order (`get`, or an order_by in `filters`).
        self.params: Params = [("limit", PAGE_SIZE), *(order if order_field else []), *filters]
        self.recoveries = 0
        self._recoveries_seen = 0
        self._recent_cursors: deque[str] = deque(maxlen=64)
        # A view's items: a link's cursor includes its own value and leaves out one item, so a
        # ticket tied with the last one of a page comes again on the next (api/client.py).
        self._previous_ids: set[Any] | None = set() if link_paged(path) else None

    @property
    def done(self) -> bool:
        return self.position.done

    def key(self, item: dict[str, Any]) -> Key:
        return item_key(item, self.order_field)

    def request(self, cursor: str | None, ahead: bool = False) -> Fetched:
        """The page at `cursor`, with the cursor it was really fetched with (network only: safe
        to run on another thread). `ahead`: a page asked for before it is needed, kept as the
        answer's bytes until `page_from` decodes it."""
        if self.entered:
            return self._request_entered(cursor, ahead)
        try:
            return self._fetch(cursor, ahead)
        except CursorRejected as refused:
            # Cursors are short-lived: start over and skip by key, which costs requests but
            # never a row. (Only a cursor we saved can be refused; the first page has none.)
            log.warning("%s Re-reading %s from the start, skipping done rows.", refused, self.path)
            self.recoveries += 1
            return self._fetch(None, ahead)

    def _fetch(self, cursor: str | None, ahead: bool, entry: Key | None = None) -> Fetched:
        if ahead:
            answer = self.client.fetch_body(self.path, self.params, cursor)
            return Fetched(None, cursor, entry, answer)
        return Fetched(self.client.fetch_page(self.path, self.params, cursor), cursor, entry)

    def _request_entered(self, cursor: str | None, ahead: bool) -> Fetched:
        after = self.position.after
        built = keyset_cursor(after) if after is not None else None
        if after is not None and after[1] == 0 and cursor == built:
            # The split point itself (no item has id 0): only a hand-built cursor leads there.
            # An API that cannot read one may answer anything, a 5xx too; failing the run
            # would fail every rerun at the same request, so any error ends this walk.
            try:
                return self._fetch(built, ahead, entry=after)
            except ApiError as failed:
                raise self._refused() from failed
        try:
            return self._fetch(cursor, ahead, entry=after if cursor == built else None)
        except CursorRejected as refused:
            if built is None or cursor == built:
                raise self._refused() from refused
            log.info(
                "%s Entering %s again with a cursor built from the position.", refused, self.path
            )
            try:
                return self._fetch(built, ahead, entry=after)
            except CursorRejected as again:
                raise self._refused() from again

    def _decoded(self, fetched: Fetched) -> tuple[Page, Fetched]:
        """The page of `fetched`, decoding a page asked for ahead; one whose body turns out
        broken is asked for again, now, with the client's retries."""
        if fetched.page is not None:
            return fetched.page, fetched
        assert fetched.answer is not None
        try:
            return self.client.page_of(fetched.answer, self.path), fetched
        except BrokenBody as broken:
            log.info("retrying %s now after %s", self.path, broken)
        again = self.request(fetched.cursor)
        assert again.page is not None
        return again.page, again

    def _refused(self) -> EntryRefused:
        # Not the client's "refused a saved cursor": this one was built here (the request's
        # status is in the --verbose log line just before).
        return EntryRefused(f"The API did not take a hand-built cursor on {self.path}.")

    def page_from(self, fetched: Fetched) -> WalkPage:
        """Keep the items not done yet; guard against a cursor that comes back."""
        page, fetched = self._decoded(fetched)
        if fetched.entry is not None:
            self._check_entry(page.items, fetched.entry)
        if page.next_cursor is not None and page.next_cursor == fetched.cursor:
            raise ApiError(
                f"The API returned a cursor on {self.path} that leads back to the same page; "
                "stopping instead of looping (progress is saved)."
            )
        if page.next_cursor is not None and page.next_cursor in self._recent_cursors:
            if self.recoveries > self._recoveries_seen:
                # Keyset cursors repeat on a second walk: the guard starts over with it.
                self._recent_cursors.clear()
            else:
                raise ApiError(
                    f"The API returned a cursor on {self.path} that it had already given; "
                    "stopping instead of looping (progress is saved)."
                )
        self._recoveries_seen = self.recoveries
        keys = [self.key(item) for item in page.items]
        fresh = [
            (item, key)
            for item, key in zip(page.items, keys, strict=True)
            if self._is_new(key) and not self._on_previous_page(item)
        ]
        if self._previous_ids is not None:
            self._previous_ids = {item.get("id") for item in page.items}
        return WalkPage(
            items=[item for item, _ in fresh],
            keys=[key for _, key in fresh],
            next_cursor=page.next_cursor,
            last_key=keys[-1] if keys else None,
        )

    def _check_entry(self, items: list[dict[str, Any]], entry: Key) -> None:
        """A page from a hand-built cursor must lie wholly past its key: an API that ignored or
        misread the cursor would answer with another place in the listing. It must not be
        empty either: past any key a middle walk enters at lie at least the rows its partner
        (an end) has read, and an empty last page would end the walk and its partner with the
        rows between them unread."""
        keys = [self.key(item) for item in items]
        past = all(k < entry for k in keys) if self.descending else all(k > entry for k in keys)
        if not keys or not past:
            raise EntryRefused(f"The API answered a hand-built cursor on {self.path} out of place.")

    def _on_previous_page(self, item: dict[str, Any]) -> bool:
        item_id = item.get("id")
        return (
            self._previous_ids is not None and item_id is not None and item_id in self._previous_ids
        )

    def _is_new(self, key: Key) -> bool:
        after = self.position.after
        if after is None or not self.skip_by_key:
            return True
        return key < after if self.descending else key > after

    def advance(self, page: WalkPage, finished: bool = False) -> None:
        """Mark `page` done: the next fetch continues after it."""
        if page.keys and self.skip_by_key:
            self.position.after = page.keys[-1]
        if page.next_cursor is not None:
            self._recent_cursors.append(page.next_cursor)
        self.position.cursor = page.next_cursor
        self.position.done = finished or page.next_cursor is None
