"""Pace requests from the `X-Gorgias-Account-Api-Call-Limit` header so the bucket never overflows.

The account's bucket is leaky: each request adds one, and it drains continuously. Every response
says how full it is (`used/limit`). We keep a model of the level between responses (drained at
the learned rate, plus requests sent since) and make a request wait when it would overflow.

The drain rate is learned, not configured: Gorgias documents 40 or 80 per 20 s, and the same
counts per 10 s on Enterprise accounts. We start from the slower 20 s window (a wrong guess
costs speed, never 429s) and measure the real drain whenever the bucket stays non-empty: the
level at two moments plus the requests admitted in between, minus the level now, is what
drained. Other integrations sharing the bucket make the measure lower, which is what we want.
"""

from __future__ import annotations

import re
import threading
from collections import deque
from collections.abc import Callable, Mapping

_HEADER = "x-gorgias-account-api-call-limit"
_USED_LIMIT = re.compile(r"^\s*(\d+)\s*/\s*(\d+)\s*$")

DEFAULT_WINDOW_SECONDS = 20.0  # the slowest documented drain: limit per 20 s
_MIN_DRAINED = 30  # measure the drain over at least this many requests (about ±10 %)
_HISTORY_SECONDS = 60.0


def parse_call_limit(headers: Mapping[str, str]) -> tuple[int, int] | None:
    """`(used, limit)` from the call-limit header (any case), or None when absent or garbled."""
    for name, value in headers.items():
        if name.lower() == _HEADER:
            match = _USED_LIMIT.match(value)
            if match and int(match.group(2)) > 0:
                return int(match.group(1)), int(match.group(2))
    return None


def parse_retry_after(headers: Mapping[str, str]) -> float | None:
    """Seconds from `Retry-after` (spelled any way), or None."""
    for name, value in headers.items():
        if name.lower() == "retry-after":
            try:
                return max(0.0, float(value.strip()))
            except ValueError:
                return None
    return None


class BucketPacer:
    """A model of the account's leaky bucket, fed by response headers, consulted before requests.

    Thread-safe: `reserve()` books a slot atomically, so concurrent requests never overbook.
    """

    def __init__(
        self,
        clock: Callable[[], float],
        headroom: int = 1,
        max_rate: float | None = None,
    ) -> None:
        self._clock = clock
        self._headroom = headroom  # slots left free for rounding and for other integrations
        self._min_interval = 1.0 / max_rate if max_rate else 0.0
        self._lock = threading.Lock()
        self.limit: int | None = None
        self.last_used: int | None = None  # the header's count on the latest response
        self._drain: float | None = None  # learned requests per second
        self._level = 0.0  # estimated requests in the bucket at `_at`
        self._at = 0.0
        self._next_start = float("-inf")  # for --max-rate
        self._answered = 0  # responses seen: requests the server admitted before answering
        self._in_flight = 0  # booked and not yet answered
        self._history: deque[tuple[float, int, int]] = deque()  # (time, used, answered)

    @property
    def drain_per_second(self) -> float:
        """The drain rate in use: learned, else the slowest documented one."""
        if self.limit is None:
            return 0.0
        return self._drain or self.limit / DEFAULT_WINDOW_SECONDS

    @property
    def allowed_rate(self) -> float:
        """Requests per second we may sustain: the drain, capped by --max-rate."""
        rate = self.drain_per_second
        if self._min_interval:
            rate = min(rate, 1.0 / self._min_interval) if rate else 1.0 / self._min_interval
        return rate

    @property
    def limit_known(self) -> bool:
        """Whether `allowed_rate` is the account's own (a drain measured on its bucket, or
        --max-rate), not the first guess made before the bucket was ever full enough to tell."""
        return self._drain is not None or bool(self._min_interval)

    def room(self) -> int:
        """Requests the bucket takes now without a wait (the rest of the opening burst); none
        under --max-rate, which spaces every request."""
        if self.limit is None or self._min_interval:
            return 0
        return max(int(self.limit - self._headroom - self.level()), 0)

    def level(self) -> float:
        """The bucket's estimated level now."""
        with self._lock:
            return self._level_now(self._clock())

    def _level_now(self, now: float) -> float:
        if now <= self._at:  # `_at` can be a booked start in the future
            return self._level
        return max(0.0, self._level - self.drain_per_second * (now - self._at))

    def reserve(self) -> float:
        """Book a slot for one request; returns how long to wait before sending it."""
        with self._lock:
            now = self._clock()
            start = max(now, self._next_start)
            if self.limit is not None:
                room = self.limit - self._headroom
                excess = self._level_now(start) + 1 - room
                if excess > 0:
                    start += excess / self.drain_per_second
            self._level = self._level_now(start) + 1
            self._at = start
            self._next_start = start + self._min_interval
            self._in_flight += 1
            return start - now

    def note_response(self, headers: Mapping[str, str] | None) -> None:
        """A booked request ended (headers None: it got no response). Resynchronise with the
        server's own count, and learn the drain rate from it."""
        parsed = parse_call_limit(headers) if headers is not None else None
        with self._lock:
            self._in_flight = max(0, self._in_flight - 1)
            if headers is not None:
                self._answered += 1
            if parsed is None:
                return
            used, limit = parsed
            # A bucket holds at most its limit: a count past it (`100000/40`) is garbled, and
            # taken as it came it booked the next request 14 hours ahead, in silence.
            used = min(used, limit)
            now = self._clock()
            self.limit = limit
            self.last_used = used
            self._learn(now, used, limit)
            # Trust the server's count (it includes other integrations' requests), plus ours
            # that it may not have seen yet. Never our own model instead: if the bucket drains
            # faster than we assumed, the server's lower count is how we find out.
            self._level = float(used + self._in_flight)
            self._at = now

    def _learn(self, now: float, used: int, limit: int) -> None:
        history = self._history
        history.append((now, used, self._answered))
        while history and now - history[0][0] > _HISTORY_SECONDS:
            history.popleft()
        # Only spans where the bucket never emptied: an empty bucket hides how fast it drains.
        start = len(history) - 1
        while start > 0 and history[start - 1][1] >= 2:
            start -= 1
        then, used_then, answered_then = history[start]
        span = now - then
        drained = used_then + (self._answered - answered_then) - used
        # Enough drained requests that ±1 in `used` and requests in flight stay small errors.
        if used < 2 or span <= 0 or drained < _MIN_DRAINED:
            return
        self._drain = max(limit / DEFAULT_WINDOW_SECONDS * 0.5, drained / span)

    def note_rate_limited(self, retry_after: float | None) -> None:
        """A 429: the bucket is full whatever we thought."""
        with self._lock:
            if self.limit is not None:
                self._level = float(self.limit)
                self._at = self._clock()
