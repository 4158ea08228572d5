"""Fields the exporter does not know (real messages carry `intents`, `sentiments`, `actions`,
`headers`, `is_retriable`, `stripped_text`, `text`, ...) are kept: as sent in JSONL, in
`extra_fields` in CSV and entity tables, as columns of their own in the `tickets` database."""

from __future__ import annotations

import contextlib
import json
import sqlite3
from pathlib import Path

import pytest

from gorgias_sim import Simulator
from tests.support.cli import run_ok
from tests.support.outputs import read_csv, read_jsonl, table_rows

pytestmark = pytest.mark.sim(seed=11, tickets=120, cursor_ttl=60, fake_clock=True)

NEW_FIELDS = {
    "sentiments": [{"type": "negative", "score": 0.9}],
    "headers": {"X-Mailer": "Thunderbird"},
    "is_retriable": False,
    "text": "Hello, text",
    "actions": [{"name": "shopify-refund", "status": "success"}],
}


def _message_with_new_fields(sim: Simulator) -> dict[str, object]:
    ticket = sim.dataset.tickets[-1]
    message = sim.dataset.add_message(ticket["id"])
    with sim.dataset.lock:
        message.update(NEW_FIELDS, intents=[{"name": "order/status"}], stripped_text="Hi")
    return message


def test_unknown_message_fields_are_kept_in_jsonl_and_sqlite(
    sim: Simulator, tmp_path: Path
) -> None:
    message = _message_with_new_fields(sim)
    jsonl, db, csv_out = tmp_path / "m.jsonl", tmp_path / "m.db", tmp_path / "m.csv"
    for out in (jsonl, db, csv_out):
        run_ok(sim, "messages", "--out", str(out))
    row = next(r for r in read_jsonl(jsonl) if r["id"] == message["id"])
    assert {k: row[k] for k in NEW_FIELDS} == NEW_FIELDS
    assert row["intents"] == [{"name": "order/status"}] and row["stripped_text"] == "Hi"
    for extra in (
        table_rows(db, "messages")[str(message["id"])]["extra_fields"],
        next(r for r in read_csv(csv_out) if r["id"] == str(message["id"]))["extra_fields"],
    ):
        kept = json.loads(extra)
        assert {k: kept[k] for k in NEW_FIELDS} == NEW_FIELDS


def test_the_tickets_database_keeps_unknown_message_fields_as_columns(
    sim: Simulator, tmp_path: Path
) -> None:
    db = tmp_path / "tickets.db"
    with sim.dataset.lock:  # as on real accounts, `actions` is mostly null: its column comes first
        sim.dataset.messages[0]["actions"] = None
    run_ok(sim, "tickets", "--out", str(db))
    message = _message_with_new_fields(sim)
    run_ok(sim, "tickets", "--out", str(db))
    with contextlib.closing(sqlite3.connect(db)) as connection:
        connection.row_factory = sqlite3.Row
        row = connection.execute("SELECT * FROM messages WHERE id = ?", (message["id"],)).fetchone()
    assert json.loads(row["sentiments"]) == NEW_FIELDS["sentiments"]
    assert json.loads(row["headers"]) == NEW_FIELDS["headers"]
    assert json.loads(row["actions"]) == NEW_FIELDS["actions"]
    assert row["is_retriable"] == 0 and row["text"] == "Hello, text"
