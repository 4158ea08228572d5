"""Whole runs of `gorgias-export tickets` against the simulator, checked against its data."""

from __future__ import annotations

import itertools
import math
from datetime import timedelta
from pathlib import Path

import pytest

from gorgias_export.timeutil import format_utc, parse_api_datetime, sort_key
from gorgias_sim import RequestRecord, Simulator
from gorgias_sim.data import (
    MESSAGE_HTML_ONLY,
    MESSAGE_HUGE_BODY,
    MESSAGES_TRICKY_BODIES,
    TICKET_WITH_MANY_MESSAGES,
    TICKETS_WITHOUT_MESSAGES,
)
from tests.support.cli import run_cli
from tests.support.outputs import read_csv, read_jsonl, row_ids
from tests.support.simulator import expected_ids, floor

pytestmark = pytest.mark.sim(seed=3, tickets=300)


def test_full_export_has_every_row_once_within_the_request_budget(
    sim: Simulator, tmp_path: Path
) -> None:
    out = tmp_path / "tickets.csv"
    result = run_cli(sim, "tickets", "--out", str(out))
    assert result.exit_code == 0, result.stderr
    rows = read_csv(out)
    assert row_ids(rows) == expected_ids(sim)
    assert max(row_ids(rows).values()) == 1
    assert sim.count() <= floor(sim) + 3
    # messages were read from both ends (to keep two requests in flight) and met in the middle
    assert any(
        r.path == "/api/messages" and r.query["order_by"][0].endswith(":desc") for r in sim.requests
    )
    # every page asked for 100 rows and an explicit order
    for record in sim.requests:
        assert record.query["limit"] == ["100"]
        assert record.query["order_by"][0] in ("created_datetime:asc", "created_datetime:desc")
    # not a terminal: no progress bar, just the one-line summary
    assert result.stderr.startswith("Done:") and result.stderr.count("\n") == 1


def test_every_field_survives_the_trip(sim: Simulator, tmp_path: Path) -> None:
    out = tmp_path / "tickets.csv"
    assert run_cli(sim, "tickets", "--out", str(out)).exit_code == 0
    by_message = {row["message_id"]: row for row in read_csv(out)}
    ds = sim.dataset
    for message_id in ds.special[MESSAGES_TRICKY_BODIES] + ds.special[MESSAGE_HUGE_BODY]:
        message = ds.message(message_id)
        assert by_message[str(message_id)]["body"] == message["body_text"]
        ticket = ds.ticket(message["ticket_id"])
        assert by_message[str(message_id)]["ticket_subject"] == (ticket["subject"] or "")
    html_only = by_message[str(ds.special[MESSAGE_HTML_ONLY][0])]
    assert html_only["body"].startswith("Hello & welcome to <Acme> support!\n")  # entities decoded
    assert "<p" not in html_only["body"] and "&amp;" not in html_only["body"]  # tags dropped
    assert html_only["body_html"].startswith("<")
    many = ds.special[TICKET_WITH_MANY_MESSAGES][0]
    assert sum(1 for row in by_message.values() if row["ticket_id"] == str(many)) == 150
    for row in by_message.values():
        for column in ("ticket_created_datetime", "message_created_datetime"):
            assert row[column] == "" or row[column].endswith("Z")


def test_jsonl_has_native_types_and_the_same_rows(sim: Simulator, tmp_path: Path) -> None:
    out = tmp_path / "tickets.jsonl"
    assert run_cli(sim, "tickets", "--out", str(out)).exit_code == 0
    rows = read_jsonl(out)
    assert row_ids(rows) == expected_ids(sim)
    empty = [row for row in rows if row["message_id"] is None]
    without = {t["id"] for t in sim.dataset.tickets if t["messages_count"] == 0}
    assert set(sim.dataset.special[TICKETS_WITHOUT_MESSAGES]) <= without
    assert {row["ticket_id"] for row in empty} == without
    assert all(isinstance(row["ticket_tags"], list) for row in rows)
    assert all(isinstance(row["message_public"], bool) for row in rows if row["message_id"])


def test_stdout_export(sim: Simulator) -> None:
    result = run_cli(sim, "tickets", "--out", "-", "--format", "jsonl", "--quiet")
    assert result.exit_code == 0
    assert result.stderr == ""
    assert len(result.stdout.splitlines()) == sum(expected_ids(sim).values())


def _middle(sim: Simulator) -> str:
    """A --since value that leaves roughly the newest tenth of the messages."""
    keys = sorted(sort_key(m["created_datetime"]) for m in sim.dataset.messages)
    moment = parse_api_datetime(keys[len(keys) * 9 // 10])
    assert moment is not None
    return format_utc(moment)


def test_since_export_reads_only_the_window(sim: Simulator, tmp_path: Path) -> None:
    since = _middle(sim)
    out = tmp_path / "recent.csv"
    result = run_cli(sim, "tickets", "--out", str(out), "--since", since)
    assert result.exit_code == 0, result.stderr
    assert row_ids(read_csv(out)) == expected_ids(sim, since=since)
    window_messages = sum(
        1 for m in sim.dataset.messages if sort_key(m["created_datetime"]) >= since
    )
    touched = sum(1 for t in sim.dataset.tickets if sort_key(t["updated_datetime"]) >= since)
    budget = math.ceil(window_messages / 100) + math.ceil(touched / 100) + 2
    assert sim.count() <= budget < floor(sim)


def test_until_bounds_the_backfill(sim: Simulator, tmp_path: Path) -> None:
    until = _middle(sim)
    out = tmp_path / "old.csv"
    assert run_cli(sim, "tickets", "--out", str(out), "--until", until).exit_code == 0
    assert row_ids(read_csv(out)) == expected_ids(sim, until=until)


def test_rerun_appends_only_what_is_new(sim: Simulator, tmp_path: Path) -> None:
    out = tmp_path / "tickets.csv"
    assert run_cli(sim, "tickets", "--out", str(out)).exit_code == 0
    first = out.read_bytes()
    ds = sim.dataset
    old_ticket = ds.tickets[5]["id"]
    ds.add_message(old_ticket)  # a reply on an old conversation
    ds.add_ticket(messages=3)
    ds.add_ticket(messages=0)  # a new ticket nobody answered yet
    ds.update_ticket(ds.tickets[7]["id"], status="closed")
    sim.reset_stats()
    result = run_cli(sim, "tickets", "--out", str(out))
    assert result.exit_code == 0, result.stderr
    assert out.read_bytes().startswith(first)  # appended, nothing rewritten
    assert row_ids(read_csv(out)) == expected_ids(sim)
    assert "5 new rows" in result.stderr
    assert sim.count() <= 4  # one page of tickets, one of messages, maybe a context batch
    sim.reset_stats()
    again = run_cli(sim, "tickets", "--out", str(out))
    assert again.exit_code == 0 and "0 new rows" in again.stderr
    assert row_ids(read_csv(out)) == expected_ids(sim)


def test_messages_of_tickets_the_walk_missed_get_their_context_in_batches(
    sim: Simulator, tmp_path: Path
) -> None:
    out = tmp_path / "tickets.csv"
    assert run_cli(sim, "tickets", "--out", str(out)).exit_code == 0
    ds = sim.dataset
    # A message on a ticket whose updated_datetime did not move (the "bump" is only suggestive).
    old = ds.tickets[3]
    stamp = old["updated_datetime"]
    message = ds.add_message(old["id"])
    ds.update_ticket(old["id"], updated_datetime=stamp)
    index = out.with_name("tickets.csv.ticket-index.sqlite")
    index.unlink()  # and the on-disk cache was lost: the context must come from the API
    assert run_cli(sim, "tickets", "--out", str(out)).exit_code == 0
    rows = {row["message_id"]: row for row in read_csv(out)}
    assert rows[str(message["id"])]["ticket_subject"] == (old["subject"] or "")
    assert any("ticket_ids" in record.query for record in sim.requests)


def test_a_window_run_keeps_an_empty_ticket_updated_while_tickets_are_walked(
    sim: Simulator, tmp_path: Path
) -> None:
    keys = sorted(sort_key(t["updated_datetime"]) for t in sim.dataset.tickets)
    since = keys[len(keys) // 3]  # two pages of tickets updated since then
    moment = parse_api_datetime(since)
    assert moment is not None
    quiet = sim.dataset.add_ticket(messages=0, created=moment + timedelta(seconds=1))
    seen_tickets = itertools.count(1)

    def touch_after_first_ticket_page(record: RequestRecord) -> None:
        if record.path.endswith("/tickets") and next(seen_tickets) == 2:
            sim.dataset.update_ticket(quiet["id"], status="closed")  # it jumps to the top

    sim.on_request = touch_after_first_ticket_page
    out = tmp_path / "recent.csv"
    result = run_cli(sim, "tickets", "--out", str(out), "--since", since)
    sim.on_request = None
    assert result.exit_code == 0, result.stderr
    assert row_ids(read_csv(out)) == expected_ids(sim, since=since)
    assert (str(quiet["id"]), "") in row_ids(read_csv(out))


@pytest.mark.parametrize("name", ["tickets.csv", "tickets.jsonl", "tickets.db"])
def test_a_lone_surrogate_in_a_ticket_does_not_stop_the_export(
    sim: Simulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    """Regression (found by the review of the redesign): an API that escapes non-ASCII
    (`\\ud83d` alone: half an emoji cut by a length limit upstream) gives a ticket subject with
    a lone surrogate. 0.1.0 exported it (the CSV and SQLite writers replace it with '?', JSONL
    keeps the escape). Now the ticket index cannot store the ticket's packed context and every
    run ends in "Internal error (UnicodeEncodeError)", exit 1, at the same page: the export can
    never finish."""
    import json

    import gorgias_sim.api
    import gorgias_sim.listing

    def ascii_dumps(obj: object) -> bytes:
        return json.dumps(obj, separators=(",", ":")).encode("ascii")

    monkeypatch.setattr(gorgias_sim.listing, "dumps", ascii_dumps)
    monkeypatch.setattr(gorgias_sim.api, "dumps", ascii_dumps)
    ticket_id = sim.dataset.tickets[5]["id"]
    sim.dataset.update_ticket(ticket_id, subject="half \ud83d emoji")
    out = tmp_path / name
    result = run_cli(sim, "tickets", "--out", str(out))
    assert result.exit_code == 0, result.stderr
    if name.endswith(".csv"):
        rows = read_csv(out)
        assert row_ids(rows) == expected_ids(sim)
        subjects = {r["ticket_subject"] for r in rows if r["ticket_id"] == str(ticket_id)}
        assert subjects == {"half ? emoji"}  # as 0.1.0 wrote it
    elif name.endswith(".jsonl"):
        assert row_ids(read_jsonl(out)) == expected_ids(sim)
