"""The figures behind the progress line: the request rate, the share done and the ETA.

No rich here: these are plain numbers, tested with synthetic progress.

- **Rate**: requests per second over the last 30 s, counted from 10 s after the opening burst.
  The bucket starts empty, so the first 40 (or 80) requests go out at once: counted in, they
  made a one-second window read `47.2 req/s of 2.0`, a breach that never happened (the account
  allowed them); the burst's last requests, still in flight as it ends, made the first half
  minute read 2.2. The rate is shown once its window spans 5 s.
- **Share done**: the phase's work done over the work it needs (`Status.planned`, stated only
  once known); never backwards, and below 100% until the phase is complete.
- **ETA**: the work left over the pace: what the account allows (the pacer's rate, honest under
  a rate limit), unless the rate measured over the last minute is clearly lower (a slow API:
  under 80% of it) or the limit is only the pacer's first guess. While the bucket is what
  holds the run back, the requests it still takes at once cost no time; when the API is the
  slow part, they cost as much as any (counted free, they made a 3 s-latency run's ETA reach 0
  with 24 s left). Each new estimate is blended into the countdown of the last (a time
  constant of 20 s), so a page that took long or a burst of retries moves it by seconds, never
  by minutes.
"""

from __future__ import annotations

import math
from collections import deque

RATE_WINDOW = 30.0  # seconds of requests the rate shown is measured over
# Seconds of requests the ETA's pace is measured over: steadier than the rate shown, yet short
# enough to follow a change of pace (a first run's message walks go from one or two in flight
# to four once the tickets are read: over 5 minutes, the slow start kept the ETA 30% long).
PACE_WINDOW = 60.0
PACE_MIN_SPAN = 30.0
SLOWER = 0.8  # a pace measured below this share of the allowed rate is a slow API, not noise
MIN_RATE_SPAN = 5.0  # seconds: below this, a rate is mostly noise
SETTLE = 10.0  # seconds after the burst before the rate's window may start
SMOOTHING = 20.0  # seconds: the time constant of the ETA's blend


class RateMeter:
    """Requests per second, sustained: over a trailing window, the opening burst left out."""

    def __init__(self, window: float = RATE_WINDOW, min_span: float = MIN_RATE_SPAN) -> None:
        self._window = window
        self._min_span = min_span
        self._samples: deque[tuple[float, int]] = deque()
        self._burst_ended: float | None = None

    def add(self, now: float, sent: int, burst: int) -> None:
        """`sent`: requests so far (never decreasing); `burst`: the bucket's size, or 0."""
        if not self._samples:
            if sent < burst:
                return  # still in the burst the empty bucket allows: not a rate
            if burst and self._burst_ended is None:
                self._burst_ended = now
            if self._burst_ended is not None and now - self._burst_ended < SETTLE:
                return  # the burst's last requests, still in flight, are no rate either
        self._samples.append((now, sent))
        while len(self._samples) > 2 and now - self._samples[1][0] >= self._window:
            self._samples.popleft()

    def rate(self) -> float | None:
        if len(self._samples) < 2:
            return None
        (then, before), (now, after) = self._samples[0], self._samples[-1]
        if now - then < self._min_span:
            return None
        return (after - before) / (now - then)


def pace(measured: float | None, allowed: float, limit_known: bool) -> tuple[float | None, bool]:
    """Requests per second to expect from now on (see the module's docstring), and whether
    the bucket is what holds the run back (only then is its room free time)."""
    if measured is None:
        return allowed or None, True
    if allowed and measured >= SLOWER * allowed:
        return (allowed if limit_known else measured), True
    return measured, False


class Estimate:
    """One phase's share done and ETA, from its work done and planned (see the module doc)."""

    def __init__(self, smoothing: float = SMOOTHING) -> None:
        self._smoothing = smoothing
        self._fraction: float | None = None
        self._eta: float | None = None
        self._at = 0.0
        self.complete = False

    def update(
        self,
        now: float,
        done: int,
        planned: int | None,
        rate: float | None,
        complete: bool,
        room: int = 0,
    ) -> None:
        """`rate`: units of work per second (requests, or lines), None when not known yet;
        `room`: units that take no time (the requests the bucket still takes at once)."""
        self.complete = complete
        if complete:
            self._fraction, self._eta, self._at = 1.0, 0.0, now
            return
        if not planned:
            return
        share = min(done / planned, 0.99)
        self._fraction = max(share, self._fraction or 0.0)
        if not rate or rate <= 0:
            return
        fresh = max(planned - done - room, 0) / rate
        if self._eta is None:
            self._eta = fresh
        else:
            left = self.eta(now) or 0.0
            weight = 1.0 - math.exp(-max(now - self._at, 0.0) / self._smoothing)
            self._eta = left + weight * (fresh - left)
        self._at = now

    def fraction(self) -> float | None:
        return self._fraction

    def eta(self, now: float) -> float | None:
        """Seconds left, counting down between updates; None while unknown."""
        if self._eta is None:
            return None
        return max(self._eta - (now - self._at), 0.0)


def eta_text(seconds: float) -> str:
    """`45s`, `3m12s`, `5h59m`: whole units, no field that a narrow screen would cut."""
    whole = int(seconds + 0.5)
    if whole < 60:
        return f"{whole}s"
    if whole < 3600:
        return f"{whole // 60}m{whole % 60:02d}s"
    return f"{whole // 3600}h{whole % 3600 // 60:02d}m"
