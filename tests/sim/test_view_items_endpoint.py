"""The simulator's `/api/views/{id}/items`: paged by `meta.next_items` links whose cursor
includes its own value, so that only the link's `ignored_item` keeps a page's last ticket off
the next page (what peers met: following the cursor alone loops)."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

from gorgias_sim import Dataset, make_dataset
from gorgias_sim.api import Api
from gorgias_sim.cursors import CursorBook

Obj = dict[str, Any]
CLOSED_VIEW = 403


@pytest.fixture(scope="module")
def ds() -> Dataset:
    return make_dataset(5, 120, end=datetime(2026, 3, 1, tzinfo=UTC))


@pytest.fixture(scope="module")
def api(ds: Dataset) -> Api:
    return Api(ds, CursorBook(time.monotonic))


def call(api: Api, view_id: int, **params: Any) -> tuple[int, Obj]:
    query = urlencode(params)
    path = f"/api/views/{view_id}/items"
    reply = api.get(f"{path}?{query}", path, parse_qs(query, keep_blank_values=True), None)
    return reply.status, json.loads(reply.body)


def in_view(ds: Dataset, view_id: int) -> list[Obj]:
    test = ds.entities.ticket_test("view_id", view_id)
    assert test is not None
    return [t for t in ds.tickets if test(t)]


def follow(api: Api, keep: tuple[str, ...], **params: Any) -> list[int]:
    """Every id, following each next_items link with only the link parameters in `keep`."""
    ids: list[int] = []
    status, body = call(api, CLOSED_VIEW, **params)
    while True:
        assert status == 200, body
        ids += [item["id"] for item in body["data"]]
        link = body["meta"]["next_items"]
        if link is None or len(ids) > 500:
            return ids
        linked = {k: v[0] for k, v in parse_qs(urlsplit(link).query).items() if k in keep}
        status, body = call(api, CLOSED_VIEW, **params, **linked)


def test_links_followed_whole_list_the_view_once_in_its_order(api: Api, ds: Dataset) -> None:
    ids = follow(api, ("cursor", "ignored_item", "direction"), limit=7)
    newest_first = sorted(in_view(ds, CLOSED_VIEW), key=lambda t: (t["updated_datetime"], t["id"]))
    assert ids == [t["id"] for t in reversed(newest_first)]


def test_the_cursor_alone_serves_each_pages_last_ticket_again(api: Api, ds: Dataset) -> None:
    ids = follow(api, ("cursor", "direction"), limit=7)
    assert len(ids) > len(set(ids)) == len(in_view(ds, CLOSED_VIEW))
    # At a limit of one the same ticket comes back for ever (cut off by `follow`).
    assert len(set(follow(api, ("cursor",), limit=1))) == 1


def test_a_link_names_the_pages_edge_and_the_meta_has_no_next_cursor(api: Api) -> None:
    status, body = call(api, CLOSED_VIEW, limit=5, order_by="created_datetime:asc")
    assert status == 200 and "next_cursor" not in body["meta"]
    last = body["data"][-1]
    query = parse_qs(urlsplit(body["meta"]["next_items"]).query)
    assert query["direction"] == ["next"] and query["ignored_item"] == [str(last["id"])]
    assert body["meta"]["prev_items"] is None  # the first page
    # Back from the second page: what precedes its first ticket, ties with it included.
    order = {"limit": 5, "order_by": "created_datetime:asc"}
    _, second = call(api, CLOSED_VIEW, **order, cursor=query["cursor"][0], ignored_item=last["id"])
    edge = second["data"][0]
    back = parse_qs(urlsplit(second["meta"]["prev_items"]).query)
    assert back["direction"] == ["prev"] and back["ignored_item"] == [str(edge["id"])]
    _, first = call(api, CLOSED_VIEW, **order, **{k: v[0] for k, v in back.items()})
    assert edge["id"] not in [t["id"] for t in first["data"]]
    edge_time = datetime.fromisoformat(edge["created_datetime"])
    assert all(datetime.fromisoformat(t["created_datetime"]) <= edge_time for t in first["data"])
    assert last in first["data"]


@pytest.mark.parametrize(
    ("params", "status"),
    [
        ({"cursor": "not-a-cursor"}, 400),
        ({"direction": "sideways"}, 400),
        ({"ignored_item": "x"}, 400),
        ({"order_by": "priority:asc"}, 400),
        ({"search": "x"}, 400),
    ],
)
def test_bad_parameters_are_400s(api: Api, params: dict[str, str], status: int) -> None:
    assert call(api, CLOSED_VIEW, **params)[0] == status


def test_an_unknown_view_or_a_customer_view_is_404(api: Api, ds: Dataset) -> None:
    customer_view = next(v for v in ds.entity_items("views") if v["type"] == "customer-list")
    assert call(api, 999_999, limit=5)[0] == 404
    assert call(api, customer_view["id"], limit=5)[0] == 404
