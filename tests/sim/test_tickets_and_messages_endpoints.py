"""The simulator's tickets and messages endpoints, as gorgias-api.md describes the real ones:
auth, the list envelope, keyset paging and cursors, refused parameters, filters, and the
requests it records."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from typing import Any

import pytest
import requests

from gorgias_sim import NOPERM_EMAIL, Dataset, RequestRecord, Simulator
from gorgias_sim import data as sim_data
from tests.support.fakes import FakeTime
from tests.support.sim_http import Obj, key, session, walk

# One simulator of the default account (seed 1, 200 tickets) serves the tests that only read;
# the tests that change its data or config each have a small private one (30 tickets).
pytestmark = pytest.mark.sim(scope="module")
PRIVATE: dict[str, Any] = {"tickets": 30}


@pytest.fixture
def ds(sim: Simulator) -> Dataset:
    """The data the simulator serves."""
    return sim.dataset


def test_auth_failures_answer_401_and_403(sim: Simulator) -> None:
    anonymous = requests.get(f"{sim.url}/tickets", timeout=5)
    wrong = requests.get(f"{sim.url}/tickets", auth=(sim.config.email, "nope"), timeout=5)
    assert anonymous.status_code == wrong.status_code == 401
    assert wrong.json() == {"error": {"msg": "Unauthorized."}}
    noperm = session(sim, NOPERM_EMAIL)
    forbidden = noperm.get(f"{sim.url}/tickets", timeout=5)
    assert forbidden.status_code == 403
    assert forbidden.json() == {"error": {"msg": sim.config.forbidden_reason}}
    assert noperm.get(f"{sim.url}/account", timeout=5).status_code == 200


def test_list_envelope_and_defaults(sim: Simulator, ds: Dataset) -> None:
    r = session(sim).get(f"{sim.url}/tickets?trashed=true", timeout=5)
    assert r.headers["Content-Type"] == "application/json"
    body = r.json()
    assert set(body) == {"object", "uri", "data", "meta"}
    assert body["object"] == "list" and body["uri"] == "/api/tickets?trashed=true"
    assert set(body["meta"]) == {"prev_cursor", "next_cursor"}
    assert body["meta"]["prev_cursor"] is None and body["meta"]["next_cursor"]
    newest = sorted(ds.tickets, key=lambda t: key(t, "created_datetime"), reverse=True)
    assert [t["id"] for t in body["data"]] == [t["id"] for t in newest[:30]]
    assert "messages" not in body["data"][0] and "messages_count" in body["data"][0]


@pytest.mark.parametrize(
    ("endpoint", "order_by"),
    [
        ("tickets", "created_datetime:asc"),
        ("tickets", "created_datetime:desc"),
        ("tickets", "updated_datetime"),
        ("messages", "created_datetime:asc"),
        ("messages", "created_datetime:desc"),
    ],
)
def test_paging_returns_every_item_once_in_keyset_order(
    sim: Simulator, ds: Dataset, endpoint: str, order_by: str
) -> None:
    field, _, direction = order_by.partition(":")
    items = walk(session(sim), f"{sim.url}/{endpoint}", limit=100, order_by=order_by)
    everything = ds.tickets if endpoint == "tickets" else ds.messages
    expected = sorted(everything, key=lambda i: key(i, field), reverse=direction == "desc")
    assert [i["id"] for i in items] == [i["id"] for i in expected]


@pytest.mark.sim(**PRIVATE)
def test_cursors_are_keyset_positions_not_offsets(sim: Simulator) -> None:
    s, url = session(sim), f"{sim.url}/tickets"
    params: dict[str, str | int] = {"limit": 10, "order_by": "created_datetime:asc"}
    first = s.get(url, params=params, timeout=5).json()
    earlier = sim.dataset.add_ticket(created=datetime(2001, 1, 1, tzinfo=UTC))
    later = sim.dataset.add_ticket(messages=2)
    rest = walk(s, url, cursor=first["meta"]["next_cursor"], **params)
    ids = [t["id"] for t in first["data"] + rest]
    assert ids[-1] == later["id"] and earlier["id"] not in ids
    assert len(ids) == len(set(ids)) == 31
    assert later["messages_count"] == 2 and len(sim.dataset.messages_of(later["id"])) == 2


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("tickets", {"limit": "0"}, "limit"),
        ("tickets", {"limit": "101"}, "limit"),
        ("tickets", {"limit": "ten"}, "limit"),
        ("tickets", {"order_by": "id:asc"}, "order_by"),
        ("tickets", {"order_by": "created_datetime:up"}, "order_by"),
        ("messages", {"order_by": "updated_datetime:desc"}, "order_by"),
        ("tickets", {"view_id": "3"}, "view_id"),
        ("messages", {"customer_id": "3"}, "customer_id"),
        ("tickets", {"ticket_ids": "1,2"}, "ticket_ids"),
        ("tickets", {"ticket_ids": [str(i) for i in range(101)]}, "ticket_ids"),
    ],
)
def test_bad_parameters_answer_400(sim: Simulator, path: str, params: Obj, field: str) -> None:
    r = session(sim).get(f"{sim.url}/{path}", params=params, timeout=5)
    assert r.status_code == 400
    assert field in r.json()["error"]["data"]


@pytest.mark.parametrize("cursor", ["not-base64!", "WyJuZXh0Il0", "e30"])
def test_malformed_cursor_answers_400(sim: Simulator, cursor: str) -> None:
    r = session(sim).get(f"{sim.url}/messages", params={"cursor": cursor}, timeout=5)
    assert r.status_code == 400
    assert r.json() == {"error": {"msg": "Invalid cursor."}}


@pytest.mark.sim(**PRIVATE)
def test_cursors_are_in_the_real_apis_encoding(sim: Simulator) -> None:
    s, url = session(sim), f"{sim.url}/messages"
    params = {"limit": 5, "order_by": "created_datetime:asc"}
    page = s.get(url, params=params, timeout=5).json()
    token = page["meta"]["next_cursor"]
    last = page["data"][-1]
    # Standard base64, padded, of json.dumps with its default separators; the datetime naive,
    # with microseconds even where the item shows none.
    shown = datetime.fromisoformat(last["created_datetime"])
    naive = shown.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="microseconds")
    assert (
        base64.b64decode(token, validate=True) == json.dumps(["next", naive, last["id"]]).encode()
    )
    # The same position written any other way is malformed (unpadded only differs when the
    # encoding needs padding).
    for other in (
        base64.urlsafe_b64encode(base64.b64decode(token)).rstrip(b"=").decode(),
        base64.b64encode(json.dumps(["next", naive, last["id"]], separators=(",", ":")).encode()),
        base64.b64encode(json.dumps(["next", last["created_datetime"], last["id"]]).encode()),
    ):
        if other != token:
            assert s.get(url, params={**params, "cursor": other}, timeout=5).status_code == 400


@pytest.mark.parametrize(
    ("built_cursors", "status"), [("accept", 200), ("refuse-4xx", 400), ("refuse-5xx", 500)]
)
def test_cursors_it_never_issued_are_answered_as_configured(
    sim: Simulator, built_cursors: str, status: int
) -> None:
    sim.config.built_cursors = built_cursors
    s, url = session(sim), f"{sim.url}/messages"
    params = {"limit": 5, "order_by": "created_datetime:asc"}
    issued = s.get(url, params=params, timeout=5).json()["meta"]["next_cursor"]
    assert s.get(url, params={**params, "cursor": issued}, timeout=5).status_code == 200
    built = base64.b64encode(json.dumps(["next", "2024-01-01T00:00:00.000000", 0]).encode())
    assert s.get(url, params={**params, "cursor": built}, timeout=5).status_code == status
    malformed = s.get(url, params={**params, "cursor": "not-base64!"}, timeout=5)
    assert malformed.status_code == (500 if built_cursors == "refuse-5xx" else 400)


@pytest.mark.sim(**PRIVATE, cursor_ttl=60.0, fake_clock=True)
def test_cursor_expires_after_ttl(sim: Simulator, clock: FakeTime) -> None:
    s, url = session(sim), f"{sim.url}/tickets"
    cursor = s.get(url, params={"limit": 5}, timeout=5).json()["meta"]["next_cursor"]
    clock.now += 59
    assert s.get(url, params={"limit": 5, "cursor": cursor}, timeout=5).status_code == 200
    clock.now += 2
    expired = s.get(url, params={"limit": 5, "cursor": cursor}, timeout=5)
    assert expired.status_code == 400
    assert expired.json() == {"error": {"msg": "Invalid cursor."}}


@pytest.mark.sim(get_only=False)  # its own, for the one request that is not a GET
def test_non_get_is_recorded_and_refused(sim: Simulator) -> None:
    r = session(sim).post(f"{sim.url}/tickets", json={"subject": "x"}, timeout=5)
    assert r.status_code == 405
    assert [(q.method, q.path, q.status) for q in sim.non_get_requests] == [
        ("POST", "/api/tickets", 405)
    ]


@pytest.mark.sim(**PRIVATE)
def test_on_request_runs_before_the_answer(sim: Simulator) -> None:
    seen: list[RequestRecord] = []
    sim.on_request = seen.append
    session(sim).get(f"{sim.url}/messages", params={"limit": 1}, timeout=5)
    assert [(r.path, r.query, r.status, r.authorized) for r in seen] == [
        ("/api/messages", {"limit": ["1"]}, 0, True)
    ]
    assert sim.requests[-1].status == 200 and sim.count("/api/messages") == 1


def test_ticket_detail_and_missing_ticket(sim: Simulator, ds: Dataset) -> None:
    tid = ds.special[sim_data.TICKET_TRICKY_BODIES][0]
    s = session(sim)
    detail = s.get(f"{sim.url}/tickets/{tid}", timeout=5).json()
    assert [m["id"] for m in detail["messages"]] == [m["id"] for m in ds.messages_of(tid)]
    assert len(detail["messages"]) == detail["messages_count"]
    missing = s.get(f"{sim.url}/tickets/1", timeout=5)
    assert missing.status_code == 404 and missing.json() == {"error": {"msg": "Not found."}}
    assert s.get(f"{sim.url}/nowhere", timeout=5).status_code == 404


def test_ticket_ids_filter_skips_missing_ids(sim: Simulator, ds: Dataset) -> None:
    wanted = [ds.tickets[7]["id"], ds.tickets[3]["id"], 1]
    params = {"ticket_ids": [str(i) for i in wanted], "order_by": "created_datetime:asc"}
    body = session(sim).get(f"{sim.url}/tickets", params=params, timeout=5).json()
    assert [t["id"] for t in body["data"]] == [ds.tickets[3]["id"], ds.tickets[7]["id"]]


def test_ticket_id_filter_pages_a_long_conversation(sim: Simulator, ds: Dataset) -> None:
    tid = ds.special[sim_data.TICKET_WITH_MANY_MESSAGES][0]
    params = {"ticket_id": tid, "limit": 100, "order_by": "created_datetime:asc"}
    messages = walk(session(sim), f"{sim.url}/messages", **params)
    assert len(messages) == 150 and {m["ticket_id"] for m in messages} == {tid}
    assert messages == sorted(messages, key=lambda m: key(m, "created_datetime"))


@pytest.mark.sim(**PRIVATE)
def test_mutations_bump_the_ticket(sim: Simulator) -> None:
    ds = sim.dataset
    tid = ds.tickets[0]["id"]
    count = ds.tickets[0]["messages_count"]
    msg = ds.add_message(tid)
    tk = ds.ticket(tid)
    assert tk is not None and tk["messages_count"] == count + 1
    assert tk["last_message_datetime"] == msg["created_datetime"]
    assert tk["updated_datetime"] >= msg["created_datetime"]
    ds.update_ticket(ds.tickets[1]["id"], status="closed")
    params: dict[str, str | int] = {"order_by": "updated_datetime:desc", "limit": 2}
    newest = session(sim).get(f"{sim.url}/tickets", params=params, timeout=5).json()["data"]
    assert [t["id"] for t in newest] == [ds.tickets[1]["id"], tid]
    assert newest[0]["status"] == "closed"
