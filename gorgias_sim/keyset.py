"""Keyset paging over a sorted list of (sort value, id) keys.

A cursor names the key of an item already seen, so a page starts right after that key wherever it
now sits in the list: items added before it are never served, items added after it show up on a
later page. This is what makes the real API's cursors safe while data changes, unlike offsets.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

# (sort value, id): microseconds for datetime orders, text or numbers for others; ties go by id.
Key = tuple[Any, int]


@dataclass(frozen=True)
class Position:
    """What a cursor says: continue past `key` in the sort order (`next`), or go back (`prev`)."""

    kind: str  # "next" or "prev"
    key: Key


@dataclass(frozen=True)
class Page:
    ids: list[int]  # in the requested order
    has_before: bool  # something precedes the first id in that order (worth a prev_cursor)
    has_after: bool  # something follows the last id (worth a next_cursor)


def select(
    keys: Sequence[Key],
    position: Position | None,
    *,
    descending: bool,
    limit: int,
    accept: Callable[[int], bool] | None = None,
) -> Page:
    """The page of at most `limit` ids, from `position` on, of the items whose id `accept`s."""
    forward = -1 if descending else 1
    if position is None:
        start, step = (len(keys) - 1 if descending else 0), forward
    else:
        lo, hi = bisect_left(keys, position.key), bisect_right(keys, position.key)
        after, before = (lo - 1, hi) if descending else (hi, lo - 1)
        start, step = (after, forward) if position.kind == "next" else (before, -forward)
    found = _collect(keys, start, step, accept, limit + 1)
    more = len(found) > limit
    found = found[:limit]
    behind = bool(_collect(keys, start - step, -step, accept, 1))
    if step == forward:
        return Page(found, has_before=behind, has_after=more)
    found.reverse()
    return Page(found, has_before=more, has_after=behind)


def _collect(
    keys: Sequence[Key], i: int, step: int, accept: Callable[[int], bool] | None, want: int
) -> list[int]:
    if not 0 <= i < len(keys):
        return []
    if accept is None:
        # The common unfiltered case: one slice, no per-item call.
        if step > 0:
            return [k[1] for k in keys[i : i + want]]
        return [k[1] for k in reversed(keys[max(i - want + 1, 0) : i + 1])]
    out: list[int] = []
    while 0 <= i < len(keys) and len(out) < want:
        if accept(keys[i][1]):
            out.append(keys[i][1])
        i += step
    return out
