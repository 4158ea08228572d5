"""The simulator's runtime deletions and merges: what leaves which listing, where merged
messages go, the events recorded, and that ids are never given out twice."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlencode

import pytest

from gorgias_sim import Dataset, make_dataset
from gorgias_sim.api import Api
from gorgias_sim.cursors import CursorBook

END = datetime(2025, 6, 1, 12, tzinfo=UTC)
Obj = dict[str, Any]


@pytest.fixture
def ds() -> Dataset:
    return make_dataset(3, 40, end=END)


def get(api: Api, path: str, **params: Any) -> tuple[int, Any]:
    query = urlencode(params, doseq=True)
    reply = api.get(f"{path}?{query}", path, parse_qs(query), None)
    return reply.status, json.loads(reply.body)


def listed(api: Api, path: str, **params: Any) -> list[Obj]:
    items: list[Obj] = []
    cursor: str | None = None
    for _ in range(1000):
        extra = {"cursor": cursor} if cursor else {}
        status, body = get(api, path, limit=100, **params, **extra)
        assert status == 200, body
        items += body["data"]
        cursor = body["meta"]["next_cursor"]
        if cursor is None:
            return items
    raise AssertionError("never ended")


def last_event(ds: Dataset) -> Obj:
    return ds.entity_items("events")[0]  # newest first


def with_messages(ds: Dataset) -> list[Obj]:
    return [t for t in ds.tickets if t["messages_count"] > 0]


def test_a_deleted_ticket_leaves_every_listing_and_its_get_answers_404(ds: Dataset) -> None:
    api = Api(ds, CursorBook(time.monotonic))
    tk = with_messages(ds)[3]
    gone = {m["id"] for m in ds.messages_of(tk["id"])}
    ds.delete_ticket(tk["id"], user_id=1001)
    assert tk["id"] not in {t["id"] for t in listed(api, "/api/tickets")}
    assert not gone & {m["id"] for m in listed(api, "/api/messages")}
    assert get(api, f"/api/tickets/{tk['id']}")[0] == 404
    assert listed(api, "/api/messages", ticket_id=tk["id"]) == []
    event = last_event(ds)
    assert (event["type"], event["object_type"], event["object_id"]) == (
        "ticket-deleted",
        "Ticket",
        tk["id"],
    )
    assert event["user_id"] == 1001
    with pytest.raises(KeyError):
        ds.delete_ticket(tk["id"])


def test_a_merged_ticket_moves_its_messages_to_the_target(ds: Dataset) -> None:
    api = Api(ds, CursorBook(time.monotonic))
    source, target = with_messages(ds)[1], with_messages(ds)[2]
    moved = [m["id"] for m in ds.messages_of(source["id"])]
    had = target["messages_count"]
    before = target["updated_datetime"]
    ds.merge_tickets(source["id"], target["id"])
    assert get(api, f"/api/tickets/{source['id']}")[0] == 404
    status, detail = get(api, f"/api/tickets/{target['id']}")
    assert status == 200
    assert detail["messages_count"] == had + len(moved) == len(detail["messages"])
    assert detail["updated_datetime"] > before
    by_id = {m["id"]: m for m in listed(api, "/api/messages")}
    assert all(by_id[i]["ticket_id"] == target["id"] for i in moved)
    assert all(by_id[i]["uri"].startswith(f"/api/tickets/{target['id']}/") for i in moved)
    per_ticket = {m["id"] for m in listed(api, "/api/messages", ticket_id=target["id"])}
    assert set(moved) <= per_ticket
    event = last_event(ds)
    assert (event["type"], event["object_id"]) == ("ticket-merged", source["id"])
    assert event["data"] == {"merged_into": target["id"]}
    with pytest.raises(ValueError):
        ds.merge_tickets(target["id"], target["id"])


def test_a_deleted_customer_takes_their_tickets(ds: Dataset) -> None:
    api = Api(ds, CursorBook(time.monotonic))
    customer_id = ds.tickets[5]["customer"]["id"]
    theirs = {t["id"] for t in ds.tickets if t["customer"]["id"] == customer_id}
    ds.delete_customer(customer_id)
    assert customer_id not in {c["id"] for c in listed(api, "/api/customers")}
    assert not theirs & {t["id"] for t in listed(api, "/api/tickets")}
    types = [(e["type"], e["object_id"]) for e in ds.entity_items("events")]
    assert types[0] == ("customer-deleted", customer_id)
    assert {i for kind, i in types if kind == "ticket-deleted"} >= theirs
    new = ds.add_ticket(messages=1)  # a new ticket never names a customer that is gone
    assert ds.customer(new["customer"]["id"]) is not None


def test_a_merged_customer_leaves_and_their_tickets_name_the_target(ds: Dataset) -> None:
    api = Api(ds, CursorBook(time.monotonic))
    source_id = ds.tickets[7]["customer"]["id"]
    target_id = next(c for c in ds.customers if c != source_id)
    theirs = {t["id"] for t in ds.tickets if t["customer"]["id"] == source_id}
    ds.merge_customers(source_id, target_id)
    customers = {c["id"]: c for c in listed(api, "/api/customers")}
    assert source_id not in customers and target_id in customers
    tickets = {t["id"]: t for t in listed(api, "/api/tickets")}
    assert all(tickets[i]["customer"]["id"] == target_id for i in theirs)
    event = last_event(ds)
    assert (event["type"], event["object_id"], event["data"]) == (
        "customer-merged",
        source_id,
        {"merged_into": target_id},
    )


def test_ids_of_deleted_tickets_and_messages_are_never_given_again(ds: Dataset) -> None:
    newest = ds.add_ticket(messages=2)
    ids = {m["id"] for m in ds.messages_of(newest["id"])}
    ds.delete_ticket(newest["id"])
    again = ds.add_ticket(messages=2)
    assert again["id"] > newest["id"]
    assert min(m["id"] for m in ds.messages_of(again["id"])) > max(ids)
