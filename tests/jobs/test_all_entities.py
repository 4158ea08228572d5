"""`all`: every entity into one directory, resumable as a whole, incremental on rerun."""

from __future__ import annotations

import contextlib
import signal
import sqlite3
from pathlib import Path

import pytest

from gorgias_export.jobs.all import ALL_ORDER
from gorgias_sim import Simulator
from tests.support.cli import kill_when, run_cli, run_ok
from tests.support.outputs import read_csv

pytestmark = pytest.mark.sim(seed=31, tickets=200, cursor_ttl=60, fake_clock=True)


def files_of(directory: Path) -> dict[str, bytes]:
    return {name: (directory / f"{name}.csv").read_bytes() for name in ALL_ORDER}


def kill_at_request(sim: Simulator, n: int, *args: str) -> int:
    """Run `gorgias-export ARGS` in a child and kill -9 it at request n (before the answer)."""
    return kill_when(sim, lambda record, paths: len(paths) == n, *args)


def test_all_writes_one_file_per_entity_identical_to_the_single_commands(
    sim: Simulator, tmp_path: Path
) -> None:
    result = run_cli(sim, "all", "--out-dir", str(tmp_path / "backup"))
    assert result.exit_code == 0, result.stderr
    # Not a terminal (cron mail): plain lines, the folder whole on its own, a file per entity.
    lines = result.stderr.splitlines()
    assert f"files in {tmp_path / 'backup'}" in lines and "…" not in result.stderr
    for name in ALL_ORDER:
        assert any(line.startswith(name) and line.endswith(f" {name}.csv") for line in lines)
        single = tmp_path / "single" / f"{name}.csv"
        single.parent.mkdir(exist_ok=True)
        assert run_cli(sim, name, "--out", str(single)).exit_code == 0
        assert (tmp_path / "backup" / f"{name}.csv").read_bytes() == single.read_bytes(), name


def test_all_killed_inside_an_entity_resumes_to_the_clean_files(
    sim: Simulator, tmp_path: Path
) -> None:
    clean = tmp_path / "clean"
    assert run_cli(sim, "all", "--out-dir", str(clean)).exit_code == 0
    paths = [record.path for record in sim.requests]
    # The second page of customers: the kill lands inside an entity, after others are done.
    customers = [i for i, path in enumerate(paths) if path == "/api/customers"]
    assert len(customers) >= 2
    out = tmp_path / "resumed"
    sim.reset_stats()
    returncode = kill_at_request(sim, customers[1] + 1, "all", "--out-dir", str(out))
    assert returncode == -signal.SIGKILL
    done_before = sim.count("/api/tags")
    result = run_cli(sim, "all", "--out-dir", str(out))
    assert result.exit_code == 0, result.stderr
    assert sim.count("/api/tags") == done_before  # finished entities are not read again
    assert files_of(out) == files_of(clean)


@pytest.mark.sim(seed=23, tickets=250, cursor_ttl=60, fake_clock=True)
def test_all_fresh_interrupted_can_be_continued(sim: Simulator, tmp_path: Path) -> None:
    """After `all --fresh` is interrupted, the rerun without --fresh (which is how a single
    command's interrupted --fresh run is continued) is refused with exit 7: the fresh state
    forgot the entities not reached yet, while their old files are still in DIR. Rerunning with
    --fresh instead starts every entity over, so the interrupted progress cannot be used."""
    out = tmp_path / "backup"
    run_ok(sim, "all", "--out-dir", str(out))
    clean = files_of(out)
    returncode = kill_when(
        sim,
        lambda record, seen: record.path == "/api/customers" and seen.count("/api/customers") == 2,
        "all",
        "--out-dir",
        str(out),
        "--fresh",
    )
    assert returncode == -signal.SIGKILL
    result = run_cli(sim, "all", "--out-dir", str(out))
    assert result.exit_code == 0, result.stderr
    assert files_of(out) == clean  # the same data: the same files as the uninterrupted run


def test_all_rerun_is_incremental_for_each_entity(sim: Simulator, tmp_path: Path) -> None:
    out = tmp_path / "backup"
    assert run_cli(sim, "all", "--out-dir", str(out)).exit_code == 0
    before = {name: len(read_csv(out / f"{name}.csv")) for name in ALL_ORDER}
    ticket = sim.dataset.tickets[-1]
    message = sim.dataset.add_message(ticket["id"])
    new_ticket = sim.dataset.add_ticket(messages=2)
    sim.dataset.update_ticket(sim.dataset.tickets[0]["id"], status="closed")
    customer = sim.dataset.add_customer(email="late@example.com")
    event = sim.dataset.add_event("ticket-deleted", "Ticket", sim.dataset.tickets[1]["id"])
    call = sim.dataset.add_voice_call(ticket["id"])
    result = run_cli(sim, "all", "--out-dir", str(out))
    assert result.exit_code == 0, result.stderr
    after = {name: read_csv(out / f"{name}.csv") for name in ALL_ORDER}
    new_messages = {str(message["id"])} | {
        str(m["id"]) for m in sim.dataset.messages_of(new_ticket["id"])
    }
    assert {r["message_id"] for r in after["tickets"][before["tickets"] :]} == new_messages
    assert {r["id"] for r in after["messages"][before["messages"] :]} == new_messages
    assert str(event["id"]) in {r["id"] for r in after["events"][before["events"] :]}
    assert [r["id"] for r in after["voice-calls"][before["voice-calls"] :]] == [str(call["id"])]
    new_call_events = after["voice-call-events"][before["voice-call-events"] :]
    assert new_call_events and {r["call_id"] for r in new_call_events} == {str(call["id"])}
    for name in ALL_ORDER:  # nothing written twice (customers and surveys keep versions)
        if name in ("customers", "satisfaction-surveys", "account"):
            continue
        keys = [
            (r["ticket_id"], r["message_id"]) if name == "tickets" else r["id"] for r in after[name]
        ]
        assert len(keys) == len(set(keys)), name
    assert str(customer["id"]) in [r["id"] for r in after["customers"][before["customers"] :]]
    new_events = after["events"][before["events"] :]
    assert {r["type"] for r in new_events} >= {"ticket-message-created", "customer-created"}
    assert len(after["tags"]) == before["tags"]  # a snapshot: replaced, not appended


def test_an_out_dir_that_is_a_file_is_refused_before_any_request(
    sim: Simulator, tmp_path: Path
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("keep me")
    result = run_cli(sim, "all", "--out-dir", str(blocker))
    assert result.exit_code == 6 and result.stderr.count("\n") == 1
    assert blocker.read_text() == "keep me"
    assert sim.requests == []
    nested = run_cli(sim, "all", "--out-dir", str(blocker / "sub"))
    assert nested.exit_code == 6 and nested.stderr.count("\n") == 1


def test_a_file_from_another_command_is_refused_before_any_entity_runs(
    sim: Simulator, tmp_path: Path
) -> None:
    out_dir = tmp_path / "backup"
    out_dir.mkdir()
    assert run_cli(sim, "tickets", "--out", str(out_dir / "tickets.csv")).exit_code == 0
    kept = (out_dir / "tickets.csv").read_bytes()
    sim.reset_stats()
    result = run_cli(sim, "all", "--out-dir", str(out_dir))
    assert result.exit_code == 7 and result.stderr.count("\n") == 1
    assert "tickets.csv exists but this `all` has no progress for it" in result.stderr
    assert sim.requests == []  # not after exporting every entity before it
    assert (out_dir / "tickets.csv").read_bytes() == kept
    assert not (out_dir / "tags.csv").exists()


def test_all_into_sqlite_is_one_database_kept_current(sim: Simulator, tmp_path: Path) -> None:
    out = tmp_path / "backup"
    result = run_cli(sim, "all", "--out-dir", str(out), "--format", "sqlite")
    assert result.exit_code == 0, result.stderr
    db = out / "gorgias.db"
    with contextlib.closing(sqlite3.connect(db)) as connection:
        count = dict(
            (table, connection.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0])
            for table in (
                *("tickets", "messages", "conversations", "customers", "tags", "events"),
                *("voice_calls", "voice_call_events", "voice_call_recordings", "jobs", "macros"),
                "account_settings",
            )
        )
    assert count["tickets"] == len(sim.dataset.tickets)
    assert count["messages"] == len(sim.dataset.messages)
    assert count["customers"] == len(sim.dataset.entity_items("customers"))
    assert count["events"] == len(sim.dataset.entity_items("events"))
    for table, listing in (
        ("voice_calls", "phone/voice-calls"),
        ("voice_call_events", "phone/voice-call-events"),
        ("voice_call_recordings", "phone/voice-call-recordings"),
        ("jobs", "jobs"),
        ("account_settings", "account/settings"),
        ("macros", "macros"),  # archived ones included
    ):
        assert count[table] == len(sim.dataset.entity_items(listing)) > 0, table
    # The listing is read once (from both ends, which can cost a page where they meet).
    assert sim.count("/api/messages") <= -(-len(sim.dataset.messages) // 100) + 2
    ticket = sim.dataset.tickets[0]
    new_status = "open" if ticket["status"] == "closed" else "closed"
    sim.dataset.update_ticket(ticket["id"], status=new_status)
    assert run_cli(sim, "all", "--out-dir", str(out), "--format", "sqlite").exit_code == 0
    with contextlib.closing(sqlite3.connect(db)) as connection:
        statuses = connection.execute(
            "SELECT DISTINCT ticket_status FROM conversations WHERE ticket_id = ?", (ticket["id"],)
        ).fetchall()
        tickets = connection.execute("SELECT count(*) FROM tickets").fetchone()[0]
    assert statuses == [(new_status,)]
    assert tickets == len(sim.dataset.tickets)
