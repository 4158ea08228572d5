"""Walks that cannot go round for ever (issue 12, Medium 5): a cycle longer than any memory of
cursors, with a new cursor for each old place, and restarts that each get a little further."""

from __future__ import annotations

import itertools
import json
import random
from collections.abc import Iterator
from dataclasses import replace

import pytest

from gorgias_export.api.client import GorgiasClient
from gorgias_export.api.walk import MAX_RESTARTS, ListingWalk
from gorgias_export.config import Settings
from gorgias_export.errors import ApiError
from gorgias_export.exports.progress import WalkPosition
from tests.support.fake_api import Call, FakeApi, Reply
from tests.support.fakes import FakeTime

CYCLE = 70  # pages: longer than the 64 cursors the walk used to remember


def page(ids: list[int], next_cursor: str | None, field: str = "created_datetime") -> bytes:
    items = [{"id": i, field: f"2024-01-01T{i // 60:02d}:{i % 60:02d}:00+00:00"} for i in ids]
    return json.dumps({"data": items, "meta": {"next_cursor": next_cursor}}).encode()


@pytest.fixture
def api() -> Iterator[FakeApi]:
    with FakeApi() as fake:
        yield fake


def walk_over(settings: Settings, api: FakeApi, order: str, by_key: bool) -> ListingWalk:
    client = GorgiasClient(
        replace(settings, base_url=api.url), sleep=FakeTime().sleep, rng=random.Random(1)
    )
    return ListingWalk(client, "/tags", order, False, WalkPosition(), skip_by_key=by_key)


def walk_pages(walk: ListingWalk, limit: int) -> int:
    for pages in range(limit):
        if walk.done:
            return pages
        walk.advance(walk.page_from(walk.request(walk.position.cursor)))
    return limit


@pytest.mark.parametrize(
    ("order", "by_key"), [("created_datetime", True), ("priority", False)], ids=["time", "other"]
)
def test_a_cycle_with_a_new_cursor_each_time_is_caught(
    settings: Settings, api: FakeApi, order: str, by_key: bool
) -> None:
    served = itertools.count()

    def answer(call: Call) -> Reply:
        n = next(served)  # a cursor never seen before, for a place seen 70 pages ago
        return Reply(200, page([n % CYCLE + 1, n % CYCLE + 1000], f"c{n}"))

    api.answer_with("/tags", answer)
    walk = walk_over(settings, api, order, by_key)
    with pytest.raises(ApiError, match=r"went back|already given"):
        walk_pages(walk, 3 * CYCLE)
    assert len(api.calls) <= CYCLE + 2


def test_restarts_that_each_get_further_are_capped(settings: Settings, api: FakeApi) -> None:
    """Each restart reads one page more than the last before a cursor is refused: the guard
    against a restart getting nowhere never fires, so the number of restarts is capped."""
    starts = itertools.count()
    allowed = [0]

    def answer(call: Call) -> Reply:
        cursor = call.query.get("cursor", [None])[0]
        if cursor is None:
            allowed[0] = next(starts) + 1  # pages this start may read
            return Reply(200, page([1], "p1"))
        position = int(cursor[1:]) if cursor.startswith("p") else 999
        if position >= allowed[0]:
            return Reply(400, b'{"error": {"msg": "Invalid cursor."}}')
        return Reply(200, page([position + 1], f"p{position + 1}" if position < 30 else None))

    api.answer_with("/tags", answer)
    walk = walk_over(settings, api, "created_datetime", True)
    with pytest.raises(ApiError, match="started over"):
        walk_pages(walk, 500)
    assert walk.recoveries == MAX_RESTARTS
