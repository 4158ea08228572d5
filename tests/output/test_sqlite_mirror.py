"""Whole runs of `gorgias-export tickets --out mirror.db` against the simulator."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from gorgias_export.output.mirror import TABLES
from gorgias_export.output.writers import format_from_path
from gorgias_export.rows import CONVERSATION_COLUMNS, CONVERSATION_CSV_KINDS
from gorgias_sim import Simulator
from gorgias_sim.data import TICKETS_WITHOUT_MESSAGES
from tests.reliability.harness import signal_at
from tests.support.account import SECRET_KEY
from tests.support.cli import REPO, env_for, run_cli, run_ok, run_subprocess
from tests.support.outputs import read_csv, row_ids
from tests.support.simulator import expected_ids

pytestmark = pytest.mark.sim(seed=3, tickets=300)


def query(path: Path, sql: str, *params: Any) -> list[dict[str, Any]]:
    db = sqlite3.connect(path)
    db.row_factory = sqlite3.Row
    try:
        return [dict(row) for row in db.execute(sql, params)]
    finally:
        db.close()


def content(path: Path) -> dict[str, list[dict[str, Any]]]:
    """Every row of the export's tables, by key: what a resumed run must reproduce."""
    return {table: query(path, f"SELECT * FROM {table} ORDER BY 1") for table in TABLES}


def as_csv_text(column: str, value: Any) -> str:
    """A database value as the CSV output writes it."""
    if value is None:
        return ""
    if CONVERSATION_CSV_KINDS.get(column) == "bool":
        return "true" if value else "false"
    return str(value)


@pytest.fixture
def clean(sim: Simulator, tmp_path: Path) -> dict[str, list[dict[str, Any]]]:
    out = tmp_path / "clean" / "mirror.db"
    out.parent.mkdir()
    assert run_cli(sim, "tickets", "--out", str(out)).exit_code == 0
    sim.reset_stats()
    return content(out)


def test_the_database_holds_the_csv_rows_and_the_raw_objects(
    sim: Simulator, tmp_path: Path
) -> None:
    db, csv = tmp_path / "mirror.db", tmp_path / "tickets.csv"
    result = run_cli(sim, "tickets", "--out", str(db))
    assert result.exit_code == 0, result.stderr
    assert f"in {db}, 1," in result.stderr  # the summary counts the conversations table
    assert run_cli(sim, "tickets", "--out", str(csv)).exit_code == 0
    conversations = query(db, "SELECT * FROM conversations")
    assert row_ids(conversations) == row_ids(read_csv(csv)) == expected_ids(sim)
    by_row = {(r["ticket_id"], r["message_id"]): r for r in read_csv(csv)}
    for row in conversations:
        key = (str(row["ticket_id"]), as_csv_text("message_id", row["message_id"]))
        expected_id = f"m:{row['message_id']}" if row["message_id"] else f"t:{row['ticket_id']}"
        assert row.pop("row_id") == expected_id
        assert {c: as_csv_text(c, row[c]) for c in CONVERSATION_COLUMNS} == by_row[key]
    tickets = query(db, "SELECT * FROM tickets")
    assert len(tickets) == len(sim.dataset.tickets)
    for ticket in tickets[:50]:
        original = sim.dataset.ticket(ticket["id"])
        assert original is not None and ticket["status"] == original["status"]
        assert json.loads(ticket["customer"]) == original["customer"]
        assert json.loads(ticket["tags"]) == original["tags"]
        assert ticket["spam"] in (0, 1) and bool(ticket["spam"]) == original["spam"]
    messages = query(db, "SELECT id, ticket_id, body_text, source FROM messages")
    assert len(messages) == len(sim.dataset.messages)
    for message in messages:
        original = sim.dataset.message(message["id"])
        assert original is not None and message["body_text"] == original["body_text"]
        assert json.loads(message["source"]) == original["source"]
    assert SECRET_KEY.encode() not in db.read_bytes()
    assert not db.with_name("mirror.db-wal").exists()  # the .db alone is complete


def test_a_rerun_updates_status_everywhere_and_adds_only_what_is_new(
    sim: Simulator, tmp_path: Path
) -> None:
    out = tmp_path / "mirror.db"
    assert run_cli(sim, "tickets", "--out", str(out)).exit_code == 0
    ds = sim.dataset
    ticket = max(ds.tickets, key=lambda t: t["messages_count"])
    changed, status = ticket["id"], "open" if ticket["status"] == "closed" else "closed"
    before = query(out, "SELECT ticket_status FROM conversations WHERE ticket_id = ?", changed)
    assert len(before) > 3 and {r["ticket_status"] for r in before} == {ticket["status"]}
    ds.update_ticket(changed, status=status)
    added = ds.add_message(changed)
    quiet = ds.special[TICKETS_WITHOUT_MESSAGES][0]
    answered = ds.add_message(quiet)  # a ticket without messages gets one
    result = run_cli(sim, "tickets", "--out", str(out))
    assert result.exit_code == 0, result.stderr
    after = query(out, "SELECT * FROM conversations WHERE ticket_id = ?", changed)
    assert len(after) == len(before) + 1
    assert {r["ticket_status"] for r in after} == {status}
    assert [r["body"] for r in after if r["message_id"] == added["id"]] == [added["body_text"]]
    assert query(out, "SELECT status FROM tickets WHERE id = ?", changed) == [{"status": status}]
    assert query(out, "SELECT message_id FROM conversations WHERE ticket_id = ?", quiet) == [
        {"message_id": answered["id"]}
    ]  # its empty row is gone
    conversations = query(out, "SELECT ticket_id, message_id FROM conversations")
    assert row_ids(conversations) == expected_ids(sim)  # every row once, nothing missing
    assert len(query(out, "SELECT id FROM messages")) == len(ds.messages)
    assert len(query(out, "SELECT id FROM tickets")) == len(ds.tickets)


@pytest.mark.parametrize(
    ("request_number", "sig", "code"),
    [
        (3, signal.SIGKILL, -signal.SIGKILL),
        (9, signal.SIGKILL, -signal.SIGKILL),
        (10, signal.SIGINT, 130),  # after the first message pages are committed
    ],
)
def test_a_run_stopped_during_a_request_then_rerun_gives_the_clean_database(
    sim: Simulator, clean: dict[str, Any], tmp_path: Path, request_number: int, sig: int, code: int
) -> None:
    out = tmp_path / "mirror.db"
    with signal_at(sim, request_number, sig) as started:
        process = run_subprocess(sim, "tickets", "--out", str(out), "--quiet")
        started(process)
        _, stderr = process.communicate(timeout=60)
    assert process.returncode == code, stderr
    if sig == signal.SIGINT:  # rolled back to the last commit, which the rerun goes on from
        assert b"progress is saved" in stderr and b"Traceback" not in stderr
        assert content(out)["conversations"]
    result = run_cli(sim, "tickets", "--out", str(out))
    assert result.exit_code == 0, result.stderr
    assert content(out) == clean


# The real CLI, killed (-9) just before its Nth checkpoint commits: the page's rows are in the
# open transaction, the state that would count them is not.
KILL_BEFORE_COMMIT = """
import os, signal, sys
from gorgias_export.cli import app as cli
from gorgias_export.output.sqlite_store import SqliteStore
save, count = SqliteStore.save_state, [0]
def save_or_die(self, *args):
    count[0] += 1
    if count[0] == int(os.environ["KILL_AT_SAVE"]):
        os.kill(os.getpid(), signal.SIGKILL)
    save(self, *args)
SqliteStore.save_state = save_or_die
cli.main()
"""


def test_kill_9_between_a_pages_rows_and_its_commit(
    sim: Simulator, clean: dict[str, Any], tmp_path: Path
) -> None:
    out = tmp_path / "mirror.db"
    kills = 0
    for save_number in (2, 4, 3, 7, 5):
        child = subprocess.run(
            [sys.executable, "-c", KILL_BEFORE_COMMIT, "tickets", "--out", str(out), "--quiet"],
            env={**os.environ, **env_for(sim), "KILL_AT_SAVE": str(save_number)},
            cwd=REPO,
            capture_output=True,
            check=False,
        )
        assert child.returncode in (0, -signal.SIGKILL), child.stderr
        kills += child.returncode == -signal.SIGKILL
    assert kills >= 3
    result = run_cli(sim, "tickets", "--out", str(out))
    assert result.exit_code == 0, result.stderr
    assert content(out) == clean


def test_a_file_that_is_not_a_database_is_left_alone(sim: Simulator, tmp_path: Path) -> None:
    out = tmp_path / "tickets.db"
    out.write_bytes(b"ticket_id,message_id\r\n1,2\r\n")
    result = run_cli(sim, "tickets", "--out", str(out))
    assert result.exit_code == 6
    assert result.stderr.count("\n") == 1 and "is not a SQLite database" in result.stderr
    assert out.read_bytes() == b"ticket_id,message_id\r\n1,2\r\n"
    assert sim.count() == 0


def test_tickets_and_messages_never_share_a_messages_table(sim: Simulator, tmp_path: Path) -> None:
    # Each fills `messages` its own way: one refuses the other's database, even with --fresh.
    entity_db, mirror_db = tmp_path / "messages.db", tmp_path / "mirror.db"
    assert run_cli(sim, "messages", "--out", str(entity_db)).exit_code == 0
    assert run_cli(sim, "tickets", "--out", str(mirror_db)).exit_code == 0
    before = entity_db.read_bytes(), mirror_db.read_bytes()
    sim.reset_stats()
    for args in (["--out", str(entity_db)], ["--out", str(entity_db), "--fresh"]):
        result = run_cli(sim, "tickets", *args)
        assert result.exit_code == 7 and "holds the messages command's table" in result.stderr
    result = run_cli(sim, "messages", "--out", str(mirror_db))
    assert result.exit_code == 7 and "holds the tickets command's mirror" in result.stderr
    assert (entity_db.read_bytes(), mirror_db.read_bytes()) == before
    assert sim.count() == 0


@pytest.mark.sim(seed=23, tickets=250, cursor_ttl=60, fake_clock=True)
def test_messages_entity_beside_the_tickets_mirror_is_refused_without_a_harmful_hint(
    sim: Simulator, tmp_path: Path
) -> None:
    """`messages --out mirror.db` after `tickets --out mirror.db`: both would own `messages`.
    The refusal must not advise --fresh, which would empty the mirror's messages table."""
    db = tmp_path / "mirror.db"
    run_ok(sim, "tickets", "--out", str(db))
    result = run_cli(sim, "messages", "--out", str(db))
    assert result.exit_code == 7
    assert "--fresh" not in result.stderr and "every message" in result.stderr


def test_a_database_with_rows_but_no_state_needs_fresh(sim: Simulator, tmp_path: Path) -> None:
    out = tmp_path / "mirror.db"
    db = sqlite3.connect(out)
    db.execute("CREATE TABLE tickets (id INTEGER PRIMARY KEY, note)")
    db.execute("INSERT INTO tickets VALUES (1, 'made by hand')")
    db.execute("CREATE TABLE mine (x)")
    db.commit()
    db.close()
    refused = run_cli(sim, "tickets", "--out", str(out))
    assert refused.exit_code == 7 and "--fresh" in refused.stderr
    # --fresh, but the key is wrong: the run fails before its first page and changes nothing
    before = out.read_bytes()
    wrong = run_cli(sim, "tickets", "--out", str(out), "--fresh", env={"GORGIAS_API_KEY": "nope"})
    assert wrong.exit_code == 4
    assert out.read_bytes() == before
    result = run_cli(sim, "tickets", "--out", str(out), "--fresh")
    assert result.exit_code == 0, result.stderr
    assert query(out, "SELECT count(*) AS n FROM tickets WHERE note IS NOT NULL") == [{"n": 0}]
    assert len(query(out, "SELECT id FROM tickets")) == len(sim.dataset.tickets)
    assert query(out, "SELECT x FROM mine") == []  # other tables are not ours to touch


def test_a_moved_database_continues_and_refuses_other_options(
    sim: Simulator, tmp_path: Path
) -> None:
    out = tmp_path / "mirror.db"
    assert run_cli(sim, "tickets", "--out", str(out)).exit_code == 0
    moved = out.rename(tmp_path / "moved.sqlite")
    again = run_cli(sim, "tickets", "--out", str(moved))
    assert again.exit_code == 0 and "0 new rows" in again.stderr
    other = run_cli(sim, "tickets", "--out", str(moved), "--since", "2024-01-01")
    assert other.exit_code == 7 and "(since was none" in other.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--out", "m.db", "--state", "s.json"], "the state lives in the database"),
        (["--out", "-", "--format", "sqlite"], "SQLite output needs a file"),
    ],
)
def test_options_that_do_not_apply_to_sqlite(sim: Simulator, args: list[str], message: str) -> None:
    result = run_cli(sim, "tickets", *args)
    assert result.exit_code == 2 and message in result.stderr
    assert result.stderr.count("\n") == 1
    assert not Path("m.db").exists()


def test_the_format_comes_from_the_extension(sim: Simulator, tmp_path: Path) -> None:
    assert [format_from_path(n) for n in ("a.db", "b.sqlite", "c.SQLITE3")] == ["sqlite"] * 3
    out = tmp_path / "mirror.sqlite3"
    assert run_cli(sim, "tickets", "--out", str(out), "--quiet").exit_code == 0
    assert out.read_bytes().startswith(b"SQLite format 3\x00")
