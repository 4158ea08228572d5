"""The account's leaky bucket: a burst of `capacity` requests, draining at capacity/window a second.

Capacity and window are passed on every call, so tests can change the config while the server runs.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from dataclasses import dataclass

_EPSILON = 1e-9  # float drift must not turn 3.0000000001 into a reported 4


@dataclass(frozen=True)
class Admission:
    admitted: bool
    used: int  # the level to report; includes this request when it was admitted
    retry_after: int  # whole seconds until a slot frees, at least 1 (for refusals)


class LeakyBucket:
    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._level = 0.0
        self._at = clock()
        self._lock = threading.Lock()

    def take(self, capacity: int, window: float) -> Admission:
        """Admit one request if a slot is free; a refused request costs nothing."""
        with self._lock:
            self._drain(capacity, window)
            admitted = self._level + 1 <= capacity + _EPSILON
            if admitted:
                self._level += 1
            return Admission(admitted, self._used(capacity), self._retry_after(capacity, window))

    def peek(self, capacity: int, window: float) -> int:
        """The level to report on a response that did not go through the bucket."""
        with self._lock:
            self._drain(capacity, window)
            return self._used(capacity)

    def _drain(self, capacity: int, window: float) -> None:
        now = self._clock()
        if window <= 0:
            self._level = 0.0
        else:
            self._level = max(0.0, self._level - (now - self._at) * capacity / window)
        self._at = now

    def _used(self, capacity: int) -> int:
        return min(capacity, max(0, math.ceil(self._level - _EPSILON)))

    def _retry_after(self, capacity: int, window: float) -> int:
        excess = self._level - (capacity - 1)
        if excess <= 0 or window <= 0 or capacity <= 0:
            return 1
        return max(1, math.ceil(excess * window / capacity - _EPSILON))
