"""Latency hiding: keep the next page of a walk in flight while the current one is processed.

A real page of 100 messages takes from hundreds of milliseconds to seconds to arrive, so a
client that waits for each page before asking for the next cannot reach the account's allowed
rate. A `Chain` asks for page n+1 as soon as page n is taken (its cursor is known then), on a
daemon thread, so that several walks (tickets and messages, or one listing from both ends) keep
several requests in flight. Pages are still *processed* one at a time, in an order the caller
decides, so checkpoints and exactly-once work as with a single walk.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable

from gorgias_export.api.walk import Fetched, ListingWalk, WalkPage


class _Fetch:
    """One page request, run by a worker thread; `result` waits for it."""

    def __init__(self, walk: ListingWalk, cursor: str | None) -> None:
        self.walk = walk
        self.cursor = cursor
        self._fetched: Fetched | None = None
        self._error: BaseException | None = None
        self._done = threading.Event()
        _WORKERS.run(self)

    def run(self) -> None:
        try:
            self._fetched = self.walk.request(self.cursor, ahead=True)
        except BaseException as error:  # handed to the consumer, who decides
            self._error = error
        finally:
            self._done.set()

    def result(self) -> Fetched:
        self._done.wait()
        if self._error is not None:
            raise self._error
        assert self._fetched is not None
        return self._fetched


class _Workers:
    """Daemon threads that run the fetches, kept between them (a new thread per page cost its
    creation each time), one more started whenever none is idle: as many as there are requests
    in flight. Daemons, so an interrupted run never waits for a request to end."""

    def __init__(self) -> None:
        self._jobs: queue.SimpleQueue[_Fetch] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._idle = 0

    def run(self, fetch: _Fetch) -> None:
        with self._lock:
            start = self._idle == 0
            if not start:
                self._idle -= 1  # that idle worker takes it from the queue
        self._jobs.put(fetch)
        if start:
            threading.Thread(target=self._work, name="gorgias-export-fetch", daemon=True).start()

    def _work(self) -> None:
        while True:
            self._jobs.get().run()
            with self._lock:
                self._idle += 1


_WORKERS = _Workers()


class Chain:
    """A walk with its next page requested ahead of time."""

    def __init__(
        self, walk: ListingWalk, prefetch: Callable[[WalkPage], bool] = lambda page: True
    ) -> None:
        self.walk = walk
        self.prefetch = prefetch  # asked after each page: is the next one worth asking for?
        self._ahead: _Fetch | None = None
        self._peeked: WalkPage | None = None

    @property
    def done(self) -> bool:
        return self.walk.done

    def peek(self) -> WalkPage:
        """The next unprocessed page (waiting for it if needed), without consuming it."""
        if self._peeked is None:
            cursor = self.walk.position.cursor
            ahead, self._ahead = self._ahead, None
            # A page fetched ahead is only good if the walk still continues from its cursor.
            raw = ahead.result() if ahead is not None and ahead.cursor == cursor else None
            self._peeked = self.walk.page_from(raw or self.walk.request(cursor))
        return self._peeked

    def again(self) -> WalkPage:
        """Ask for the next unprocessed page again, now (the one peeked was not believed)."""
        self._peeked = self._ahead = None
        return self.peek()

    def take(self) -> WalkPage:
        """Consume the next page and ask for the one after it; the caller then processes it and
        calls `walk.advance`."""
        page = self.peek()
        self._peeked = None
        if page.next_cursor is not None and self.prefetch(page):
            self._ahead = _Fetch(self.walk, page.next_cursor)
        return page
