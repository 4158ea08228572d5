"""Walks that read one listing toward each other and stop where they meet.

Reading a listing from both ends keeps two requests in flight instead of one. To keep four, the
first run also splits the message listing at a point in time `T` and enters it there in both
directions (walk.py's hand-built cursors), which makes two pairs:

    oldest ->      <- lower      T      upper ->      <- newest
    [ ......... lower pair ....... ) [ ...... upper pair ....... ]

Each walk stops at its partner's position: where the partner has got to, or, for a walk that
has not read a page yet, where it starts. A middle walk starts with its position set to `(T, 0)`,
which splits the listing exactly (ids are positive), so the rule needs no special case: when the
API refuses a middle walk's re-entry, that walk is simply done and its partner reads on up to
where it got. The two entries at `T` are checked together, and one refused drops the split
(exports/account_walks.py): an API that misreads the cursor enters too low or too high, which
only one sees.

Which walk meets which is fixed by the data (and the saved split point), so a resumed run takes
the same decisions as an uninterrupted one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from gorgias_export.api.prefetch import Chain
from gorgias_export.api.walk import WalkPage
from gorgias_export.exports.progress import Key
from gorgias_export.timeutil import format_utc, parse_api_datetime

# A split costs up to one extra request (each stretch ends on a part-used page); it is only made
# when the gap left between the two ends is this many of their pages wide, judged by time.
SPLIT_MIN_PAGES = 8


@dataclass
class Pair:
    up: Chain  # ascending, from the bottom of its stretch
    down: Chain  # descending, from the top of its stretch

    def partner(self, chain: Chain) -> Chain:
        return self.down if chain is self.up else self.up

    def boundary(self, chain: Chain) -> Key | None:
        """Where `chain` must stop: its partner's position (None: not started, no limit)."""
        return self.partner(chain).walk.position.after

    def cut(self, chain: Chain, keys: list[Key]) -> tuple[int, bool]:
        """How many of a page's leading items are this walk's, and whether it met its partner."""
        boundary = self.boundary(chain)
        if boundary is None:
            return len(keys), False
        descending = chain.walk.descending
        for count, key in enumerate(keys):
            if (key <= boundary) if descending else (key >= boundary):
                return count, True
        return len(keys), False

    def ended(self) -> None:
        """The two walks met, or one read to the end of the listing: the stretch is done."""
        self.up.walk.position.done = self.down.walk.position.done = True

    @property
    def done(self) -> bool:
        return self.up.done and self.down.done

    def worth_asking_ahead(self, chain: Chain, page: WalkPage) -> bool:
        """Whether the page after `page` is worth requesting now: not when the gap left to the
        partner is under about a page and a half, where it would be mostly wasted. A partner
        still walking reads about a page toward this walk before that page is processed (the
        walks take turns), so then the gap must hold a page more."""
        other = self.boundary(chain)
        if not page.keys or other is None:
            return True
        # A walk's first page: the gap starts where the page does.
        own = chain.walk.position.after or page.keys[0]
        span = _seconds_between(page.keys[0][0], page.keys[-1][0])
        gap = _seconds_between(own[0], other[0])
        if span is None or gap is None:
            return True
        return gap > span * (1.5 if self.partner(chain).done else 2.5)


def split_point(low: Key, high: Key, page_keys: list[Key]) -> Key | None:
    """The middle of the gap between two walks' positions, as a key that no item has; None
    when the gap is too narrow for a split to pay, judged by the time a page (`page_keys`, the
    walk's latest) spans."""
    start, end = parse_api_datetime(low[0]), parse_api_datetime(high[0])
    span = _seconds_between(page_keys[0][0], page_keys[-1][0]) if len(page_keys) > 1 else None
    if start is None or end is None or span is None:
        return None
    if (end - start).total_seconds() < max(SPLIT_MIN_PAGES * span, 0.001):
        return None
    middle: datetime = start + (end - start) / 2
    return (format_utc(middle), 0)


def _seconds_between(first: str, second: str) -> float | None:
    a, b = parse_api_datetime(first), parse_api_datetime(second)
    return abs((b - a).total_seconds()) if a and b else None
