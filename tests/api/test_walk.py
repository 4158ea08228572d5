"""The resumable walk over one list endpoint: keyset skipping and its guards against loops."""

from __future__ import annotations

import base64
import json
import random
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest

from gorgias_export.api.client import GorgiasClient
from gorgias_export.api.walk import EntryRefused, ListingWalk, keyset_cursor
from gorgias_export.config import Settings
from gorgias_export.errors import ApiError
from gorgias_export.exports.progress import WalkPosition
from gorgias_sim import cursors
from tests.support.fake_api import Call, FakeApi, Reply
from tests.support.fakes import FakeTime


def page(ids: list[int], next_cursor: str | None) -> dict[str, object]:
    items = [{"id": i, "created_datetime": f"2024-01-01T00:00:{i:02d}+00:00"} for i in ids]
    return {"object": "list", "data": items, "meta": {"next_cursor": next_cursor}}


@pytest.fixture
def api() -> Iterator[FakeApi]:
    with FakeApi() as fake:
        yield fake


@pytest.fixture
def settings(settings: Settings, api: FakeApi) -> Settings:
    """The account's settings, with the scripted API on 127.0.0.1 as its base URL."""
    return replace(settings, base_url=api.url)


def walk_over(settings: Settings, position: WalkPosition | None = None) -> ListingWalk:
    client = GorgiasClient(settings, sleep=FakeTime().sleep, rng=random.Random(1))
    return ListingWalk(client, "/tags", "created_datetime", False, position or WalkPosition())


def step(walk: ListingWalk) -> list[int]:
    done = walk.page_from(walk.request(walk.position.cursor))
    walk.advance(done)
    return [item["id"] for item in done.items]


def test_a_cursor_that_comes_back_stops_the_walk(settings: Settings, api: FakeApi) -> None:
    api.get("/tags", json=page([1], "c1"))
    api.get("/tags", json=page([2], "c2"))
    api.get("/tags", json=page([3], "c1"))
    walk = walk_over(settings)
    assert step(walk) == [1] and step(walk) == [2]
    with pytest.raises(ApiError, match="already given"):
        step(walk)


def test_a_cursor_leading_back_to_its_own_page_stops_the_walk(
    settings: Settings, api: FakeApi
) -> None:
    api.get("/tags", json=page([1], "c1"))
    api.get("/tags", json=page([2], "c1"))
    walk = walk_over(settings)
    step(walk)
    with pytest.raises(ApiError, match="same page"):
        step(walk)


INVALID = {"status": 400, "json": {"error": {"msg": "Invalid cursor."}}}
SAVED = WalkPosition(cursor="c2", after=("2024-01-01T00:00:02.000000Z", 2))


def test_a_refused_saved_cursor_reenters_after_the_saved_position(
    settings: Settings, api: FakeApi
) -> None:
    api.get("/tags", **INVALID)
    api.get("/tags", json=page([3, 4], None))
    walk = walk_over(settings, replace(SAVED))
    assert step(walk) == [3, 4] and walk.done
    assert sent_cursor(api, 1) == keyset_cursor(SAVED.after)  # type: ignore[arg-type]
    assert len(api.calls) == 2 and walk.recoveries == 0  # nothing read twice


@pytest.mark.parametrize(
    "reentry",
    [
        INVALID,  # built cursors refused too
        {"status": 500, "json": {"error": {"msg": "Internal server error."}}},
        {"json": page([1, 2], "c2")},  # misread: a page from before the position
        {"json": page([], None)},  # an empty page is not trusted to be the end
    ],
    ids=["400", "500", "out-of-place", "empty"],
)
def test_a_failed_reentry_restarts_from_the_top_and_skips_done_items(
    settings: Settings, api: FakeApi, reentry: dict[str, Any]
) -> None:
    api.get("/tags", **INVALID)
    api.get("/tags", **reentry)  # tried once: a 500 is not retried
    api.get("/tags", json=page([1, 2], "c2"))  # from the top: the same keyset cursor as before
    api.get("/tags", json=page([3, 4], None))
    walk = walk_over(settings, replace(SAVED))
    assert step(walk) == []  # re-read, all done already; not called a loop
    assert step(walk) == [3, 4] and walk.done
    assert walk.recoveries == 1 and len(api.calls) == 4
    assert sent_cursor(api, 2) is None


def test_a_saved_cursor_equal_to_the_built_one_restarts_at_once(
    settings: Settings, api: FakeApi
) -> None:
    # The API's own cursor for the last row done is the one we would build: asking again
    # with the same string would only be refused again.
    api.get("/tags", **INVALID)
    api.get("/tags", json=page([1, 2, 3], None))
    position = replace(SAVED, cursor=keyset_cursor(SAVED.after))  # type: ignore[arg-type]
    walk = walk_over(settings, position)
    assert step(walk) == [3] and walk.done
    assert len(api.calls) == 2 and sent_cursor(api, 1) is None


# -- entering a listing in the middle with a hand-built cursor ---------------------------------

SPLIT = ("2024-01-01T00:00:30.000000Z", 0)


def entered_walk(settings: Settings, descending: bool) -> ListingWalk:
    client = GorgiasClient(settings, sleep=FakeTime().sleep, rng=random.Random(1))
    position = WalkPosition(cursor=keyset_cursor(SPLIT), after=SPLIT)
    return ListingWalk(client, "/tags", "created_datetime", descending, position, entered=True)


def sent_cursor(api: FakeApi, call_number: int) -> str | None:
    return api.calls[call_number].query.get("cursor", [None])[0]


def test_a_hand_built_cursor_is_byte_for_byte_the_apis_encoding() -> None:
    # Gorgias's own frontend fixture: standard base64, padded, of json.dumps with its default
    # separators, the datetime naive with microseconds.
    key = ("2022-01-24T13:11:44.812717Z", 1100)
    assert keyset_cursor(key) == "WyJuZXh0IiwgIjIwMjItMDEtMjRUMTM6MTE6NDQuODEyNzE3IiwgMTEwMF0="
    # A real 9-digit message id needs padding; a whole second keeps its six zeros.
    token = keyset_cursor(("2024-11-01T10:59:29.000000Z", 385_000_001))
    assert token.endswith("=") and "-" not in token and "_" not in token
    assert json.loads(base64.b64decode(token, validate=True)) == [
        "next",
        "2024-11-01T10:59:29.000000",
        385_000_001,
    ]
    assert cursors.decode(token) == ("next", "2024-11-01T10:59:29.000000", 385_000_001)


def test_the_simulator_refuses_cursors_in_any_other_encoding() -> None:
    good = keyset_cursor(SPLIT)
    raw = base64.b64decode(good)
    for other in (
        base64.urlsafe_b64encode(raw).rstrip(b"=").decode(),  # unpadded
        base64.b64encode(json.dumps(json.loads(raw), separators=(",", ":")).encode()).decode(),
    ):
        with pytest.raises(cursors.InvalidCursor):
            cursors.decode(other)


def test_a_split_point_cursor_failing_with_a_5xx_ends_the_walk_at_once(
    settings: Settings, api: FakeApi
) -> None:
    api.get("/tags", status=503, json={"error": {"msg": "Service unavailable."}})
    api.get("/tags", json=page([31], None))  # would be served to a retry
    walk = entered_walk(settings, descending=False)
    with pytest.raises(EntryRefused):
        walk.request(walk.position.cursor)
    assert len(api.calls) == 1  # optional: one try, not minutes of retries


def test_a_page_asked_for_ahead_never_goes_back_to_the_split_point(
    settings: Settings, api: FakeApi
) -> None:
    # The next page is requested on a worker thread while the consumer advances the position:
    # caught between its two fields (cursor moved on, key still the split point's), the
    # request once took itself for the entry and fetched the first page again, which then
    # stopped the run as a cursor "already given".
    api.get("/tags", json=page([31, 32], "c1"))
    api.get("/tags", json=page([33], None))
    walk = entered_walk(settings, descending=False)
    first = walk.page_from(walk.request(walk.position.cursor))
    walk.position.cursor = first.next_cursor  # advance() half done
    fetched = walk.request(first.next_cursor, ahead=True)
    assert sent_cursor(api, 1) == "c1" and fetched.entry is None


def test_a_split_point_saved_by_an_earlier_release_is_entered_in_the_real_encoding(
    settings: Settings, api: FakeApi
) -> None:
    api.get("/tags", json=page([31, 32], None))
    walk = entered_walk(settings, descending=False)
    walk.position.cursor = "WyJuZXh0IiwiMjAyNC0wMS0wMVQwMDowMDozMC4wMDAwMDArMDA6MDAiLDBd"  # 0.2.0's
    assert step(walk) == [31, 32]
    assert sent_cursor(api, 0) == keyset_cursor(SPLIT)


def test_an_entered_walk_reads_on_from_its_split_point(settings: Settings, api: FakeApi) -> None:
    api.get("/tags", json=page([31, 32], "c1"))
    api.get("/tags", json=page([33], None))
    walk = entered_walk(settings, descending=False)
    assert step(walk) == [31, 32] and step(walk) == [33]
    assert sent_cursor(api, 0) == keyset_cursor(SPLIT) and sent_cursor(api, 1) == "c1"
    assert walk.done


def test_a_refused_entry_ends_the_walk(settings: Settings, api: FakeApi) -> None:
    api.get("/tags", status=400, json={"error": {"msg": "Invalid cursor."}})
    walk = entered_walk(settings, descending=True)
    with pytest.raises(EntryRefused):
        walk.request(walk.position.cursor)
    assert len(api.calls) == 1  # no restart from the top: the other walks cover it


@pytest.mark.parametrize(
    ("descending", "ids"), [(False, [1, 2]), (True, [40, 39]), (False, [5, 31])]
)
def test_an_entry_answered_out_of_place_ends_the_walk(
    settings: Settings, descending: bool, ids: list[int], api: FakeApi
) -> None:
    # An API that ignored or misread the cursor answers with another part of the listing.
    api.get("/tags", json=page(ids, "c1"))
    walk = entered_walk(settings, descending)
    with pytest.raises(EntryRefused, match="out of place"):
        walk.page_from(walk.request(walk.position.cursor))
    assert walk.position.after == SPLIT  # nothing taken from that page


def test_an_entered_walk_whose_cursor_expires_reenters_at_its_position(
    settings: Settings,
    api: FakeApi,
) -> None:
    api.get("/tags", json=page([31, 32], "c1"))
    api.get("/tags", status=400, json={"error": {"msg": "Invalid cursor."}})
    api.get("/tags", json=page([33], None))
    walk = entered_walk(settings, descending=False)
    assert step(walk) == [31, 32]
    assert step(walk) == [33]  # not from the top: 1..30 belong to the other walks
    assert sent_cursor(api, 2) == keyset_cursor(("2024-01-01T00:00:32.000000Z", 32))


def test_an_entered_walk_refused_again_when_reentering_ends(
    settings: Settings, api: FakeApi
) -> None:
    api.get("/tags", json=page([31, 32], "c1"))
    api.get("/tags", status=400, json={"error": {"msg": "Invalid cursor."}})
    api.get("/tags", status=400, json={"error": {"msg": "Invalid cursor."}})
    walk = entered_walk(settings, descending=False)
    step(walk)
    with pytest.raises(EntryRefused):
        walk.request(walk.position.cursor)
    assert len(api.calls) == 3


# -- a page asked for ahead, on another thread, before the consumer moved the position ----------


def key_of(i: int) -> tuple[str, int]:
    return (f"2024-01-01T00:00:{i:02d}.000000Z", i)


def by_cursor(pages: dict[str | None, Any]) -> Any:
    def answer(call: Call) -> Reply:
        body = pages[call.query.get("cursor", [None])[0]]
        return Reply(400, INVALID_BODY) if body is None else Reply(200, json.dumps(body).encode())

    return answer


INVALID_BODY = b'{"error": {"msg": "Invalid cursor."}}'


@pytest.mark.parametrize("entered", [False, True], ids=["end-walk", "middle-walk"])
def test_a_refused_cursor_asked_for_ahead_recovers_from_the_page_it_follows(
    settings: Settings, api: FakeApi, entered: bool
) -> None:
    """The prefetch thread runs `request` while the consumer may not have advanced past the
    page before yet (prefetch.py): a refusal must be recovered from where the walk will be
    when the page is used, not from where the position happened to be on that thread."""
    first, second = ([1, 2], [3, 4]) if not entered else ([31, 32], [33, 34])
    start = None if not entered else keyset_cursor(SPLIT)
    pages: dict[str | None, Any] = {
        start: page(first, "c2"),
        "c2": page(second, "c4"),
        "c4": None,  # refused, although just given
        keyset_cursor(key_of(first[-1])): page(second, "c4"),  # a re-entry from the stale key
        keyset_cursor(key_of(second[-1])): page([second[-1] + 1], None),
    }
    api.answer_with("/tags", by_cursor(pages))
    walk = entered_walk(settings, descending=False) if entered else walk_over(settings)
    assert step(walk) == first
    current = walk.page_from(walk.request(walk.position.cursor))
    assert [item["id"] for item in current.items] == second
    ahead = walk.request(current.next_cursor, ahead=True)  # the prefetch thread, first
    walk.advance(current)  # then the consumer
    assert [item["id"] for item in walk.page_from(ahead).items] == [second[-1] + 1]


def test_an_api_that_refuses_every_cursor_it_gives_stops_the_walk(
    settings: Settings, api: FakeApi
) -> None:
    """Each refusal restarts the walk from the top, whose first page gives the same cursor
    again: without a bound, the walk would read that page for ever."""

    def answer(call: Call) -> Reply:
        if "cursor" in call.query:
            return Reply(400, INVALID_BODY)
        return Reply(200, json.dumps(page([1, 2], "c2")).encode())

    api.answer_with("/tags", answer)
    walk = walk_over(settings)
    assert step(walk) == [1, 2]
    with pytest.raises(ApiError, match="refuse"):
        for _ in range(10):
            step(walk)
    assert len(api.calls) <= 8


def test_a_saved_cursor_the_api_fails_on_is_given_up_not_the_resume(
    settings: Settings, api: FakeApi
) -> None:
    """An API that answers an expired cursor with a 5xx (unsure, docs/cursors.md) would fail
    every rerun at the same saved cursor, after its retries: the walk re-enters instead."""

    def answer(call: Call) -> Reply:
        if call.query.get("cursor") == ["c2"]:
            return Reply(500, b'{"error": {"msg": "Internal server error."}}')
        return Reply(200, json.dumps(page([3, 4], None)).encode())

    api.answer_with("/tags", answer)
    time = FakeTime()
    client = GorgiasClient(settings, sleep=time.sleep, clock=time.clock, rng=random.Random(1))
    walk = ListingWalk(client, "/tags", "created_datetime", False, replace(SAVED))
    assert step(walk) == [3, 4] and walk.done
    assert sent_cursor(api, len(api.calls) - 1) == keyset_cursor(SAVED.after)  # type: ignore[arg-type]


@pytest.mark.parametrize("status", [401, 403])
def test_a_built_cursor_answered_401_or_403_is_refused_like_any_4xx(
    settings: Settings, api: FakeApi, status: int
) -> None:
    """An API that checks its cursors may answer a forged one with a 401 or 403
    (gorgias-api.md: any 4xx on a cursor request means the cursor is no good). The split is
    then dropped, as for a 400: failing the run would fail every rerun at the same request,
    blaming the credentials. A real credentials problem shows on the next ordinary request."""
    api.get("/tags", status=status, json={"error": {"msg": "Forbidden."}})
    walk = entered_walk(settings, descending=False)
    with pytest.raises(EntryRefused):
        walk.request(walk.position.cursor)
    assert len(api.calls) == 1


def test_a_reentry_answered_403_starts_over_like_any_refusal(
    settings: Settings, api: FakeApi
) -> None:
    api.get("/tags", **INVALID)
    api.get("/tags", status=403, json={"error": {"msg": "Forbidden."}})  # the built cursor
    api.get("/tags", json=page([1, 2], "c2"))  # from the top
    api.get("/tags", json=page([3, 4], None))
    walk = walk_over(settings, replace(SAVED))
    assert step(walk) == []
    assert step(walk) == [3, 4] and walk.done
