"""Pace requests from the `X-Gorgias-Account-Api-Call-Limit` header so the bucket never overflows.

The account's bucket is leaky: each request adds one, and it drains continuously. Every response
says how full it is (`used/limit`). We keep a model of the level between responses (drained at
the assumed rate, plus requests sent since) and wait before a request that would overflow it.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Mapping

_HEADER = "x-gorgias-account-api-call-limit"
_USED_LIMIT = re.compile(r"^\s*(\d+)\s*/\s*(\d+)\s*$")

# Gorgias documents a 20 s window for API keys and OAuth apps (Enterprise: 10 s). Assuming the
# longer window drains slowest, so a wrong guess costs speed, never 429s.
DEFAULT_WINDOW_SECONDS = 20.0


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
    """A model of the account's leaky bucket, fed by response headers, consulted before requests."""

    def __init__(
        self,
        clock: Callable[[], float],
        window_seconds: float = DEFAULT_WINDOW_SECONDS,
        headroom: int = 1,
    ) -> None:
        self._clock = clock
        self._window = window_seconds
        self._headroom = headroom  # slots left free for rounding and for other integrations
        self._lock = threading.Lock()
        self.limit: int | None = None
        self._level = 0.0  # estimated requests in the bucket at `_at`
        self._at = 0.0

    @property
    def drain_per_second(self) -> float:
        return (self.limit or 0) / self._window

    def level(self) -> float:
        """The bucket's estimated level now."""
        with self._lock:
            return self._level_now(self._clock())

    def _level_now(self, now: float) -> float:
        return max(0.0, self._level - self.drain_per_second * (now - self._at))

    def delay_before_request(self) -> float:
        """Seconds to wait so that one more request fits; 0 when it fits now."""
        with self._lock:
            if self.limit is None:
                return 0.0  # nothing learned yet: the first response will teach us
            now = self._clock()
            room = self.limit - self._headroom
            excess = self._level_now(now) + 1 - room
            if excess <= 0:
                return 0.0
            return excess / self.drain_per_second

    def note_sent(self) -> None:
        """Count a request as in the bucket until a response says otherwise."""
        with self._lock:
            now = self._clock()
            self._level = self._level_now(now) + 1
            self._at = now

    def note_response(self, headers: Mapping[str, str]) -> None:
        """Resynchronise with the server's own count."""
        parsed = parse_call_limit(headers)
        if parsed is None:
            return
        used, limit = parsed
        with self._lock:
            self.limit = limit
            self._level = float(used)
            self._at = self._clock()

    def note_rate_limited(self, retry_after: float | None) -> None:
        """A 429: the bucket is full whatever we thought."""
        with self._lock:
            if self.limit is not None:
                self._level = float(self.limit)
                self._at = self._clock()
