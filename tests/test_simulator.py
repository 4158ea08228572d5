"""The Gorgias API simulator behaves like the real API as gorgias-api.md describes it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests

from gorgias_sim import (
    NOPERM_EMAIL,
    Dataset,
    Faults,
    RequestRecord,
    SimConfig,
    Simulator,
    make_dataset,
)
from gorgias_sim import data as sim_data
from gorgias_sim.texts import TRICKY_BODIES
from tests.support.fakes import FakeTime

Obj = dict[str, Any]


def session(sim: Simulator, email: str | None = None) -> requests.Session:
    s = requests.Session()
    s.trust_env = False  # never route 127.0.0.1 through a proxy from the environment
    s.auth = (email or sim.config.email, sim.config.api_key)
    return s


def walk(s: requests.Session, url: str, **params: Any) -> list[Obj]:
    """Every item of a listing, following next_cursor with the same order and limit."""
    items: list[Obj] = []
    cursor = None
    while True:
        r = s.get(url, params={**params, **({"cursor": cursor} if cursor else {})}, timeout=5)
        assert r.status_code == 200, r.text
        body = r.json()
        items += body["data"]
        cursor = body["meta"]["next_cursor"]
        if cursor is None:
            return items


def key(item: Obj, field: str) -> tuple[datetime, int]:
    return (datetime.fromisoformat(item[field]), item["id"])


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
    assert forbidden.json() == {"error": {"msg": "Forbidden."}}
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


@pytest.mark.sim(**PRIVATE, rate_limit=True, bucket_capacity=3, bucket_window=60.0, fake_clock=True)
def test_leaky_bucket_limits_and_reports(sim: Simulator, clock: FakeTime) -> None:
    s, url = session(sim), f"{sim.url}/account"
    levels = [s.get(url, timeout=5).headers["X-Gorgias-Account-Api-Call-Limit"] for _ in range(3)]
    assert levels == ["1/3", "2/3", "3/3"]
    refused = s.get(url, timeout=5)
    assert refused.status_code == 429
    assert refused.json() == {"error": {"msg": "Too many requests."}}
    assert refused.headers["Retry-after"] == "20"  # one slot drains in 60 s / 3
    assert refused.headers["X-Gorgias-Account-Api-Call-Limit"] == "3/3"
    clock.now += 20
    assert s.get(url, timeout=5).headers["X-Gorgias-Account-Api-Call-Limit"] == "3/3"
    assert sim.rate_limited == 1


@pytest.mark.parametrize("kind", ["5xx", "reset", "truncated", "html_error", "slow", "429"])
@pytest.mark.sim(**PRIVATE, faults=Faults(slow_seconds=0.3))
def test_fail_next_produces_each_symptom(sim: Simulator, kind: str) -> None:
    s, url = session(sim), f"{sim.url}/tickets"
    sim.fail_next(1, kind)
    if kind == "reset":
        with pytest.raises(requests.ConnectionError):
            s.get(url, timeout=5)
    elif kind == "truncated":
        with pytest.raises((requests.RequestException, ValueError)):
            s.get(url, timeout=5).json()
    elif kind == "slow":
        with pytest.raises(requests.ReadTimeout):
            s.get(url, timeout=0.1)
    else:
        r = s.get(url, timeout=5)
        expected = {"5xx": 503, "html_error": 502, "429": 429}[kind]
        assert r.status_code == expected
        if kind == "html_error":
            assert r.headers["Content-Type"].startswith("text/html")
        if kind == "429":
            assert r.headers["Retry-after"] == "1"
    assert session(sim).get(url, timeout=5).status_code == 200
    assert sim.faults_injected == {kind: 1}


@pytest.mark.sim(**PRIVATE, fake_clock=True)
def test_outage_alternates_resets_and_503s(sim: Simulator, clock: FakeTime) -> None:
    sim.outage(10)
    url = f"{sim.url}/account"
    with pytest.raises(requests.ConnectionError):
        session(sim).get(url, timeout=5)
    assert session(sim).get(url, timeout=5).status_code == 503
    clock.now += 11
    assert session(sim).get(url, timeout=5).status_code == 200


def test_random_faults_repeat_with_their_seed() -> None:
    def statuses() -> list[int]:  # each time from a new simulator
        config = SimConfig(tickets=30, rate_limit=False, faults=Faults(error_5xx=0.5, seed=7))
        with Simulator(config) as sim:
            s = session(sim)
            return [s.get(f"{sim.url}/account", timeout=5).status_code for _ in range(12)]

    first = statuses()
    assert first == statuses()
    assert 200 in first and any(code >= 500 for code in first)


@pytest.mark.sim(**PRIVATE, faults=Faults(rate_limited=1.0, retry_after=120))
def test_a_429_storm_carries_its_long_retry_after(sim: Simulator) -> None:
    r = session(sim).get(f"{sim.url}/account", timeout=5)
    assert r.status_code == 429 and r.headers["Retry-after"] == "120"
    assert sim.faults_injected == {"429": 1}


@pytest.mark.sim(**PRIVATE, rate_limit=True, bucket_capacity=40)
def test_an_injected_429_reports_the_bucket_full(sim: Simulator) -> None:
    # As when other integrations fill the account's shared bucket: not this client's count.
    sim.fail_next(1, "429")
    r = session(sim).get(f"{sim.url}/account", timeout=5)
    assert r.status_code == 429 and r.headers["X-Gorgias-Account-Api-Call-Limit"] == "40/40"


@pytest.mark.sim(tickets=0, account_exists=False, rate_limit=True)
def test_an_unknown_account_answers_404_with_a_web_page(sim: Simulator) -> None:
    r = session(sim).get(f"{sim.url}/account", timeout=5)
    assert r.status_code == 404 and r.headers["Content-Type"].startswith("text/html")
    assert r.text.startswith("<!DOCTYPE html>")


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


def test_special_cases_are_present(ds: Dataset) -> None:
    sp = ds.special
    tickets = {t["id"]: t for t in ds.tickets}
    messages = {m["id"]: m for m in ds.messages}
    assert len(sp[sim_data.TICKETS_WITHOUT_MESSAGES]) >= 3
    assert all(tickets[i]["messages_count"] == 0 for i in sp[sim_data.TICKETS_WITHOUT_MESSAGES])
    assert len(ds.messages_of(sp[sim_data.TICKET_WITH_MANY_MESSAGES][0])) == 150
    assert tickets[sp[sim_data.TICKET_NULL_SUBJECT][0]]["subject"] is None
    assert tickets[sp[sim_data.TICKET_NULL_CUSTOMER_EMAIL][0]]["customer"]["email"] is None
    name = tickets[sp[sim_data.TICKET_TRICKY_CUSTOMER_NAME][0]]["customer"]["name"]
    assert "," in name and '"' in name
    html_only = messages[sp[sim_data.MESSAGE_HTML_ONLY][0]]
    assert html_only["body_text"] is None and html_only["stripped_text"] is None
    assert "&amp;" in html_only["body_html"] and "&nbsp;" in html_only["body_html"]
    stripped = messages[sp[sim_data.MESSAGE_STRIPPED_ONLY][0]]
    assert stripped["body_text"] is None and stripped["stripped_text"]
    assert len(messages[sp[sim_data.MESSAGE_HUGE_BODY][0]]["body_text"]) >= 200_000
    assert messages[sp[sim_data.MESSAGE_NULL_SENDER_NAME][0]]["sender"]["name"] is None
    assert not messages[sp[sim_data.MESSAGE_INTERNAL_NOTE][0]]["public"]
    bodies = [messages[i]["body_text"] for i in sp[sim_data.MESSAGES_TRICKY_BODIES]]
    assert bodies == [text for _, text in TRICKY_BODIES]
    joined = "".join(bodies)
    for needle in ("👩‍💻", "\r\n", "\t", '"', "ご注文", "你好", "Здравствуйте", "مرحبا", "नमस्ते"):
        assert needle in joined
    assert {b[0] for b in bodies} >= {"=", "+", "-", "@"}


def test_datetimes_look_like_the_real_api(ds: Dataset) -> None:
    stamps = [
        v for item in ds.tickets + ds.messages for k, v in item.items() if k.endswith("_datetime")
    ]
    texts = [v for v in stamps if v is not None]
    assert all(v.endswith("+00:00") and ".000000" not in v for v in texts)
    assert sum("." not in v for v in texts) > len(texts) // 5  # many without microseconds
    created = [t["created_datetime"] for t in ds.tickets]
    assert len(set(created)) < len(created)  # ties, to be broken by id
    assert len({m["created_datetime"] for m in ds.messages}) < len(ds.messages)
    tickets = {t["id"]: t for t in ds.tickets}
    assert all(
        key(m, "created_datetime")[0] >= key(tickets[m["ticket_id"]], "created_datetime")[0]
        for m in ds.messages
    )


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


def test_generation_is_seeded() -> None:
    end = datetime(2025, 1, 1, tzinfo=UTC) + timedelta(hours=3)
    assert make_dataset(5, 40, end=end).messages == make_dataset(5, 40, end=end).messages
    assert make_dataset(5, 40, end=end).tickets != make_dataset(6, 40, end=end).tickets
