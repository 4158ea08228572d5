"""The resumable walk over one list endpoint: keyset skipping and its guards against loops."""

from __future__ import annotations

import random

import pytest
import responses

from gorgias_export.client import GorgiasClient
from gorgias_export.config import Settings
from gorgias_export.errors import ApiError
from gorgias_export.progress_model import WalkPosition
from gorgias_export.walk import ListingWalk
from tests.fakes import FakeTime

BASE = "https://acme.gorgias.com/api"


def page(ids: list[int], next_cursor: str | None) -> dict[str, object]:
    items = [{"id": i, "created_datetime": f"2024-01-01T00:00:{i:02d}+00:00"} for i in ids]
    return {"object": "list", "data": items, "meta": {"next_cursor": next_cursor}}


def walk_over(settings: Settings, position: WalkPosition | None = None) -> ListingWalk:
    client = GorgiasClient(settings, sleep=FakeTime().sleep, rng=random.Random(1))
    return ListingWalk(client, "/tags", "created_datetime", False, position or WalkPosition())


def step(walk: ListingWalk) -> list[int]:
    done = walk.page_from(walk.request(walk.position.cursor))
    walk.advance(done)
    return [item["id"] for item in done.items]


@responses.activate
def test_a_cursor_that_comes_back_stops_the_walk(settings: Settings) -> None:
    responses.get(BASE + "/tags", json=page([1], "c1"))
    responses.get(BASE + "/tags", json=page([2], "c2"))
    responses.get(BASE + "/tags", json=page([3], "c1"))
    walk = walk_over(settings)
    assert step(walk) == [1] and step(walk) == [2]
    with pytest.raises(ApiError, match="already given"):
        step(walk)


@responses.activate
def test_a_cursor_leading_back_to_its_own_page_stops_the_walk(settings: Settings) -> None:
    responses.get(BASE + "/tags", json=page([1], "c1"))
    responses.get(BASE + "/tags", json=page([2], "c1"))
    walk = walk_over(settings)
    step(walk)
    with pytest.raises(ApiError, match="same page"):
        step(walk)


@responses.activate
def test_a_refused_cursor_restarts_from_the_top_and_skips_done_items(settings: Settings) -> None:
    responses.get(BASE + "/tags", status=400, json={"error": {"msg": "Invalid cursor."}})
    responses.get(BASE + "/tags", json=page([1, 2], "c2"))  # the same keyset cursor as before
    responses.get(BASE + "/tags", json=page([3, 4], None))
    saved = WalkPosition(cursor="c2", after=("2024-01-01T00:00:02.000000Z", 2))
    walk = walk_over(settings, saved)
    assert step(walk) == []  # re-read, all done already; not called a loop
    assert step(walk) == [3, 4] and walk.done
    assert walk.recoveries == 1
