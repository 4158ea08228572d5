"""Deletions and merges reach an .xlsx workbook: the rerun's pass removes the rows from the store
beside it (`<out>.rows.sqlite`), and the workbook written at that run's end no longer has them;
a merge target's moved messages appear under it."""

from __future__ import annotations

from pathlib import Path

import pytest

from gorgias_sim import Simulator
from tests.support.cli import run_ok
from tests.support.removals import account_state, forget_removal_events, mutate
from tests.support.workbooks import read_rows

pytestmark = pytest.mark.sim(seed=5, tickets=120)


def _conversation_keys(path: Path) -> list[tuple[str, int]]:
    """(row_id, ticket_id) of every workbook row, as the mirror's conversations table has them."""
    keys = []
    for row in read_rows(path):
        message = row["message_id"]
        ticket = int(row["ticket_id"])
        keys.append((f"m:{int(message)}" if message is not None else f"t:{ticket}", ticket))
    return sorted(keys)


def test_deleted_and_merged_tickets_leave_the_workbook(sim: Simulator, tmp_path: Path) -> None:
    out = tmp_path / "t.xlsx"
    run_ok(sim, "tickets", "--out", str(out))
    gone = mutate(sim.dataset)
    run_ok(sim, "tickets", "--out", str(out))
    keys = _conversation_keys(out)
    tickets = {ticket for _, ticket in keys}
    assert gone["deleted"] not in tickets
    assert gone["source"] not in tickets
    assert not tickets & set(gone["erased_tickets"])
    # Every row is the account's: the merge target holds the moved messages, nothing is left.
    assert keys == account_state(sim.dataset)["conversations"]


def test_reconcile_removes_from_the_workbook_what_no_event_told_of(
    sim: Simulator, tmp_path: Path
) -> None:
    out = tmp_path / "t.xlsx"
    run_ok(sim, "tickets", "--out", str(out))
    gone = mutate(sim.dataset)
    forget_removal_events(sim.dataset)
    run_ok(sim, "tickets", "--out", str(out))
    run_ok(sim, "tickets", "--out", str(out), "--reconcile")
    keys = _conversation_keys(out)
    tickets = {ticket for _, ticket in keys}
    assert gone["deleted"] not in tickets and gone["source"] not in tickets
    assert not tickets & set(gone["erased_tickets"])
    # Without the merge's event, the recount finds the target (its messages_count is not its
    # rows' count) and re-reads it: its moved messages are under it.
    assert keys == account_state(sim.dataset)["conversations"]


def test_deleted_and_merged_customers_leave_the_workbook(sim: Simulator, tmp_path: Path) -> None:
    out = tmp_path / "c.xlsx"
    run_ok(sim, "customers", "--out", str(out))
    gone = mutate(sim.dataset)
    run_ok(sim, "customers", "--out", str(out))
    ids = sorted(int(row["id"]) for row in read_rows(out))
    assert gone["customer"] not in ids
    assert gone["merged_customer"] not in ids
    assert ids == account_state(sim.dataset)["customers"]


def test_per_ticket_workbooks_drop_deleted_tickets(sim: Simulator, tmp_path: Path) -> None:
    out = tmp_path / "summary.xlsx"
    run_ok(sim, "tickets", "--per", "ticket", "--out", str(out))
    gone = mutate(sim.dataset)
    run_ok(sim, "tickets", "--per", "ticket", "--out", str(out))
    run_ok(sim, "tickets", "--per", "ticket", "--out", str(out))  # writes the merge target again
    rows = {int(row["ticket_id"]): row for row in read_rows(out)}
    assert sorted(rows) == [t[0] for t in account_state(sim.dataset)["tickets"]]
    assert gone["deleted"] not in rows and gone["source"] not in rows
    target = next(t for t in sim.dataset.tickets if t["id"] == gone["target"])
    assert int(rows[gone["target"]]["messages"]) == target["messages_count"]
