"""tickets --per ticket into CSV, JSONL and SQLite: one summary per ticket, every figure
recomputed here from the simulator's own objects (never with the exporter's code)."""

from __future__ import annotations

import csv
import math
import signal
import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from gorgias_sim import Simulator
from gorgias_sim.field_values import ticket_field_values
from tests.support.cli import interrupt_at_request, run_cli, run_ok
from tests.support.outputs import read_csv, read_jsonl

pytestmark = pytest.mark.sim(seed=41, tickets=120, cursor_ttl=60, fake_clock=True)

SUMMARY = ("tickets", "--per", "ticket")
WITH_VALUES = (*SUMMARY, "--custom-fields")
FIXED = [
    "ticket_id",
    "subject",
    "status",
    "channel",
    "language",
    "tags",
    "created_datetime",
    "closed_datetime",
    "customer_email",
    "customer_name",
    "assignee_email",
    "assignee_team",
    "messages",
    "customer_messages",
    "agent_messages",
    "internal_notes",
    "first_response_seconds",
    "resolution_seconds",
    "satisfaction_score",
    "satisfaction_comment",
    "satisfaction_scored_datetime",
]


# -- the figures, from the simulator's data ------------------------------------------------------


def when(value: Any) -> datetime | None:
    if not value:
        return None
    parsed = datetime.fromisoformat(value)
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def utc_text(value: Any) -> str | None:
    moment = when(value)
    return None if moment is None else moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def seconds(start: datetime | None, end: datetime | None) -> int | None:
    return None if start is None or end is None else math.floor((end - start).total_seconds())


def ticket_fields(sim: Simulator) -> list[dict[str, Any]]:
    fields = [f for f in sim.dataset.entity_items("custom-fields") if f["object_type"] == "Ticket"]
    return sorted(fields, key=lambda f: (f["priority"], f["id"]))


def expected_summary(
    sim: Simulator,
    ticket: dict[str, Any],
    with_values: bool,
    surveys: list[dict[str, Any]] | None = None,
    fields: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """One ticket's summary, typed (None for an empty cell)."""
    surveys = sim.dataset.entity_items("satisfaction-surveys") if surveys is None else surveys
    fields = ticket_fields(sim) if fields is None else fields
    messages = sorted(
        sim.dataset.messages_of(ticket["id"]), key=lambda m: (when(m["created_datetime"]), m["id"])
    )
    note = [m["public"] is False or m["channel"] == "internal-note" for m in messages]
    customer = [m["from_agent"] is False and not n for m, n in zip(messages, note, strict=True)]
    agent = [m["from_agent"] is True and not n for m, n in zip(messages, note, strict=True)]
    first_response = None
    if True in customer:
        asked = customer.index(True)
        replies = [i for i in range(asked + 1, len(messages)) if agent[i]]
        if replies:
            first_response = seconds(
                when(messages[asked]["created_datetime"]),
                when(messages[replies[0]]["created_datetime"]),
            )
    mine = sorted(
        (s for s in surveys if s["ticket_id"] == ticket["id"]),
        key=lambda s: (when(s["created_datetime"]), s["id"]),
    )
    survey = mine[-1] if mine else {}
    user, team = ticket["assignee_user"] or {}, ticket["assignee_team"] or {}
    row = {
        "ticket_id": ticket["id"],
        "subject": ticket["subject"],
        "status": ticket["status"],
        "channel": ticket["channel"],
        "language": ticket["language"],
        "tags": ", ".join(t["name"] for t in ticket["tags"]),
        "created_datetime": utc_text(ticket["created_datetime"]),
        "closed_datetime": utc_text(ticket["closed_datetime"]),
        "customer_email": ticket["customer"]["email"],
        "customer_name": ticket["customer"]["name"],
        "assignee_email": user.get("email"),
        "assignee_team": team.get("name"),
        "messages": len(messages),
        "customer_messages": sum(customer),
        "agent_messages": sum(agent),
        "internal_notes": sum(note),
        "first_response_seconds": first_response,
        "resolution_seconds": seconds(
            when(ticket["created_datetime"]), when(ticket["closed_datetime"])
        )
        if ticket["status"] == "closed"
        else None,
        "satisfaction_score": survey.get("score"),
        "satisfaction_comment": survey.get("body_text"),
        "satisfaction_scored_datetime": utc_text(survey.get("scored_datetime")),
    }
    values = ticket_field_values(ticket["id"], fields) if with_values else {}
    for field in fields:
        value = values.get(str(field["id"]), {}).get("value")
        row["cf_" + field["label"]] = (
            value if value is None or isinstance(value, str) else str(value)
        )
    return row


def as_cells(row: dict[str, Any]) -> dict[str, str]:
    return {name: "" if value is None else str(value) for name, value in row.items()}


def expected_csv(sim: Simulator, with_values: bool) -> list[dict[str, str]]:
    tickets = sorted(sim.dataset.tickets, key=lambda t: (when(t["created_datetime"]), t["id"]))
    surveys, fields = sim.dataset.entity_items("satisfaction-surveys"), ticket_fields(sim)
    return [as_cells(expected_summary(sim, t, with_values, surveys, fields)) for t in tickets]


def current_rows(rows: list[dict[str, str]]) -> dict[str, dict[str, str]]:
    """The last row of each ticket id: its current summary."""
    return {row["ticket_id"]: row for row in rows}


# -- the tests -------------------------------------------------------------------------------------


def test_one_row_per_ticket_with_every_figure(sim: Simulator, tmp_path: Path) -> None:
    out = tmp_path / "summary.csv"
    result = run_ok(sim, *WITH_VALUES, "--out", str(out))
    assert "one more request per ticket" in result.stderr  # the cost, said before the run
    columns = ["cf_" + f["label"] for f in ticket_fields(sim)]
    with out.open(newline="", encoding="utf-8") as handle:
        assert next(csv.reader(handle)) == FIXED + columns  # the names, in this order
    assert out.read_bytes().startswith(",".join(FIXED).encode() + b",cf_")
    assert read_csv(out) == expected_csv(sim, with_values=True)
    assert len(columns) == 8 and "cf_Contact reason" in columns
    # Archived fields have columns too, and the data exercise every figure.
    rows = read_csv(out)
    for name in ("first_response_seconds", "resolution_seconds", "satisfaction_score"):
        assert {r[name] == "" for r in rows} == {True, False}, name
    assert any(int(r["internal_notes"]) > 0 for r in rows)
    assert any(r["cf_Ancien champ\n(archivé)"] for r in rows)
    # The costs: listings by the 100 and the surveys by the 100; the values one per ticket.
    surveys = len(sim.dataset.entity_items("satisfaction-surveys"))
    assert sim.count("/api/satisfaction-surveys") == math.ceil(surveys / 100)
    assert sim.count("/api/custom-fields") == 2
    assert sim.count("/api/tickets/") == len(sim.dataset.tickets)


def test_without_custom_fields_no_request_per_ticket_and_empty_columns(
    sim: Simulator, tmp_path: Path
) -> None:
    out = tmp_path / "summary.csv"
    run_ok(sim, *SUMMARY, "--out", str(out))
    assert read_csv(out) == expected_csv(sim, with_values=False)
    assert sim.count("/api/tickets/") == 0


def test_jsonl_keeps_the_conversation_and_adds_the_summary(sim: Simulator, tmp_path: Path) -> None:
    out = tmp_path / "conversations.jsonl"
    run_ok(sim, *SUMMARY, "--out", str(out))
    surveys, fields = sim.dataset.entity_items("satisfaction-surveys"), ticket_fields(sim)
    for line in read_jsonl(out):
        ticket = sim.dataset.ticket(line["id"])
        assert ticket is not None
        assert len(line["messages"]) == len(sim.dataset.messages_of(ticket["id"]))
        assert line["ticket_summary"] == expected_summary(sim, ticket, False, surveys, fields)


@pytest.mark.parametrize("moment", ["gathering", "surveys", "values"])
def test_kill_9_then_rerun_gives_the_clean_file(
    sim: Simulator, tmp_path: Path, moment: str
) -> None:
    """Killed while gathering, reading the surveys, or asking for custom field values (the
    last requests, one per ticket: here after the first 100 rows are saved), the rerun gives
    the clean run's bytes."""
    clean = tmp_path / "clean.csv"
    run_ok(sim, *WITH_VALUES, "--out", str(clean))
    paths = [r.path for r in sim.requests]
    surveys = paths.index("/api/satisfaction-surveys")
    assert paths[surveys + 1 :] == [
        f"/api/tickets/{t['id']}"
        for t in sorted(sim.dataset.tickets, key=lambda t: (when(t["created_datetime"]), t["id"]))
    ]
    at = {"gathering": 5, "surveys": surveys + 1, "values": surveys + 110}[moment]
    out = tmp_path / "summary.csv"
    killed = interrupt_at_request(sim, out, at, command=WITH_VALUES)
    assert killed.returncode == -signal.SIGKILL
    run_ok(sim, *WITH_VALUES, "--out", str(out))
    assert out.read_bytes() == clean.read_bytes()


def test_a_rerun_rewrites_the_rows_of_changed_tickets(sim: Simulator, tmp_path: Path) -> None:
    out = tmp_path / "summary.csv"
    run_ok(sim, *WITH_VALUES, "--out", str(out))
    before = read_csv(out)
    ds = sim.dataset
    talked = ds.tickets[10]
    ds.add_message(talked["id"])
    closing = next(t for t in ds.tickets if t["status"] == "open")
    ds.update_ticket(
        closing["id"], status="closed", closed_datetime=ds.tickets[-1]["updated_datetime"]
    )
    # A score given now to the newest survey: its ticket's row is written again too.
    surveys = sorted(ds.entity_items("satisfaction-surveys"), key=lambda s: s["created_datetime"])
    scored = surveys[-1]
    ds.score_survey(scored["id"], 1 if scored["score"] != 1 else 5)
    run_ok(sim, *WITH_VALUES, "--out", str(out))
    after = read_csv(out)
    assert after[: len(before)] == before  # appended, never rewritten in place
    rewritten = {row["ticket_id"] for row in after[len(before) :]}
    assert {str(talked["id"]), str(closing["id"]), str(scored["ticket_id"])} <= rewritten
    expected = {row["ticket_id"]: row for row in expected_csv(sim, with_values=True)}
    assert current_rows(after) == expected
    assert current_rows(after)[str(closing["id"])]["resolution_seconds"] != ""


def test_sqlite_ticket_summary_table_upserted_by_ticket_id(sim: Simulator, tmp_path: Path) -> None:
    db = tmp_path / "mirror.db"
    run_ok(sim, *SUMMARY, "--out", str(db))
    changed = sim.dataset.tickets[3]
    sim.dataset.update_ticket(changed["id"], subject='Renamed, "quoted" =1+1')
    run_ok(sim, *SUMMARY, "--out", str(db))
    with sqlite3.connect(db) as con:
        con.row_factory = sqlite3.Row
        rows = [dict(r) for r in con.execute("SELECT * FROM ticket_summary")]
    assert len(rows) == len(sim.dataset.tickets)
    by_id = {row["ticket_id"]: row for row in rows}
    surveys, fields = sim.dataset.entity_items("satisfaction-surveys"), ticket_fields(sim)
    for ticket in sim.dataset.tickets:
        expected = expected_summary(sim, ticket, False, surveys, fields)
        got = by_id[ticket["id"]]
        assert {k: got[k] for k in expected} == expected
    assert by_id[changed["id"]]["subject"] == 'Renamed, "quoted" =1+1'
    # The conversation mirror can share the database: each keeps its own state.
    run_ok(sim, "tickets", "--out", str(db))


def test_custom_fields_are_part_of_the_export_identity(sim: Simulator, tmp_path: Path) -> None:
    out = tmp_path / "summary.csv"
    run_ok(sim, *SUMMARY, "--out", str(out))
    result = run_cli(sim, *WITH_VALUES, "--out", str(out))
    assert result.exit_code == 7, result.stderr


def summary_table(db: Path) -> list[tuple[Any, ...]]:
    with sqlite3.connect(db) as con:
        return list(con.execute("SELECT * FROM ticket_summary ORDER BY ticket_id"))


def test_sqlite_killed_while_writing_rows_then_rerun_gives_the_clean_table(
    sim: Simulator, tmp_path: Path
) -> None:
    clean = tmp_path / "clean.db"
    run_ok(sim, *WITH_VALUES, "--out", str(clean))
    paths = [r.path for r in sim.requests]
    at = paths.index("/api/satisfaction-surveys") + 110  # after the first 100 rows' commit
    out = tmp_path / "summary.db"
    killed = interrupt_at_request(sim, out, at, command=WITH_VALUES)
    assert killed.returncode == -signal.SIGKILL
    assert 0 < len(summary_table(out)) < len(sim.dataset.tickets)
    run_ok(sim, *WITH_VALUES, "--out", str(out))
    assert summary_table(out) == summary_table(clean)
    assert len(summary_table(out)) == len(sim.dataset.tickets)
