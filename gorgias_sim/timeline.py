"""Random times in a simulated account's life, for the generated configuration, surveys and
events: during its setup (before any ticket), anywhere, or some time after something else."""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import TypeVar

from .timefmt import HOUR, SECOND

T = TypeVar("T")


class Timeline:
    def __init__(self, rng: random.Random, start: int, end: int, first_ticket: int) -> None:
        """Times are microseconds since the epoch; nothing falls after `end`."""
        self.rng = rng
        self.start, self.end = start, end
        self.setup_end = max(start, min(first_ticket, start + HOUR))

    def setup(self) -> int:
        return self.between(self.start, self.setup_end)

    def anytime(self) -> int:
        return self.between(self.start, self.end)

    def after(self, t: int, lo: int, hi: int) -> int:
        """Between `t + lo` and `t + hi`, squeezed into what is left before the end if that is
        too late, rather than piling many things up at the end itself."""
        when = self.between(t + lo, t + hi)
        return when if when <= self.end else self.between(t, max(t, self.end) + 1)

    def between(self, lo: int, hi: int) -> int:
        if hi <= lo:
            return lo
        t = self.rng.randrange(lo, hi)
        # Many real datetimes have no microseconds, and exporters must read both forms.
        rounded = t - t % SECOND
        return rounded if rounded >= lo and self.rng.random() < 0.4 else t

    def pick(self, items: Sequence[T]) -> T:
        return items[self.rng.randrange(len(items))]
