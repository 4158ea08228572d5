"""Walks meeting from both ends, and where the message listing is split (meeting.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from gorgias_export.api.meeting import SPLIT_MIN_PAGES, Pair, split_point
from gorgias_export.api.prefetch import Chain
from gorgias_export.api.walk import ListingWalk, WalkPage
from gorgias_export.exports.progress import Key, WalkPosition
from gorgias_export.timeutil import format_utc


def at(second: int, item_id: int = 1) -> Key:
    return (format_utc(datetime(2024, 1, 1, tzinfo=UTC) + timedelta(seconds=second)), item_id)


def chain(descending: bool, after: Key | None = None) -> Chain:
    client: Any = None  # never asked: these tests only look at positions
    walk = ListingWalk(client, "/messages", "created_datetime", descending, WalkPosition())
    walk.position.after = after
    return Chain(walk)


def test_a_walk_stops_at_the_key_its_partner_reached() -> None:
    pair = Pair(up=chain(False, at(10)), down=chain(True, at(20)))
    keys = [at(18), at(19), at(20), at(21)]
    assert pair.cut(pair.up, keys) == (2, True)  # 20 is the partner's already
    assert pair.cut(pair.down, [at(12), at(11), at(10)]) == (2, True)
    assert pair.cut(pair.up, [at(11), at(12)]) == (2, False)


def test_ties_on_time_are_broken_by_id() -> None:
    pair = Pair(up=chain(False, at(10)), down=chain(True, at(20, 5)))
    assert pair.cut(pair.up, [at(20, 4), at(20, 5)]) == (1, True)


def test_a_partner_that_has_not_started_sets_no_limit() -> None:
    pair = Pair(up=chain(False), down=chain(True))
    assert pair.cut(pair.up, [at(1), at(2)]) == (2, False)


def test_a_middle_walk_starts_at_the_split_point_so_its_partner_stops_there() -> None:
    split = (at(30)[0], 0)  # no item has id 0: the split falls between items
    pair = Pair(up=chain(False, at(10)), down=chain(True, split))
    assert pair.cut(pair.up, [at(29, 9), at(30, 1)]) == (1, True)


def test_ending_a_pair_ends_both_walks() -> None:
    pair = Pair(up=chain(False), down=chain(True))
    pair.ended()
    assert pair.done and pair.up.done and pair.down.done


def page_of(*keys: Key) -> WalkPage:
    return WalkPage(items=[{} for _ in keys], keys=list(keys), next_cursor="c", last_key=keys[-1])


def test_no_page_is_asked_for_ahead_when_the_gap_left_is_under_a_page_and_a_half() -> None:
    pair = Pair(up=chain(False, at(100)), down=chain(True, at(130)))
    assert pair.worth_asking_ahead(pair.up, page_of(at(101), at(110)))  # gap 30 s > 1.5 x 9 s
    assert not pair.worth_asking_ahead(pair.up, page_of(at(101), at(125)))  # 30 s < 36 s


def test_the_split_point_is_the_middle_of_the_gap() -> None:
    split = split_point(at(0), at(3600), [at(3600), at(3590)])
    assert split == ("2024-01-01T00:30:00.000000Z", 0)


def test_no_split_when_the_gap_is_a_few_pages_wide() -> None:
    page_span = 10
    narrow = at(page_span * SPLIT_MIN_PAGES - 1)
    assert split_point(at(0), narrow, [at(20), at(20 - page_span)]) is None
    wide = at(page_span * SPLIT_MIN_PAGES + 1)
    assert split_point(at(0), wide, [at(20), at(20 - page_span)]) is not None


def test_no_split_without_times_to_judge_by() -> None:
    assert split_point(at(0), at(3600), [at(3600)]) is None  # a one-item page spans nothing
    assert split_point(("", 1), at(3600), [at(3600), at(3500)]) is None
