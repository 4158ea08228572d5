"""The simulator's entities beside tickets and messages: data consistent with the tickets and
messages, and the mutations tests use."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from gorgias_export.simulator import (
    ENTITIES,
    UNDOCUMENTED_FIELD,
    Dataset,
    make_dataset,
)
from gorgias_export.simulator.generate import generate
from gorgias_export.simulator.timefmt import to_us

Obj = dict[str, Any]
END = datetime(2025, 6, 1, 12, tzinfo=UTC)
TICKET_TAGS = range(501, 509)  # generate.py's tags, the ones tickets carry


def ids(items: list[Obj]) -> list[int]:
    return [int(i["id"]) for i in items]


def when(text: str) -> datetime:
    return datetime.fromisoformat(text)


@pytest.fixture(scope="module")
def ds() -> Dataset:
    return make_dataset(5, 100, end=END)


@pytest.fixture
def fresh() -> Callable[[], Dataset]:
    """A small private dataset for tests that change data."""
    return lambda: make_dataset(9, 40, end=END)


# -- the data --------------------------------------------------------------------------------------


def test_sizes_of_the_default_demo_account() -> None:
    big = make_dataset(7, 1000, end=END)
    sizes = {e: len(big.entity_items(e)) for e in ENTITIES}
    for entity in ("customers", "satisfaction-surveys", "events"):
        assert sizes[entity] > 100, entity  # more than one page at limit=100
    assert 20 <= sizes["tags"] <= 60 and 10 <= sizes["users"] <= 30
    assert sizes["teams"] == 5 and sizes["integrations"] == 6 and sizes["custom-fields"] == 16
    assert 8 <= sizes["views"] <= 15 and sizes["macros"] == 30 and sizes["rules"] == 15
    assert sizes["events"] > 5 * len(big.tickets)


def test_entities_leave_what_generate_makes_untouched() -> None:
    alone = generate(5, 100, to_us(END))
    served = make_dataset(5, 100, end=END)
    assert served.tickets == alone.tickets and served.messages == alone.messages
    assert {c["id"]: c for c in served.customers.values() if c["id"] in alone.customers} == (
        alone.customers
    )


def test_entities_are_seeded() -> None:
    first, again = make_dataset(4, 30, end=END), make_dataset(4, 30, end=END)
    other = make_dataset(8, 30, end=END)
    for entity in ENTITIES:
        assert first.entity_items(entity) == again.entity_items(entity), entity
    assert first.entity_items("events") != other.entity_items("events")


def test_configuration_agrees_with_tickets(ds: Dataset) -> None:
    tags = {t["id"]: t for t in ds.entity_items("tags")}
    usage = Counter(tag["id"] for t in ds.tickets for tag in t["tags"])
    for t in ds.tickets:
        for tag in t["tags"]:
            assert {k: tags[tag["id"]][k] for k in ("id", "name", "decoration")} == tag
    assert {i: tags[i]["usage"] for i in TICKET_TAGS} == {i: usage[i] for i in TICKET_TAGS}
    users = {u["id"]: u for u in ds.entity_items("users")}
    teams = {t["id"]: t for t in ds.entity_items("teams")}
    for t in ds.tickets:
        if t["assignee_user"] is not None:
            assert {k: users[t["assignee_user"]["id"]][k] for k in t["assignee_user"]} == (
                t["assignee_user"]
            )
        if t["assignee_team"] is not None:
            assert teams[t["assignee_team"]["id"]]["name"] == t["assignee_team"]["name"]
    integrations = {i["id"]: i for i in ds.entity_items("integrations")}
    assert {m["integration_id"] for m in ds.messages} - {None} <= set(integrations)
    contact = next(f for f in ds.entity_items("custom-fields") if f["id"] == 101)
    choices = contact["definition"]["input_settings"]["choices"]
    assert contact["object_type"] == "Ticket" and {"Shipping::Delayed", "Product::Damaged"} <= set(
        choices
    )


def test_surveys_follow_closed_tickets(ds: Dataset) -> None:
    tickets = {t["id"]: t for t in ds.tickets}
    surveys = ds.entity_items("satisfaction-surveys")
    assert len({s["ticket_id"] for s in surveys}) == len(surveys)  # at most one per ticket
    closed = [t for t in ds.tickets if t["status"] == "closed" and not t["spam"]]
    assert 0.25 < len(surveys) / len(closed) < 0.55
    for s in surveys:
        tk = tickets[s["ticket_id"]]
        assert tk["closed_datetime"] and s["customer_id"] == tk["customer"]["id"]
        assert when(s["created_datetime"]) >= when(tk["closed_datetime"])
        assert (s["score"] is None) == (s["scored_datetime"] is None)
        if s["score"] is not None:
            assert 1 <= s["score"] <= 5
            assert (
                when(s["scored_datetime"]) > when(s["sent_datetime"]) > when(s["created_datetime"])
            )
    assert {s["score"] for s in surveys} > {None}
    assert ds.ticket(surveys[0]["ticket_id"]) is not None


def test_events_agree_with_tickets_messages_and_customers(ds: Dataset) -> None:
    events = ds.entity_items("events")
    created = {
        (e["object_type"], e["object_id"]): e for e in events if e["type"].endswith("-created")
    }
    for t in ds.tickets:
        assert created[("Ticket", t["id"])]["created_datetime"] == t["created_datetime"]
    for m in ds.messages:
        event = created[("TicketMessage", m["id"])]
        assert event["created_datetime"] == m["created_datetime"]
        assert event["data"] == {"ticket_id": m["ticket_id"]}
    for c in ds.customers.values():
        assert created[("Customer", c["id"])]["created_datetime"] == c["created_datetime"]
    gone = [e for e in events if e["type"] in {"ticket-deleted", "ticket-merged"}]
    assert gone and all(ds.ticket(e["object_id"]) is None for e in gone)
    merged = [e for e in events if e["type"] == "customer-merged"]
    assert all(e["object_id"] not in ds.customers for e in merged)
    assert all(e["data"]["merged_into"] in ds.customers for e in merged)
    assert len({e["id"] for e in events}) == len(events)


def test_every_object_carries_an_undocumented_field_and_hostile_text(ds: Dataset) -> None:
    names = []
    for entity in ENTITIES:
        items = ds.entity_items(entity)
        assert items and all(UNDOCUMENTED_FIELD in i for i in items), entity
        names += [str(i.get("name") or i.get("label") or "") for i in items]
    joined = "".join(names)
    for needle in ("\n", '"', ",", "👑", "返品", "доставка", "é"):
        assert needle in joined, needle
    assert {n[0] for n in names if n} >= {"=", "+", "-", "@"}


# -- mutations -------------------------------------------------------------------------------------


def test_ticket_changes_keep_tag_usage(fresh: Callable[[], Dataset]) -> None:
    d = fresh()

    def usage() -> dict[int, int]:
        return {t["id"]: t["usage"] for t in d.entity_items("tags")}

    before = usage()
    tk = d.tickets[0]
    old = {t["id"] for t in tk["tags"]}
    d.update_ticket(tk["id"], tags=[{"id": 504, "name": "urgent", "decoration": None}])
    after = usage()
    for tag_id in TICKET_TAGS:
        expected = before[tag_id] - (tag_id in old) + (tag_id == 504)
        assert after[tag_id] == expected, tag_id


def test_entity_items_are_copies(fresh: Callable[[], Dataset]) -> None:
    d = fresh()
    d.entity_items("tags")[0]["name"] = "changed"
    assert d.entity_items("tags")[0]["name"] != "changed"
    with pytest.raises(KeyError):
        d.entity_items("orders")
