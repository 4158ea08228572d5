"""The simulator's entity endpoints: paging, filters, orders and refusals as gorgias-api.md
describes them, data consistent with the tickets and messages, and the mutations tests use.

Most tests call the Api object directly (the same code the server runs, without sockets), so
that walking every page at limit=7 stays fast; a few go over HTTP.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlencode

import pytest
import requests

from gorgias_sim import (
    ENTITIES,
    NOPERM_EMAIL,
    UNDOCUMENTED_FIELD,
    Dataset,
    SimConfig,
    Simulator,
    make_dataset,
)
from gorgias_sim.api import Api
from gorgias_sim.cursors import CursorBook, encode
from gorgias_sim.generate import generate
from gorgias_sim.timefmt import to_us

Obj = dict[str, Any]
END = datetime(2025, 6, 1, 12, tzinfo=UTC)
TICKET_TAGS = range(501, 509)  # generate.py's tags, the ones tickets carry


def call(api: Api, entity: str, **params: Any) -> tuple[int, Obj]:
    """GET /api/{entity} with `params` (a list value repeats the key), as the server parses it."""
    query = urlencode(params, doseq=True)
    target = f"/api/{entity}" + (f"?{query}" if query else "")
    reply = api.get(target, f"/api/{entity}", parse_qs(query, keep_blank_values=True), None)
    return reply.status, json.loads(reply.body)


def walk(api: Api, entity: str, **params: Any) -> list[Obj]:
    """Every item of a listing, following next_cursor with the same order, limit and filters."""
    items: list[Obj] = []
    cursor = params.pop("cursor", None)
    for _ in range(10_000):
        status, body = call(api, entity, **params, **({"cursor": cursor} if cursor else {}))
        assert status == 200, body
        items += body["data"]
        cursor = body["meta"]["next_cursor"]
        if cursor is None:
            return items
    raise AssertionError("next_cursor never ran out")


def listed(ds: Dataset, entity: str) -> list[Obj]:
    """What a listing without filters shows: archived macros only come with archived=true."""
    items = ds.entity_items(entity)
    if entity == "macros":
        return [m for m in items if m["archived_datetime"] is None]
    return items


def ids(items: list[Obj]) -> list[int]:
    return [int(i["id"]) for i in items]


def when(text: str) -> datetime:
    return datetime.fromisoformat(text)


def refused(api: Api, entity: str, field: str, **params: Any) -> str:
    """Assert a 400 whose error data names `field`; return the message."""
    status, body = call(api, entity, **params)
    assert status == 400, body
    assert field in body["error"]["data"], body
    return str(body["error"]["msg"])


@pytest.fixture(scope="module")
def ds() -> Dataset:
    return make_dataset(5, 100, end=END)


@pytest.fixture(scope="module")
def api(ds: Dataset) -> Api:
    return Api(ds, CursorBook(time.monotonic))


@pytest.fixture
def fresh() -> Callable[[], tuple[Dataset, Api]]:
    """A small private dataset for tests that change data."""

    def make() -> tuple[Dataset, Api]:
        d = make_dataset(9, 40, end=END)
        return d, Api(d, CursorBook(time.monotonic))

    return make


# -- paging and orders -----------------------------------------------------------------------------

SORTS: dict[str, Callable[[Obj], Any]] = {
    "created_datetime": lambda o: when(o["created_datetime"]),
    "updated_datetime": lambda o: when(o["updated_datetime"]),
    "name": lambda o: o["name"],
    "email": lambda o: o["email"],
    "role.name": lambda o: o["role"]["name"],
    "priority": lambda o: o["priority"],
}
ORDERS = [
    ("customers", "created_datetime"),
    ("customers", "updated_datetime"),
    ("satisfaction-surveys", "created_datetime"),
    ("events", "created_datetime"),
    ("tags", "created_datetime"),
    ("tags", "name"),
    ("users", "created_datetime"),
    ("users", "name"),
    ("users", "email"),
    ("users", "role.name"),
    *((e, "created_datetime") for e in ("teams", "views", "integrations", "macros", "rules")),
]


@pytest.mark.parametrize("limit", [100, 7])
@pytest.mark.parametrize("direction", ["asc", "desc"])
@pytest.mark.parametrize(("entity", "field"), ORDERS)
def test_each_order_pages_every_item_once_in_keyset_order(
    ds: Dataset, api: Api, entity: str, field: str, direction: str, limit: int
) -> None:
    items = walk(api, entity, order_by=f"{field}:{direction}", limit=limit)
    everything = listed(ds, entity)
    expected = sorted(
        everything, key=lambda o: (SORTS[field](o), o["id"]), reverse=direction == "desc"
    )
    assert ids(items) == ids(expected)
    assert len(set(ids(items))) == len(everything)


@pytest.mark.parametrize("limit", [100, 7])
@pytest.mark.parametrize("entity", [e for e in ENTITIES if e != "custom-fields"])
def test_default_order_pages_what_entity_items_returns(
    ds: Dataset, api: Api, entity: str, limit: int
) -> None:
    assert walk(api, entity, limit=limit) == listed(ds, entity)


def test_default_orders(ds: Dataset, api: Api) -> None:
    users = walk(api, "users")
    assert ids(users) == ids(sorted(users, key=lambda u: (u["name"], u["id"])))  # name:asc
    tags = walk(api, "tags")
    newest = sorted(tags, key=lambda t: (when(t["created_datetime"]), t["id"]), reverse=True)
    assert ids(tags) == ids(newest)
    status, body = call(api, "customers")
    assert status == 200 and len(body["data"]) == 30  # limit defaults to 30


@pytest.mark.parametrize("limit", [100, 7])
def test_tags_by_usage_then_name(ds: Dataset, api: Api, limit: int) -> None:
    tags = walk(api, "tags", order_by="usage:desc,name:desc", limit=limit)
    expected = sorted(tags, key=lambda t: (t["usage"], t["name"], t["id"]), reverse=True)
    assert ids(tags) == ids(expected) and len(tags) == len(ds.entity_items("tags"))
    assert sum(t["usage"] == 0 for t in tags) > 1  # ties, decided by name


@pytest.mark.parametrize(
    ("object_type", "archived"),
    [
        ("Ticket", None),
        ("Ticket", "false"),
        ("Ticket", "true"),
        ("Customer", None),
        ("Customer", "true"),
    ],
)
@pytest.mark.parametrize("order_by", ["priority:asc", "priority:desc"])
def test_custom_fields_by_priority(
    ds: Dataset, api: Api, object_type: str, archived: str | None, order_by: str
) -> None:
    extra = {} if archived is None else {"archived": archived}
    fields = walk(
        api, "custom-fields", object_type=object_type, order_by=order_by, limit=7, **extra
    )
    wanted = archived == "true"
    expected = [
        f
        for f in ds.entity_items("custom-fields")
        if f["object_type"] == object_type and (f["deactivated_datetime"] is not None) == wanted
    ]
    expected.sort(key=lambda f: (f["priority"], f["id"]), reverse=order_by.endswith("desc"))
    assert ids(fields) == ids(expected)
    assert len(fields) == (2 if wanted else 6)


def test_custom_fields_list_only_active_ones_unless_archived_is_true(ds: Dataset, api: Api) -> None:
    default = walk(api, "custom-fields", object_type="Ticket")
    archived = walk(api, "custom-fields", object_type="Ticket", archived="true")
    assert all(f["deactivated_datetime"] is None for f in default)
    assert archived and all(f["deactivated_datetime"] is not None for f in archived)
    everything = [f for f in ds.entity_items("custom-fields") if f["object_type"] == "Ticket"]
    assert sorted(ids(default + archived)) == sorted(ids(everything))
    assert [f["object_type"] for f in ds.entity_items("custom-fields")].count("Customer") == 8


def test_a_cursor_continues_after_its_item_while_items_arrive(
    fresh: Callable[[], tuple[Dataset, Api]],
) -> None:
    d, api = fresh()
    params = {"order_by": "created_datetime:asc", "limit": 10}
    status, first = call(api, "events", **params)
    assert status == 200
    early = d.add_event("ticket-deleted", "Ticket", 1, created=END - timedelta(days=3000))
    late = d.add_event("ticket-deleted", "Ticket", 2)
    rest = walk(api, "events", cursor=first["meta"]["next_cursor"], **params)
    seen = ids(first["data"] + rest)
    assert seen[-1] == late["id"] and early["id"] not in seen
    assert len(seen) == len(set(seen)) == len(d.entity_items("events")) - 1


def test_the_list_envelope(api: Api) -> None:
    status, body = call(api, "tags", limit=5, order_by="name:asc")
    assert status == 200 and set(body) == {"object", "uri", "data", "meta"}
    assert body["object"] == "list" and body["uri"] == "/api/tags?limit=5&order_by=name%3Aasc"
    assert body["meta"]["prev_cursor"] is None and body["meta"]["next_cursor"]


# -- refusals --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("entity", "params", "field"),
    [
        ("tags", {"order_by": "usage"}, "order_by"),
        ("tags", {"order_by": "usage:desc"}, "order_by"),
        ("tags", {"order_by": "usage:asc,name:asc"}, "order_by"),
        ("users", {"order_by": "updated_datetime:desc"}, "order_by"),
        ("customers", {"order_by": "name:asc"}, "order_by"),
        ("events", {"order_by": "updated_datetime"}, "order_by"),
        ("custom-fields", {"object_type": "Ticket", "order_by": "created_datetime"}, "order_by"),
        ("custom-fields", {}, "object_type"),
        ("custom-fields", {"object_type": "Message"}, "object_type"),
        ("custom-fields", {"object_type": "Ticket", "archived": "maybe"}, "archived"),
        ("events", {"created_datetime[gt]": "yesterday"}, "created_datetime[gt]"),
        ("events", {"created_datetime[lte]": "2024-02-30T00:00:00"}, "created_datetime[lte]"),
        ("events", {"created_datetime[gte]": "2024-01-01T10:00:00 00:00"}, "created_datetime[gte]"),
        ("events", {"object_type": "Order"}, "object_type"),
        ("events", {"object_id": "5"}, "object_id"),
        ("events", {"user_ids": "me"}, "user_ids"),
        ("users", {"roles": ["agent", "superuser"]}, "roles"),
        ("customers", {"view_id": "999"}, "view_id"),
        ("customers", {"view_id": "401"}, "view_id"),  # a ticket view
        ("tickets", {"view_id": "411"}, "view_id"),  # a customer view
        ("tickets", {"rule_id": "1"}, "rule_id"),
        ("customers", {"ticket_id": "1"}, "ticket_id"),
        ("teams", {"type": "email"}, "type"),
        ("macros", {"search": "refund"}, "search"),
        ("macros", {"archived": "maybe"}, "archived"),
        ("phone/voice-calls", {"ticket_id": "x"}, "ticket_id"),
        ("phone/voice-calls", {"call_id": "1"}, "call_id"),
        ("phone/voice-call-events", {"call_id": "x"}, "call_id"),
        ("phone/voice-call-recordings", {"ticket_id": "1"}, "ticket_id"),
        ("jobs", {"status": "done"}, "status"),
        ("satisfaction-surveys", {"ticket_id": "x"}, "ticket_id"),
        ("users", {"limit": "101"}, "limit"),
    ],
)
def test_bad_parameters_answer_400(api: Api, entity: str, params: Obj, field: str) -> None:
    refused(api, entity, field, **params)


def test_an_unknown_event_type_is_named(api: Api) -> None:
    msg = refused(api, "events", "types", types=["ticket-created", "ticket-exploded"])
    assert "ticket-exploded" in msg and "ticket-created" not in msg


@pytest.mark.parametrize(
    "cursor",
    ["not-base64!", "e30", encode("next", "vip", 503), encode("next", [1, "x"], 1)],
)
def test_a_cursor_that_does_not_fit_answers_400(api: Api, cursor: str) -> None:
    status, body = call(api, "events", cursor=cursor)
    assert status == 400 and body == {"error": {"msg": "Invalid cursor."}}


# -- filters ---------------------------------------------------------------------------------------


def filtered(api: Api, entity: str, **params: Any) -> list[Obj]:
    return walk(api, entity, limit=100, **params)


def test_customer_filters(ds: Dataset, api: Api) -> None:
    everyone = ds.entity_items("customers")
    imported = next(c for c in everyone if c["external_id"] and c["email"] and c["name"])
    for field in ("email", "external_id", "name"):
        found = filtered(api, "customers", **{field: imported[field]})
        assert ids(found) == [c["id"] for c in everyone if c[field] == imported[field]]
        assert imported["id"] in ids(found)
    for field, value in (("language", "fr"), ("timezone", "Asia/Tokyo")):
        found = filtered(api, "customers", **{field: value})
        assert found and ids(found) == [c["id"] for c in everyone if c[field] == value]
    no_email = filtered(api, "customers", view_id=411)
    assert no_email and ids(no_email) == [c["id"] for c in everyone if c["email"] is None]
    french = filtered(api, "customers", view_id=412)
    assert ids(french) == [c["id"] for c in everyone if c["language"] == "fr"]


def test_customer_channel_filters(ds: Dataset, api: Api) -> None:
    everyone = ds.entity_items("customers")
    phones = filtered(api, "customers", channel_type="phone")
    assert phones and ids(phones) == [
        c["id"] for c in everyone if any(ch["type"] == "phone" for ch in c["channels"])
    ]
    number = phones[0]["channels"][-1]["address"]
    by_address = filtered(api, "customers", channel_address=number)
    assert phones[0]["id"] in ids(by_address)
    assert filtered(api, "customers", channel_type="email", channel_address=number) == []


def test_survey_filter(ds: Dataset, api: Api) -> None:
    survey = ds.entity_items("satisfaction-surveys")[3]
    assert filtered(api, "satisfaction-surveys", ticket_id=survey["ticket_id"]) == [survey]
    open_ticket = next(t for t in ds.tickets if t["status"] == "open")
    assert filtered(api, "satisfaction-surveys", ticket_id=open_ticket["id"]) == []


def test_event_datetime_range(ds: Dataset, api: Api) -> None:
    everything = ds.entity_items("events")
    middle = everything[len(everything) // 2]["created_datetime"]
    pivot = when(middle)
    later = [e for e in everything if when(e["created_datetime"]) > pivot]
    cases = {
        "created_datetime[gt]": later,
        "created_datetime[gte]": [e for e in everything if when(e["created_datetime"]) >= pivot],
        "created_datetime[lt]": [e for e in everything if when(e["created_datetime"]) < pivot],
        "created_datetime[lte]": [e for e in everything if when(e["created_datetime"]) <= pivot],
    }
    for name, expected in cases.items():
        assert filtered(api, "events", **{name: middle}) == expected, name
    # Naive means UTC; both ends together make a window.
    naive = pivot.replace(tzinfo=None).isoformat()
    assert filtered(api, "events", **{"created_datetime[gt]": naive}) == later
    start = pivot - timedelta(days=20)
    window = walk(
        api,
        "events",
        order_by="created_datetime:asc",
        limit=7,
        **{"created_datetime[gte]": start.isoformat(), "created_datetime[lt]": middle},
    )
    expected = [e for e in everything if start <= when(e["created_datetime"]) < pivot]
    assert window and ids(window) == ids(expected)[::-1]


def test_event_object_type_user_and_type_filters(ds: Dataset, api: Api) -> None:
    everything = ds.entity_items("events")
    tk = ds.tickets[10]
    about = filtered(api, "events", object_type="Ticket", object_id=tk["id"])
    assert about == [
        e for e in everything if e["object_type"] == "Ticket" and e["object_id"] == tk["id"]
    ]
    created = [e for e in about if e["type"] == "ticket-created"]
    assert [e["created_datetime"] for e in created] == [tk["created_datetime"]]
    notes = filtered(api, "events", object_type="TicketMessage")
    assert len(notes) == len(ds.messages) and all(
        e["type"] == "ticket-message-created" for e in notes
    )
    two = filtered(api, "events", types=["ticket-deleted", "customer-merged"])
    assert {e["type"] for e in two} == {"ticket-deleted", "customer-merged"}
    assert ids(two) == [
        e["id"] for e in everything if e["type"] in {"ticket-deleted", "customer-merged"}
    ]
    by_users = filtered(api, "events", user_ids=["1001", "1002"])
    assert by_users and ids(by_users) == [
        e["id"] for e in everything if e["user_id"] in {1001, 1002}
    ]


def test_tag_search(ds: Dataset, api: Api) -> None:
    found = filtered(api, "tags", search="REF")
    assert {t["name"] for t in found} >= {"refund"}
    assert all("ref" in t["name"].casefold() for t in found)
    assert filtered(api, "tags", search="返") == [
        t for t in ds.entity_items("tags") if "返" in t["name"]
    ]


def test_user_filters(ds: Dataset, api: Api) -> None:
    users = ds.entity_items("users")
    maria = next(u for u in users if u["id"] == 1001)
    assert filtered(api, "users", email=maria["email"]) == [maria]
    staff = next(u for u in users if u["external_id"])
    assert filtered(api, "users", external_id=staff["external_id"]) == [staff]
    roles = filtered(api, "users", roles=["admin", "observer-agent"])
    assert roles and ids(roles) == [
        u["id"] for u in users if u["role"]["name"] in {"admin", "observer-agent"}
    ]
    assert ids(filtered(api, "users", search="LOPEZ")) == [1001]
    assert ids(filtered(api, "users", search="acme.example")) == ids(users)


def test_integration_type_filter(api: Api) -> None:
    assert ids(filtered(api, "integrations", type="email")) == [7001]
    assert filtered(api, "integrations", type="nothing") == []


def test_ticket_view_and_rule_filters(ds: Dataset, api: Api) -> None:
    open_ids = {t["id"] for t in ds.tickets if t["status"] == "open"}
    assert set(ids(filtered(api, "tickets", view_id=401))) == open_ids
    vip = {t["id"] for t in ds.tickets if any(tag["id"] == 503 for tag in t["tags"])}
    assert vip and set(ids(filtered(api, "tickets", view_id=406))) == vip
    spam_rule = next(r for r in ds.entity_items("rules") if r["id"] == 802)
    spam = {
        t["id"]
        for t in ds.tickets
        if t["spam"] and t["created_datetime"] >= spam_rule["created_datetime"]
    }
    assert spam and set(ids(filtered(api, "tickets", rule_id=802))) == spam


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


def test_ticket_detail_shows_its_survey(ds: Dataset, api: Api) -> None:
    survey = ds.entity_items("satisfaction-surveys")[0]
    tid = survey["ticket_id"]
    reply = api.get(f"/api/tickets/{tid}", f"/api/tickets/{tid}", {}, None)
    assert json.loads(reply.body)["satisfaction_survey"] == survey


# -- mutations -------------------------------------------------------------------------------------


def events_of(d: Dataset, object_type: str, object_id: int) -> list[Obj]:
    return [
        e
        for e in d.entity_items("events")
        if e["object_type"] == object_type and e["object_id"] == object_id
    ]


def test_add_and_update_customers(fresh: Callable[[], tuple[Dataset, Api]]) -> None:
    d, api = fresh()
    c = d.add_customer(email="new@example.com", language="fr")
    status, body = call(api, "customers", limit=1)
    assert status == 200 and body["data"][0]["id"] == c["id"]  # newest first
    assert filtered(api, "customers", email="new@example.com") == [c]
    assert [e["type"] for e in events_of(d, "Customer", c["id"])] == ["customer-created"]
    old = next(iter(d.customers.values()))
    created = old["created_datetime"]
    later = datetime.now(UTC) + timedelta(hours=1)
    d.update_customer(old["id"], note='VIP, "again"', updated_datetime=later)
    status, body = call(api, "customers", order_by="updated_datetime:desc", limit=1)
    assert body["data"][0]["id"] == old["id"] and body["data"][0]["note"] == 'VIP, "again"'
    assert old["created_datetime"] == created
    updates = [e for e in events_of(d, "Customer", old["id"]) if e["type"] == "customer-updated"]
    assert [e["created_datetime"] for e in updates][-1] == old["updated_datetime"]
    with pytest.raises(KeyError):
        d.update_customer(1, name="nobody")


def test_add_event(fresh: Callable[[], tuple[Dataset, Api]]) -> None:
    d, api = fresh()
    at = END + timedelta(minutes=5)
    e = d.add_event("ticket-deleted", "Ticket", 42, created=at, user_id=1003, data={"why": "spam"})
    assert e["created_datetime"] == at.isoformat() and e["data"] == {"why": "spam"}
    assert filtered(api, "events", object_type="Ticket", object_id=42) == [e]
    assert filtered(api, "events", user_ids=["1003"], types=["ticket-deleted"])[0] == e
    with pytest.raises(ValueError, match="unknown event type"):
        d.add_event("ticket-exploded", "Ticket", 42)


@pytest.mark.parametrize("by", ["ticket", "survey"])
def test_score_survey(fresh: Callable[[], tuple[Dataset, Api]], by: str) -> None:
    d, api = fresh()
    survey = next(s for s in d.entity_items("satisfaction-surveys") if s["score"] is None)
    scored = END + timedelta(days=1)
    key = survey["ticket_id"] if by == "ticket" else survey["id"]
    d.score_survey(key, 2, scored=scored)
    [now] = filtered(api, "satisfaction-surveys", ticket_id=survey["ticket_id"])
    assert now["score"] == 2 and now["scored_datetime"] == scored.isoformat()
    assert now["created_datetime"] == survey["created_datetime"]
    responded = events_of(d, "SatisfactionSurvey", survey["id"])[0]  # newest first
    assert responded["type"] == "satisfaction-survey-responded"
    assert responded["data"] == {"ticket_id": survey["ticket_id"], "score": 2}
    with pytest.raises(ValueError):
        d.score_survey(key, 6)
    with pytest.raises(KeyError):
        d.score_survey(1, 3)


def test_tags_change_in_tickets_too(fresh: Callable[[], tuple[Dataset, Api]]) -> None:
    d, api = fresh()
    new = d.add_tag('new, "shiny" 🆕', color="#123456")
    assert new["usage"] == 0 and new in filtered(api, "tags", search="shiny")
    tagged = next(t for t in d.tickets if any(tag["id"] == 501 for tag in t["tags"]))
    updated = tagged["updated_datetime"]
    d.rename_tag(501, "remboursement")
    [renamed] = filtered(api, "tags", search="rembours")
    assert renamed["id"] == 501
    shown = {"id": 501, "name": "remboursement", "decoration": renamed["decoration"]}
    assert shown in tagged["tags"]
    assert tagged["updated_datetime"] == updated  # the ticket itself did not change
    d.delete_config("tags", 501)
    assert 501 not in ids(walk(api, "tags", limit=100))
    assert all(tag["id"] != 501 for t in d.tickets for tag in t["tags"])
    assert all(tag["id"] != 501 for t in (d.add_ticket() for _ in range(20)) for tag in t["tags"])


def test_ticket_changes_keep_tag_usage(fresh: Callable[[], tuple[Dataset, Api]]) -> None:
    d, _ = fresh()

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


def test_update_and_delete_configuration(fresh: Callable[[], tuple[Dataset, Api]]) -> None:
    d, api = fresh()
    macro = d.entity_items("macros")[0]
    changed = d.update_config("macros", macro["id"], name="=new name")
    assert changed["name"] == "=new name"
    assert when(changed["updated_datetime"]) > when(macro["updated_datetime"])
    assert changed["created_datetime"] == macro["created_datetime"]
    d.delete_config("views", 401)
    assert 401 not in ids(walk(api, "views"))
    refused(api, "tickets", "view_id", view_id=401)
    with pytest.raises(KeyError):
        d.update_config("rules", 1, name="x")
    with pytest.raises(ValueError):
        d.update_config("teams", 301, id=5)


def test_ticket_mutations_add_their_events(fresh: Callable[[], tuple[Dataset, Api]]) -> None:
    d, _ = fresh()
    tk = d.add_ticket(messages=2)
    kinds = [e["type"] for e in events_of(d, "Ticket", tk["id"])]
    assert kinds == ["ticket-created"]
    message_events = [
        e
        for e in d.entity_items("events")
        if e["type"] == "ticket-message-created" and e["data"] == {"ticket_id": tk["id"]}
    ]
    assert sorted(e["object_id"] for e in message_events) == [
        m["id"] for m in d.messages_of(tk["id"])
    ]
    assert ("Customer", tk["customer"]["id"]) in {
        (e["object_type"], e["object_id"]) for e in d.entity_items("events")
    }
    d.update_ticket(tk["id"], status="closed")
    update = events_of(d, "Ticket", tk["id"])[0]  # newest first
    assert update["type"] == "ticket-updated"
    assert update["data"] == {"changes": ["status", "updated_datetime"]}
    assert update["created_datetime"] == tk["updated_datetime"]


def test_entity_items_are_copies(fresh: Callable[[], tuple[Dataset, Api]]) -> None:
    d, _ = fresh()
    d.entity_items("tags")[0]["name"] = "changed"
    assert d.entity_items("tags")[0]["name"] != "changed"
    with pytest.raises(KeyError):
        d.entity_items("orders")


# -- over HTTP -------------------------------------------------------------------------------------


@pytest.mark.sim(tickets=30)
def test_entities_over_http(sim: Simulator) -> None:
    s = requests.Session()
    s.trust_env = False
    s.auth = (sim.config.email, sim.config.api_key)
    tags: list[Obj] = []
    params: dict[str, Any] = {"limit": 7, "order_by": "name:asc"}
    while True:
        body = s.get(f"{sim.url}/tags", params=params, timeout=5).json()
        tags += body["data"]
        if not body["meta"]["next_cursor"]:
            break
        params["cursor"] = body["meta"]["next_cursor"]
    assert tags == sorted(sim.dataset.entity_items("tags"), key=lambda t: (t["name"], t["id"]))
    query: dict[str, Any] = {
        "types": ["ticket-created", "ticket-closed"],
        "created_datetime[gte]": "2000-01-01T00:00:00+00:00",
        "limit": 100,
    }
    events = s.get(f"{sim.url}/events", params=query, timeout=5).json()["data"]
    assert events and {e["type"] for e in events} <= {"ticket-created", "ticket-closed"}
    bad = s.get(f"{sim.url}/events", params={"types": "nope"}, timeout=5)
    assert bad.status_code == 400 and "nope" in bad.json()["error"]["msg"]
    forbidden = requests.get(f"{sim.url}/tags", auth=(NOPERM_EMAIL, sim.config.api_key), timeout=5)
    assert forbidden.status_code == 403


# -- where public sources disagree: each answer can be chosen --------------------------------------


def _api_with(ds: Dataset, **config: Any) -> Api:
    chosen = SimConfig(**config)
    return Api(ds, CursorBook(time.monotonic), lambda: chosen)


def test_archived_macros_are_listed_only_with_archived_true(ds: Dataset, api: Api) -> None:
    default = walk(api, "macros")
    archived = walk(api, "macros", archived="true")
    assert default and all(m["archived_datetime"] is None for m in default)
    assert archived and all(m["archived_datetime"] is not None for m in archived)
    assert sorted(ids(default + archived)) == sorted(ids(ds.entity_items("macros")))


def test_macros_can_list_every_macro_and_ignore_archived(ds: Dataset) -> None:
    api = _api_with(ds, macros_list_archived=True)
    everything = ids(ds.entity_items("macros"))
    assert ids(walk(api, "macros")) == everything == ids(walk(api, "macros", archived="true"))
    assert any(m["archived_datetime"] for m in ds.entity_items("macros"))


def test_events_can_require_object_id_with_object_type(ds: Dataset, api: Api) -> None:
    strict = _api_with(ds, events_need_object_id=True)
    refused(strict, "events", "object_id", object_type="Ticket")
    ticket_id = ds.tickets[0]["id"]
    one = walk(strict, "events", object_type="Ticket", object_id=ticket_id)
    assert one and {e["object_id"] for e in one} == {ticket_id}
    assert walk(api, "events", object_type="Ticket")  # by default, object_type alone is fine


def test_account_settings_in_each_shape(ds: Dataset, api: Api) -> None:
    settings = ds.entity_items("account/settings")
    assert len(settings) >= 3 and all({"id", "type", "data"} <= set(s) for s in settings)
    assert walk(api, "account/settings") == settings
    status, array = call(_api_with(ds, account_settings_shape="array"), "account/settings")
    assert status == 200 and array == settings
    status, mapping = call(_api_with(ds, account_settings_shape="object"), "account/settings")
    assert status == 200 and mapping == {s["type"]: s["data"] for s in settings}


# -- phone calls, jobs -----------------------------------------------------------------------------


def test_calls_belong_to_tickets_and_carry_summaries_and_private_recordings(ds: Dataset) -> None:
    calls = ds.entity_items("phone/voice-calls")
    recordings = ds.entity_items("phone/voice-call-recordings")
    call_events = ds.entity_items("phone/voice-call-events")
    tickets = {t["id"] for t in ds.tickets}
    assert calls and all(c["ticket_id"] in tickets for c in calls)
    assert any(c["summaries"] for c in calls) and any(not c["summaries"] for c in calls)
    by_id = {c["id"]: c for c in calls}
    assert all(by_id[r["call_id"]]["has_call_recording"] for r in recordings)
    private = [r for r in recordings if r["error_code"] == "RECORDING_IS_PRIVATE"]
    assert private and all(r["url"] is None for r in private)
    assert any(r["url"] for r in recordings)
    assert {e["call_id"] for e in call_events} == set(by_id)
    assert ds.entity_items("jobs")


def test_call_filters(ds: Dataset, api: Api) -> None:
    some = ds.entity_items("phone/voice-calls")[1]
    assert ids(filtered(api, "phone/voice-calls", ticket_id=some["ticket_id"])) == [some["id"]]
    for entity in ("phone/voice-call-events", "phone/voice-call-recordings"):
        found = filtered(api, entity, call_id=some["id"])
        assert all(o["call_id"] == some["id"] for o in found)
    assert filtered(api, "phone/voice-call-events", call_id=some["id"])


def test_add_voice_call(fresh: Callable[[], tuple[Dataset, Api]]) -> None:
    d, api = fresh()
    before = len(d.entity_items("phone/voice-calls"))
    made = d.add_voice_call(d.tickets[2]["id"])
    calls = walk(api, "phone/voice-calls")
    assert len(calls) == before + 1 and calls[0]["id"] == made["id"]  # newest first
    assert made["ticket_id"] == d.tickets[2]["id"]
    assert filtered(api, "phone/voice-call-events", call_id=made["id"])
