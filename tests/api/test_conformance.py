"""Conformance: objects shaped like the real API's (gorgias-api.md, "Real shapes" and
"Objects"), with values of our own, through the client over real HTTP, the walks, the row
builders and the commands, down to the exact rows, JSON lines and SQLite rows.

What the simulator does not make on its own is here on purpose: the exact key set of a real
ticket list item, the newer message fields (`actions`, `intents`, `is_retriable`, `headers`,
`sentiments`, `text`), ids at real magnitudes, datetimes without microseconds or offset, and
cursors the exporter must send back untouched.
"""

from __future__ import annotations

import base64
import copy
import io
import json
import sqlite3
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from gorgias_export.api.client import GorgiasClient
from gorgias_export.api.walk import ListingWalk, keyset_cursor
from gorgias_export.config import Settings
from gorgias_export.exports.progress import WalkPosition
from gorgias_export.output.conversation_csv import CsvConversationLines
from gorgias_export.output.writers import CsvEncoder, RowSink
from gorgias_export.rows import (
    CONVERSATION_COLUMNS,
    CONVERSATION_CSV_KINDS,
    conversation_row,
    ticket_context,
)
from tests.support.account import EMAIL, SECRET_KEY
from tests.support.cli import run_cli
from tests.support.fake_api import Call, FakeApi, Reply
from tests.support.fakes import FakeTime
from tests.support.outputs import read_csv, read_jsonl

Obj = dict[str, Any]

TICKET_ID = 151_234_567  # real ids: tickets ~150 M, messages ~385 M, people ~400 M
CUSTOMER_ID = 412_345_678
AGENT_ID = 401_234_567
INTEGRATION_ID = 86_420

CUSTOMER_BRIEF = {
    "id": CUSTOMER_ID,
    "email": "zoe.martin@example.fr",
    "name": "Zoé Martin",
    "firstname": "Zoé",
    "lastname": "Martin",
}
AGENT = {
    "id": AGENT_ID,
    "email": "sam@shop.example",
    "name": "Sam Agent",
    "firstname": "Sam",
    "lastname": "Agent",
    "meta": None,
}

# A ticket list item: exactly the real key set (no custom_fields, no messages).
TICKET: Obj = {
    "assignee_team": None,
    "assignee_user": {k: AGENT[k] for k in ("id", "email", "name", "firstname", "lastname")},
    "channel": "email",
    "closed_datetime": "2024-11-03T09:15:00+00:00",  # zero microseconds: left out
    "created_datetime": "2024-11-01T10:59:29+00:00",
    "customer": CUSTOMER_BRIEF,
    "excerpt": "Bonjour, voici la facture n°42",
    "external_id": None,
    "from_agent": False,
    "id": TICKET_ID,
    "integrations": [],
    "is_unread": False,
    "language": "fr",
    "last_message_datetime": "2024-11-01T12:00:00.500000+00:00",
    "last_received_message_datetime": "2024-11-01T10:59:29+00:00",
    "messages_count": 2,
    "meta": {"satisfaction_survey_sent": False},
    "opened_datetime": "2024-11-01T11:02:03",  # naive, as some documented examples: UTC
    "priority": "normal",
    "snooze_datetime": None,
    "spam": False,
    "status": "closed",
    "subject": None,
    "tags": [{"id": 2_100_001, "name": "facturation", "decoration": {"color": "#3e8ef7"}}],
    "trashed_datetime": None,
    "updated_datetime": "2024-11-03T09:15:00.000123+00:00",
    "uri": f"/api/tickets/{TICKET_ID}/",
    "via": "email",
}

# A customer's message with only an HTML body, and the newer fields.
INBOUND: Obj = {
    "actions": None,
    "attachments": None,
    "body_html": "<div>Bonjour,<br>voici la <b>facture</b>&nbsp;n°42</div>",
    "body_text": None,
    "channel": "email",
    "created_datetime": "2024-11-01T10:59:29+00:00",
    "external_id": None,
    "failed_datetime": None,
    "from_agent": False,
    "headers": {"Message-Id": "<c0ffee@mail.example.fr>"},
    "id": 385_123_456,
    "integration_id": INTEGRATION_ID,
    "intents": [],
    "is_retriable": False,
    "last_sending_error": None,
    "message_id": "<c0ffee@mail.example.fr>",
    "meta": None,
    "opened_datetime": None,
    "public": True,
    "receiver": AGENT,
    "rule_id": None,
    "sender": {**CUSTOMER_BRIEF, "meta": None},
    "sent_datetime": None,
    "sentiments": [],
    "source": {
        "type": "email",
        "to": [{"name": "Shop", "address": "support@shop.example"}],
        "from": {"name": "Zoé Martin", "address": "zoe.martin@example.fr"},
    },
    "stripped_html": None,
    "stripped_signature": None,
    "stripped_text": None,
    "subject": "Facture",
    "text": None,
    "ticket_id": TICKET_ID,
    "uri": f"/api/tickets/{TICKET_ID}/messages/385123456/",
    "via": "email",
}

# The agent's answer: text that looks like a formula, CR/LF, a naive sent time, attachments.
REPLY: Obj = {
    **INBOUND,
    "actions": [],
    "attachments": [
        {
            "url": "https://uploads.gorgias.io/PG09N6gdbWZ24j5g/facture_42-6a1f.pdf",
            "name": 'facture "nov", 42.pdf',
            "size": 48_213,
            "content_type": "application/pdf",
            "public": True,
        }
    ],
    "body_html": "<p>=SUM(A1) est réglé.</p>",
    "body_text": "=SUM(A1) est réglé.\r\nÀ bientôt",
    "created_datetime": "2024-11-01T12:00:00.500000+00:00",
    "from_agent": True,
    "headers": None,
    "id": 385_123_999,
    "intents": [{"name": "order/invoice", "is_user_generated": False}],
    "is_retriable": True,
    "message_id": "<beef@shop.example>",
    "meta": {"current_page": "https://shop.example/compte"},
    "receiver": {**CUSTOMER_BRIEF, "meta": None},
    "sender": AGENT,
    "sent_datetime": "2024-11-01T12:00:01",
    "sentiments": [{"type": "positive", "score": 0.93}],
    "source": {
        "type": "email",
        "to": [{"name": "Zoé Martin", "address": "zoe.martin@example.fr"}],
        "from": {"name": "Shop", "address": "support@shop.example"},
    },
    "stripped_text": "=SUM(A1) est réglé.",
    "text": "=SUM(A1) est réglé.\nÀ bientôt",
    "uri": f"/api/tickets/{TICKET_ID}/messages/385123999/",
}

# The detail adds these to the list item's keys.
DETAIL: Obj = {
    **TICKET,
    "assignee_team_id": None,
    "assignee_user_id": AGENT_ID,
    "events": [],
    "messages": [INBOUND, REPLY],
    "reply_options": {"email": {"answerable": True}},
    "requester": CUSTOMER_BRIEF,
    "satisfaction_survey": None,
}

CUSTOMER: Obj = {
    **CUSTOMER_BRIEF,
    "channels": [{"id": 9_001, "type": "email", "address": "zoe.martin@example.fr"}],
    "created_datetime": "2024-10-30T08:00:00+00:00",
    "data": None,
    "external_id": "shopify-7733",
    "integrations": {str(INTEGRATION_ID): {"__integration_type__": "shopify", "orders": []}},
    "language": "fr",
    "meta": {},
    "note": "Préfère être contactée le matin",
    "timezone": "Europe/Paris",
    "updated_datetime": "2024-11-01T10:59:29",
}

# The ticket columns every row of this ticket carries, normalized as the exporter writes them.
TICKET_ROW: Obj = {
    "ticket_id": TICKET_ID,
    "ticket_subject": None,
    "ticket_status": "closed",
    "ticket_channel": "email",
    "ticket_via": "email",
    "ticket_priority": "normal",
    "ticket_tags": ["facturation"],
    "ticket_created_datetime": "2024-11-01T10:59:29.000000Z",
    "ticket_updated_datetime": "2024-11-03T09:15:00.000123Z",
    "ticket_closed_datetime": "2024-11-03T09:15:00.000000Z",
    "ticket_spam": False,
    "ticket_trashed": False,
    "ticket_trashed_datetime": None,
    "ticket_messages_count": 2,
    "customer_id": CUSTOMER_ID,
    "customer_email": "zoe.martin@example.fr",
    "customer_name": "Zoé Martin",
    "assignee_user_id": AGENT_ID,
    "assignee_user_email": "sam@shop.example",
    "assignee_user_name": "Sam Agent",
    "assignee_team_name": None,
}
INBOUND_ROW: Obj = {
    **TICKET_ROW,
    "message_id": 385_123_456,
    "message_channel": "email",
    "message_via": "email",
    "message_from_agent": False,
    "message_public": True,
    "message_sender_name": "Zoé Martin",
    "message_sender_email": "zoe.martin@example.fr",
    "message_receiver_name": "Sam Agent",
    "message_receiver_email": "sam@shop.example",
    "message_subject": "Facture",
    "message_created_datetime": "2024-11-01T10:59:29.000000Z",
    "message_sent_datetime": None,
    "message_failed_datetime": None,
    "attachments_count": 0,
    "attachment_names": [],
    "attachment_urls": [],
    "body": "Bonjour,\nvoici la facture n°42",  # from the HTML: body_text is null
    "body_html": INBOUND["body_html"],
}
REPLY_ROW: Obj = {
    **INBOUND_ROW,
    "message_id": 385_123_999,
    "message_from_agent": True,
    "message_sender_name": "Sam Agent",
    "message_sender_email": "sam@shop.example",
    "message_receiver_name": "Zoé Martin",
    "message_receiver_email": "zoe.martin@example.fr",
    "message_created_datetime": "2024-11-01T12:00:00.500000Z",
    "message_sent_datetime": "2024-11-01T12:00:01.000000Z",
    "attachments_count": 1,
    "attachment_names": ['facture "nov", 42.pdf'],
    "attachment_urls": ["https://uploads.gorgias.io/PG09N6gdbWZ24j5g/facture_42-6a1f.pdf"],
    "body": "=SUM(A1) est réglé.\r\nÀ bientôt",
    "body_html": REPLY["body_html"],
}
NEWER_MESSAGE_FIELDS = ("actions", "headers", "is_retriable", "sentiments", "text")


def envelope(uri: str, data: list[Obj], next_cursor: str | None, prev: str | None = None) -> Obj:
    return {
        "object": "list",
        "uri": uri,
        "data": data,
        "meta": {"prev_cursor": prev, "next_cursor": next_cursor},
    }


def test_the_fixtures_have_the_real_key_sets() -> None:
    """Guards the fixtures themselves: a key added or lost here would test another shape."""
    assert sorted(TICKET) == sorted(
        [
            "assignee_team",
            "assignee_user",
            "channel",
            "closed_datetime",
            "created_datetime",
            "customer",
            "excerpt",
            "external_id",
            "from_agent",
            "id",
            "integrations",
            "is_unread",
            "language",
            "last_message_datetime",
            "last_received_message_datetime",
            "messages_count",
            "meta",
            "opened_datetime",
            "priority",
            "snooze_datetime",
            "spam",
            "status",
            "subject",
            "tags",
            "trashed_datetime",
            "updated_datetime",
            "uri",
            "via",
        ]
    )
    added = set(DETAIL) - set(TICKET)
    assert added == {
        "assignee_team_id",
        "assignee_user_id",
        "events",
        "messages",
        "reply_options",
        "requester",
        "satisfaction_survey",
    }
    assert set(NEWER_MESSAGE_FIELDS) | {"intents", "attachments", "meta"} <= set(INBOUND)


# -- the client and the walks, over real HTTP --------------------------------------------------


@pytest.fixture
def api() -> Iterator[FakeApi]:
    with FakeApi() as fake:
        yield fake


def client_for(api: FakeApi, settings: Settings) -> GorgiasClient:
    time = FakeTime()  # a retry would not wait for real (none is expected)
    return GorgiasClient(replace(settings, base_url=api.url), sleep=time.sleep, clock=time.clock)


# A cursor as opaque as it gets: the real alphabet (`+`, `/`, `=` padding) and more.
ODD_CURSOR = "WyJuZXh0IiwgIjIwMjQtMTEtMDFUMTA6NTk6MjkiLCAzODUxMjM0NTZd+/a=="
OLD_FORM_CURSOR = "prev__6__2021-03-03 06:00:00"  # an older form the reference shows
VIEW_CURSOR = "1593164300000000-false"
# The real encoding, ordered on two fields: ["next", false, "Victor test", 3529] (a frontend
# fixture); the exporter never builds one of these, only sends it back.
TWO_FIELD_CURSOR = "WyJuZXh0IiwgZmFsc2UsICJWaWN0b3IgdGVzdCIsIDM1Mjld"
# The API reference's example, which the exporter does build: see tests/api/test_walk.py.
DOC_CURSOR = "WyJuZXh0IiwgIjIwMjItMDEtMjRUMTM6MTE6NDQuODEyNzE3IiwgMTEwMF0="


def test_the_documented_cursors_decode_to_keyset_positions() -> None:
    assert json.loads(base64.b64decode(DOC_CURSOR, validate=True)) == [
        "next",
        "2022-01-24T13:11:44.812717",
        1100,
    ]
    assert keyset_cursor(("2022-01-24T13:11:44.812717Z", 1100)) == DOC_CURSOR
    assert json.loads(base64.b64decode(TWO_FIELD_CURSOR, validate=True)) == [
        "next",
        False,
        "Victor test",
        3529,
    ]


@pytest.mark.parametrize(
    "cursor", [ODD_CURSOR, OLD_FORM_CURSOR, VIEW_CURSOR, TWO_FIELD_CURSOR, DOC_CURSOR]
)
def test_a_cursor_goes_back_byte_for_byte_and_percent_encoded(
    api: FakeApi, settings: Settings, cursor: str
) -> None:
    api.get("/messages", json=envelope("/api/messages?limit=100", [INBOUND], cursor))
    api.get("/messages", json=envelope("/api/messages?limit=100", [REPLY], None, prev=cursor))
    walk = ListingWalk(
        client_for(api, settings), "/messages", "created_datetime", False, WalkPosition()
    )
    first = walk.page_from(walk.request(None))
    assert first.next_cursor == cursor
    walk.advance(first)
    last = walk.page_from(walk.request(walk.position.cursor))
    walk.advance(last)
    assert walk.done and last.next_cursor is None  # a null next_cursor ends the listing
    sent = api.calls[1]
    assert sent.query["cursor"] == [cursor]  # what the server decodes: the very bytes
    raw = sent.url.split("cursor=", 1)[1].split("&")[0]
    # `+`, `/` and `=` travel percent-encoded: a raw `+` would reach the server as a space.
    assert "/" not in raw and "=" not in raw
    assert raw.count("%2B") == cursor.count("+") and raw.count("+") == cursor.count(" ")
    assert all(call.query["limit"] == ["100"] for call in api.calls)
    assert all(call.query["order_by"] == ["created_datetime:asc"] for call in api.calls)


def test_the_walk_keys_real_datetimes_and_keeps_items_as_sent(
    api: FakeApi, settings: Settings
) -> None:
    naive = {**REPLY, "created_datetime": "2024-11-01T12:00:00.5"}  # naive: UTC
    api.get("/messages", json=envelope("/api/messages", [INBOUND, naive], None))
    walk = ListingWalk(
        client_for(api, settings), "/messages", "created_datetime", False, WalkPosition()
    )
    page = walk.page_from(walk.request(None))
    assert page.items == [INBOUND, naive]
    assert page.keys == [
        ("2024-11-01T10:59:29.000000Z", 385_123_456),
        ("2024-11-01T12:00:00.500000Z", 385_123_999),
    ]


def test_a_list_envelope_and_an_object_come_through_the_client_whole(
    api: FakeApi, settings: Settings
) -> None:
    api.get("/tickets", json=envelope("/api/tickets?limit=100", [TICKET], None))
    api.get(f"/tickets/{TICKET_ID}", json=DETAIL)
    client = client_for(api, settings)
    page = client.fetch_page("/tickets", [("limit", 100)])
    assert page.items == [TICKET] and page.next_cursor is None
    assert client.get_json(f"/tickets/{TICKET_ID}") == DETAIL


# -- the row builders --------------------------------------------------------------------------


@pytest.mark.parametrize("ticket", [TICKET, DETAIL], ids=["list item", "detail"])
def test_conversation_rows_from_real_shapes(ticket: Obj) -> None:
    context = ticket_context(ticket)
    assert conversation_row(context, INBOUND) == INBOUND_ROW
    assert conversation_row(context, REPLY) == REPLY_ROW
    assert list(conversation_row(context, REPLY)) == list(CONVERSATION_COLUMNS)


def test_the_csv_fast_path_writes_the_general_paths_bytes_for_real_shapes() -> None:
    encoder = CsvEncoder(CONVERSATION_COLUMNS, CONVERSATION_CSV_KINDS)
    buffer = io.BytesIO()
    sink = RowSink(encoder, None, stream=buffer)
    lines = CsvConversationLines(sink)
    part = lines.shape.unpack(lines.shape.pack(ticket_context(TICKET)))
    for message in (INBOUND, REPLY):
        lines.row(part, message, str(conversation_row({}, message)["message_created_datetime"]))
    sink.sync()
    fast = buffer.getvalue()[len(encoder.header()) :]
    assert fast == encoder.encode(INBOUND_ROW) + encoder.encode(REPLY_ROW)


# -- the commands, end to end ------------------------------------------------------------------


def listing(data: list[Obj], uri: str) -> Any:
    """A one-page listing that honours order_by and ticket_ids and refuses any cursor (the
    exporter's hand-built ones, which it must survive)."""

    def answer(call: Call) -> Reply:
        if "cursor" in call.query:
            return Reply(400, b'{"error": {"msg": "Invalid cursor."}}')
        items = copy.deepcopy(data)
        wanted = call.query.get("ticket_ids")
        if wanted:
            items = [i for i in items if str(i["id"]) in wanted]
        of_ticket = call.query.get("ticket_id")
        if of_ticket:
            items = [i for i in items if str(i["ticket_id"]) in of_ticket]
        field, _, direction = call.query.get("order_by", ["created_datetime:desc"])[0].partition(
            ":"
        )
        items.sort(key=lambda i: (i[field], i["id"]), reverse=direction == "desc")
        return Reply(200, json.dumps(envelope(uri, items, None)).encode())

    return answer


def run_on(api: FakeApi, *args: str) -> None:
    env = {"GORGIAS_BASE_URL": api.url, "GORGIAS_EMAIL": EMAIL, "GORGIAS_API_KEY": SECRET_KEY}
    result = run_cli(None, *args, env=env)
    assert result.exit_code == 0, result.stderr


@pytest.fixture
def account(api: FakeApi) -> FakeApi:
    api.answer_with("/tickets", listing([TICKET], "/api/tickets"))
    api.answer_with("/messages", listing([INBOUND, REPLY], "/api/messages"))
    api.answer_with("/customers", listing([CUSTOMER], "/api/customers"))
    return api


def as_csv(row: Obj) -> dict[str, str]:
    """A row as csv.DictReader reads the exporter's CSV back."""
    cells = {}
    for name, value in row.items():
        if isinstance(value, bool):
            cells[name] = "true" if value else "false"
        elif isinstance(value, list | dict):
            cells[name] = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
        else:
            cells[name] = "" if value is None else str(value)
    return cells


def test_tickets_csv_and_jsonl_rows_are_exact(account: FakeApi, tmp_path: Path) -> None:
    run_on(account, "tickets", "--out", str(tmp_path / "t.csv"))
    run_on(account, "tickets", "--out", str(tmp_path / "t.jsonl"))
    by_id = {int(r["message_id"]): r for r in read_csv(tmp_path / "t.csv")}
    assert by_id == {385_123_456: as_csv(INBOUND_ROW), 385_123_999: as_csv(REPLY_ROW)}
    rows = {r["message_id"]: r for r in read_jsonl(tmp_path / "t.jsonl")}
    assert rows == {385_123_456: INBOUND_ROW, 385_123_999: REPLY_ROW}


def test_tickets_sqlite_mirrors_the_objects_and_the_rows(account: FakeApi, tmp_path: Path) -> None:
    db = tmp_path / "t.db"
    run_on(account, "tickets", "--out", str(db))
    with sqlite3.connect(db) as connection:
        connection.row_factory = sqlite3.Row
        conversations = [dict(r) for r in connection.execute("SELECT * FROM conversations")]
        messages = {r["id"]: dict(r) for r in connection.execute("SELECT * FROM messages")}
        tickets = [dict(r) for r in connection.execute("SELECT * FROM tickets")]
    assert {r["row_id"] for r in conversations} == {"m:385123456", "m:385123999"}
    reply = next(r for r in conversations if r["message_id"] == 385_123_999)
    assert reply["body"] == REPLY_ROW["body"] and reply["attachments_count"] == 1
    assert json.loads(reply["attachment_names"]) == ['facture "nov", 42.pdf']
    # The raw objects keep every field, the newer ones too, with their JSON values.
    stored = messages[385_123_999]
    for name in NEWER_MESSAGE_FIELDS:
        assert name in stored, name
    assert json.loads(stored["sentiments"]) == REPLY["sentiments"]
    assert len(tickets) == 1 and tickets[0]["id"] == TICKET_ID


def test_messages_jsonl_is_as_sent_and_csv_keeps_newer_fields(
    account: FakeApi, tmp_path: Path
) -> None:
    run_on(account, "messages", "--out", str(tmp_path / "m.jsonl"))
    assert sorted(read_jsonl(tmp_path / "m.jsonl"), key=lambda m: m["id"]) == [INBOUND, REPLY]
    run_on(account, "messages", "--out", str(tmp_path / "m.csv"))
    row = next(r for r in read_csv(tmp_path / "m.csv") if r["id"] == "385123999")
    extra = json.loads(row["extra_fields"])
    assert extra == {name: REPLY[name] for name in NEWER_MESSAGE_FIELDS}
    assert json.loads(row["intents"]) == REPLY["intents"]
    assert row["sent_datetime"] == "2024-11-01T12:00:01"  # values as sent
    assert row["body_text"] == REPLY["body_text"]


def test_customers_sqlite_row_is_exact(account: FakeApi, tmp_path: Path) -> None:
    db = tmp_path / "c.db"
    run_on(account, "customers", "--out", str(db))
    with sqlite3.connect(db) as connection:
        connection.row_factory = sqlite3.Row
        rows = [dict(r) for r in connection.execute("SELECT * FROM customers")]
    assert len(rows) == 1
    row = rows[0]
    assert row["id"] == CUSTOMER_ID and row["email"] == CUSTOMER["email"]
    assert json.loads(row["integrations"]) == CUSTOMER["integrations"]
    assert json.loads(row["channels"]) == CUSTOMER["channels"]
    assert row["data"] is None and row["extra_fields"] is None
    assert row["updated_datetime"] == "2024-11-01T10:59:29"


def test_whole_conversations_and_a_filtered_export_keep_the_objects(
    account: FakeApi, tmp_path: Path
) -> None:
    account.answer_with("/satisfaction-surveys", listing([SURVEY], "/api/satisfaction-surveys"))
    field = {"id": 4321, "object_type": "Ticket", "label": "Contact reason", "priority": 1}
    account.answer_with("/custom-fields", listing([field], "/api/custom-fields"))
    run_on(account, "tickets", "--per", "ticket", "--out", str(tmp_path / "p.jsonl"))
    [line] = read_jsonl(tmp_path / "p.jsonl")
    summary = line.pop("ticket_summary")
    assert line == {**TICKET, "messages": [INBOUND, REPLY]}
    # The figures from the real shapes: times without microseconds, a survey not scored yet.
    assert summary["first_response_seconds"] == 3631  # 10:59:29 to 12:00:00.5
    assert summary["resolution_seconds"] == 166_531  # to 2024-11-03T09:15:00
    assert (summary["messages"], summary["customer_messages"], summary["agent_messages"]) == (
        2,
        1,
        1,
    )
    assert summary["satisfaction_score"] is None and "cf_Contact reason" in summary
    # One ticket by id: /tickets?ticket_ids=, then /messages?ticket_id=.
    run_on(account, "tickets", "--ticket-id", str(TICKET_ID), "--out", str(tmp_path / "f.jsonl"))
    assert read_jsonl(tmp_path / "f.jsonl") == [INBOUND_ROW, REPLY_ROW]


def test_a_view_items_link_cursor_goes_back_as_the_api_encoded_it(
    api: FakeApi, tmp_path: Path
) -> None:
    """The link is already percent-encoded: what the server decodes from the request must be
    what it decodes from its own link."""
    cursor = quote(ODD_CURSOR, safe="")
    link = f"/api/views/7/items?direction=next&cursor={cursor}&ignored_item={TICKET_ID}"
    later = {**TICKET, "id": TICKET_ID + 1}
    api.get("/views/7/items", json={"data": [TICKET], "meta": {"next_items": link}})  # probe
    api.get("/views/7/items", json={"data": [TICKET], "meta": {"next_items": link}})
    api.get("/views/7/items", json={"data": [later], "meta": {"next_items": None}})
    run_on(api, "get", "/api/views/7/items", "--out", str(tmp_path / "v.jsonl"))
    assert read_jsonl(tmp_path / "v.jsonl") == [TICKET, later]
    followed = api.calls[2].query
    assert followed["cursor"] == [ODD_CURSOR] and followed["ignored_item"] == [str(TICKET_ID)]


SURVEY: Obj = {
    "id": 7_654_321,
    "ticket_id": TICKET_ID,
    "customer_id": CUSTOMER_ID,
    "score": None,  # sent, not scored yet
    "body_text": None,
    "meta": None,
    "created_datetime": "2024-11-03T09:15:01+00:00",
    "sent_datetime": "2024-11-04T09:15:01",
    "should_send_datetime": "2024-11-04T09:15:00+00:00",
    "scored_datetime": None,
    "uri": "/api/satisfaction-surveys/7654321/",
}
EVENT: Obj = {
    "id": 998_877_665,
    "context": "3f2c9a4e-5b1d-4c8e-9a7f-0e6d5c4b3a21",
    "created_datetime": "2024-11-03T09:15:00+00:00",
    "data": {"status": {"old": "open", "new": "closed"}},
    "object_id": TICKET_ID,
    "object_type": "Ticket",
    "type": "ticket-updated",
    "user_id": None,  # done by a rule, not a person
    "uri": "/api/events/998877665/",
}


@pytest.mark.parametrize(
    ("command", "path", "item"),
    [("satisfaction-surveys", "/satisfaction-surveys", SURVEY), ("events", "/events", EVENT)],
)
def test_surveys_and_events_as_sent_and_as_exact_csv_rows(
    api: FakeApi, tmp_path: Path, command: str, path: str, item: Obj
) -> None:
    api.answer_with(path, listing([item], f"/api{path}"))
    run_on(api, command, "--out", str(tmp_path / "e.jsonl"))
    assert read_jsonl(tmp_path / "e.jsonl") == [item]
    run_on(api, command, "--out", str(tmp_path / "e.csv"))
    assert read_csv(tmp_path / "e.csv") == [{**as_csv(item), "extra_fields": ""}]


# A 403 as recorded from a real account: the body says why, and the user is told.
FORBIDDEN_BODY: Obj = {
    "error": {
        "msg": "You do not have enough permissions to perform this action. "
        "Messaging quota exceeded."
    }
}


def test_a_real_403_body_reaches_the_user_with_its_reason(api: FakeApi, tmp_path: Path) -> None:
    api.get("/customers", status=403, json=FORBIDDEN_BODY)
    env = {"GORGIAS_BASE_URL": api.url, "GORGIAS_EMAIL": EMAIL, "GORGIAS_API_KEY": SECRET_KEY}
    result = run_cli(None, "customers", "--out", str(tmp_path / "c.csv"), env=env)
    assert result.exit_code == 4
    message = result.stderr.strip()
    assert message.count("\n") == 0 and "may not read /customers (403)" in message
    assert message.endswith("Messaging quota exceeded.")
    assert not (tmp_path / "c.csv").exists()  # nothing written before data arrives
