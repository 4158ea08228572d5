"""The simulator's generated account: seeded, with every special case the exporter must
handle, and datetimes that look like the real API's."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from gorgias_sim import Dataset, make_dataset
from gorgias_sim import data as sim_data
from gorgias_sim.texts import TRICKY_BODIES
from tests.support.sim_http import key


@pytest.fixture(scope="module")
def ds() -> Dataset:
    return make_dataset(1, 200)  # the default account, as the simulator serves it


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


def test_generation_is_seeded() -> None:
    end = datetime(2025, 1, 1, tzinfo=UTC) + timedelta(hours=3)
    assert make_dataset(5, 40, end=end).messages == make_dataset(5, 40, end=end).messages
    assert make_dataset(5, 40, end=end).tickets != make_dataset(6, 40, end=end).tickets
