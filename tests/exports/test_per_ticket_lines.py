"""tickets --per ticket: one JSON line per ticket, its messages nested in order."""

from __future__ import annotations

import itertools
import json
import signal
from pathlib import Path
from typing import Any

import pytest

from gorgias_export.exports import ticket_lines as per_ticket
from gorgias_export.timeutil import sort_key
from gorgias_sim import Simulator
from tests.support.cli import interrupt_at_request, run_cli, run_ok
from tests.support.outputs import read_jsonl

pytestmark = pytest.mark.sim(seed=41, tickets=250, cursor_ttl=60, fake_clock=True)

PER_TICKET = ("tickets", "--per", "ticket")


def export(sim: Simulator, out: Path) -> None:
    result = run_cli(sim, *PER_TICKET, "--out", str(out))
    assert result.exit_code == 0, result.stderr


def expected_messages(sim: Simulator, ticket_id: int) -> list[dict[str, Any]]:
    messages = sorted(
        sim.dataset.messages_of(ticket_id),
        key=lambda m: (sort_key(m["created_datetime"]), m["id"]),
    )
    return json.loads(json.dumps(messages))


def test_one_line_per_ticket_with_every_message_in_order(sim: Simulator, tmp_path: Path) -> None:
    out = tmp_path / "conversations.jsonl"
    export(sim, out)
    lines = read_jsonl(out)
    assert sorted(line["id"] for line in lines) == sorted(t["id"] for t in sim.dataset.tickets)
    for line in lines:
        ticket = sim.dataset.ticket(line["id"])
        assert ticket is not None and line["status"] == ticket["status"]
        assert line["messages"] == expected_messages(sim, line["id"])
    # Oldest ticket first, and the same requests as a row export: the listings, not per ticket.
    order = sorted(sim.dataset.tickets, key=lambda t: (sort_key(t["created_datetime"]), t["id"]))
    assert [line["id"] for line in lines] == [t["id"] for t in order]
    assert sim.count("/api/tickets/") == 0


def test_a_rerun_writes_the_changed_tickets_again_whole(sim: Simulator, tmp_path: Path) -> None:
    out = tmp_path / "conversations.jsonl"
    export(sim, out)
    before = out.read_bytes()
    talked, closed = sim.dataset.tickets[10], sim.dataset.tickets[20]
    added = sim.dataset.add_message(talked["id"])
    sim.dataset.update_ticket(closed["id"], status="closed")
    export(sim, out)
    assert out.read_bytes().startswith(before)
    new_lines = read_jsonl(out)[len(before.splitlines()) :]
    assert sorted(line["id"] for line in new_lines) == sorted([talked["id"], closed["id"]])
    by_id = {line["id"]: line for line in new_lines}
    assert by_id[talked["id"]]["messages"][-1]["id"] == added["id"]
    assert by_id[talked["id"]]["messages"] == expected_messages(sim, talked["id"])
    assert by_id[closed["id"]]["status"] == "closed"
    export(sim, out)  # nothing changed: nothing written
    assert len(read_jsonl(out)) == len(before.splitlines()) + 2


@pytest.mark.sim(seed=23, tickets=250, cursor_ttl=60, fake_clock=True)
def test_per_ticket_fresh_rewrites_every_ticket(sim: Simulator, tmp_path: Path) -> None:
    """`--fresh` starts the staging database's run numbers over at 1 but keeps its rows, and a
    ticket is only marked touched when its body differs from the staged one: a ticket last
    touched by run 2 is never emitted by the fresh run, which then lacks it."""
    out = tmp_path / "conversations.jsonl"
    per_ticket = ("tickets", "--per", "ticket", "--out", str(out))
    run_ok(sim, *per_ticket)
    changed = sim.dataset.tickets[10]
    sim.dataset.update_ticket(
        changed["id"], status="closed" if changed["status"] == "open" else "open"
    )
    run_ok(sim, *per_ticket)  # run 2: the changed ticket is written again, last
    run_ok(sim, *per_ticket, "--fresh")
    ids = [line["id"] for line in read_jsonl(out)]
    assert sorted(ids) == sorted(t["id"] for t in sim.dataset.tickets)


@pytest.mark.parametrize("request_number", [2, 6, 11])
def test_kill_9_then_rerun_gives_the_clean_file(
    sim: Simulator, tmp_path: Path, request_number: int
) -> None:
    clean = tmp_path / "clean.jsonl"
    export(sim, clean)
    out = tmp_path / "conversations.jsonl"
    killed = interrupt_at_request(sim, out, request_number, command=PER_TICKET)
    assert killed.returncode == -signal.SIGKILL
    export(sim, out)
    assert out.read_bytes() == clean.read_bytes()


def test_custom_fields_without_per_ticket_is_refused(sim: Simulator, tmp_path: Path) -> None:
    result = run_cli(sim, "tickets", "--custom-fields", "--out", str(tmp_path / "x.csv"))
    assert result.exit_code == 2 and "--per ticket" in result.stderr
    assert sim.requests == []


def test_interrupted_while_writing_the_lines_then_rerun_gives_the_clean_file(
    sim: Simulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ctrl-C in the second phase (no requests there): triggered on the third batch of lines."""
    clean = tmp_path / "clean.jsonl"
    export(sim, clean)
    monkeypatch.setattr(per_ticket, "EMIT_BATCH", 20)
    real = per_ticket.ConversationStage.touched_after
    calls = itertools.count(1)

    def interrupting(self: per_ticket.ConversationStage, *args: Any) -> Any:
        if next(calls) == 3:
            raise KeyboardInterrupt
        return real(self, *args)

    monkeypatch.setattr(per_ticket.ConversationStage, "touched_after", interrupting)
    out = tmp_path / "conversations.jsonl"
    result = run_cli(sim, *PER_TICKET, "--out", str(out))
    assert result.exit_code == 130
    assert 0 < len(read_jsonl(out)) < len(sim.dataset.tickets)
    monkeypatch.setattr(per_ticket.ConversationStage, "touched_after", real)
    export(sim, out)
    assert out.read_bytes() == clean.read_bytes()


def test_a_lone_surrogate_in_a_ticket_does_not_stop_the_export(
    sim: Simulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Regression, from 0.1.0 (found by the review of the redesign): an API that escapes non-
    ASCII gives a ticket subject holding a lone surrogate (`\\ud83d` alone). The staging
    database stores pages as `dumps_text` (ensure_ascii=False) and ConversationStage._guard only
    catches sqlite3.Error, so the UnicodeEncodeError ends every run in "Internal error", exit 1,
    at that page. The JSONL line could keep the escape, as JsonlEncoder does for rows."""
    import gorgias_sim.api
    import gorgias_sim.listing

    def ascii_dumps(obj: object) -> bytes:
        return json.dumps(obj, separators=(",", ":")).encode("ascii")

    monkeypatch.setattr(gorgias_sim.listing, "dumps", ascii_dumps)
    monkeypatch.setattr(gorgias_sim.api, "dumps", ascii_dumps)
    ticket_id = sim.dataset.tickets[5]["id"]
    sim.dataset.update_ticket(ticket_id, subject="half \ud83d emoji")
    out = tmp_path / "t.jsonl"
    export(sim, out)
    lines = {line["id"]: line for line in read_jsonl(out)}
    assert lines[ticket_id]["subject"] == "half \ud83d emoji"
