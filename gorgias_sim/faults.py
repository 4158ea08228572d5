"""Which fault, if any, the next request gets: an outage first, then faults queued by tests, then
chance. Chance uses its own seeded stream, so a run's faults repeat when its requests do."""

from __future__ import annotations

import random
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from .config import Faults

KINDS = ("5xx", "reset", "truncated", "html_error", "slow", "429")
# Faults in a list page's body, answered with a 200 (scripted only, never by chance): no
# `meta`; a number for the next cursor; an empty last page in the middle of the listing; the
# page's items in reverse order. A request that is not for a list page is answered as usual.
BODY_KINDS = ("no_meta", "number_cursor", "empty_end", "reversed")
# Which requests a scripted fault is for: (path, query) -> bool; None: the next ones.
Where = Callable[[str, dict[str, list[str]]], bool]
_STATUSES_5XX = (500, 502, 503)


@dataclass(frozen=True)
class Fault:
    kind: str  # one of KINDS
    status: int = 0  # for "5xx": 500, 502 or 503


class FaultPlan:
    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._queued: deque[tuple[str, Where | None]] = deque()
        self._outage_until = float("-inf")
        self._outage_count = 0
        self._forced_5xx = 0
        self._rng = random.Random(0)
        self._rng_for: Faults | None = None

    def fail_next(self, n: int, kind: str, where: Where | None = None) -> None:
        if kind not in KINDS + BODY_KINDS:
            known = ", ".join(KINDS + BODY_KINDS)
            raise ValueError(f"unknown fault kind {kind!r}; expected one of {known}")
        with self._lock:
            self._queued.extend([(kind, where)] * n)

    def clear(self) -> None:
        with self._lock:
            self._queued.clear()
            self._outage_until = float("-inf")

    def outage(self, seconds: float) -> None:
        with self._lock:
            self._outage_until = self._clock() + seconds
            self._outage_count = 0

    def pick(
        self, faults: Faults, path: str = "", query: dict[str, list[str]] | None = None
    ) -> Fault | None:
        with self._lock:
            if self._clock() < self._outage_until:
                self._outage_count += 1
                return Fault("reset") if self._outage_count % 2 else Fault("5xx", 503)
            kind = self._take_queued(path, query or {})
            if kind is not None:
                if kind != "5xx":
                    return Fault(kind)
                self._forced_5xx += 1
                return Fault(kind, _STATUSES_5XX[(self._forced_5xx + 1) % 3])
            return self._by_chance(faults)

    def _take_queued(self, path: str, query: dict[str, list[str]]) -> str | None:
        for i, (kind, where) in enumerate(self._queued):
            if where is None or where(path, query):
                del self._queued[i]
                return kind
        return None

    def _by_chance(self, faults: Faults) -> Fault | None:
        if faults is not self._rng_for:
            # A new Faults object (tests swap them between runs) restarts its own stream.
            self._rng = random.Random(faults.seed)
            self._rng_for = faults
        chances = (
            ("reset", faults.reset),
            ("truncated", faults.truncated),
            ("html_error", faults.html_error),
            ("5xx", faults.error_5xx),
            ("slow", faults.slow),
            ("429", faults.rate_limited),  # last, so older configs draw the same faults
        )
        if not any(p for _, p in chances):
            return None
        draw = self._rng.random()
        for kind, p in chances:
            if draw < p:
                status = self._rng.choice(_STATUSES_5XX) if kind == "5xx" else 0
                return Fault(kind, status)
            draw -= p
        return None
