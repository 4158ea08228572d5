"""Deletions and merges reach the SQLite mirror: after the account deletes and merges tickets and
customers, a rerun leaves the mirror equal to the account (tickets, messages with their ticket,
customers, conversation rows)."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from gorgias_sim import Dataset, Simulator
from tests.support.cli import run_ok

pytestmark = pytest.mark.sim(seed=5, tickets=120)
REMOVAL_EVENTS = ("ticket-deleted", "ticket-merged", "customer-deleted", "customer-merged")


def query(path: Path, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    db = sqlite3.connect(path)
    try:
        return list(db.execute(sql, params))
    finally:
        db.close()


def mirror_state(path: Path) -> dict[str, Any]:
    """What the test compares: ticket ids with their messages_count and updated_datetime,
    message ids with their ticket, customer ids, and the conversation rows' keys."""
    return {
        "tickets": sorted(query(path, "SELECT id, messages_count, updated_datetime FROM tickets")),
        "messages": sorted(query(path, "SELECT id, ticket_id FROM messages")),
        "customers": sorted(r[0] for r in query(path, "SELECT id FROM customers")),
        "conversations": sorted(query(path, "SELECT row_id, ticket_id FROM conversations")),
    }


def account_state(ds: Dataset) -> dict[str, Any]:
    with ds.lock:
        tickets = sorted((t["id"], t["messages_count"], t["updated_datetime"]) for t in ds.tickets)
        messages = sorted((m["id"], m["ticket_id"]) for m in ds.messages)
        rows = [(f"m:{m}", t) for m, t in messages]
        rows += [(f"t:{t[0]}", t[0]) for t in tickets if t[1] == 0]
        return {
            "tickets": tickets,
            "messages": messages,
            "customers": sorted(ds.customers),
            "conversations": sorted(rows),
        }


def mutate(ds: Dataset) -> dict[str, int]:
    """Delete and merge tickets and customers, as Gorgias does on its own."""
    busy = [t for t in ds.tickets if t["messages_count"] > 1]
    deleted, source, target = busy[3]["id"], busy[10]["id"], busy[20]["id"]
    ds.delete_ticket(deleted)
    ds.merge_tickets(source, target)
    owners = [t["customer"]["id"] for t in ds.tickets]
    gdpr = owners[30]
    ds.delete_customer(gdpr)
    merged_customer = next(c for c in owners[40:] if c != gdpr)
    absorber = next(c for c in ds.customers if c not in (gdpr, merged_customer))
    ds.merge_customers(merged_customer, absorber)
    return {"deleted": deleted, "source": source, "target": target, "customer": gdpr}


def export(sim: Simulator, out: Path, *extra: str) -> None:
    run_ok(sim, "tickets", "--out", str(out), *extra)
    run_ok(sim, "customers", "--out", str(out), *extra)


def test_a_rerun_after_deletions_and_merges_leaves_the_mirror_equal_to_the_account(
    sim: Simulator, tmp_path: Path
) -> None:
    out = tmp_path / "mirror.db"
    export(sim, out)
    assert mirror_state(out) == account_state(sim.dataset)
    gone = mutate(sim.dataset)
    export(sim, out)
    assert mirror_state(out) == account_state(sim.dataset)
    logged = {
        r[0]: r for r in query(out, "SELECT id, how, merged_into FROM _gorgias_export_deleted")
    }
    assert logged[gone["source"]][1:] == ("ticket-merged", gone["target"])
    assert logged[gone["deleted"]][1] == "ticket-deleted"
    assert logged[gone["customer"]][1] == "customer-deleted"


def forget_removal_events(ds: Dataset) -> None:
    """As if the account's events had expired, or a pass had missed them."""
    with ds.lock:
        table = ds.entities.events
        for event in list(table):
            if event.type in REMOVAL_EVENTS:
                table.remove(event.id)


def test_reconcile_removes_what_no_event_told_of(sim: Simulator, tmp_path: Path) -> None:
    out = tmp_path / "mirror.db"
    export(sim, out)
    mutate(sim.dataset)
    forget_removal_events(sim.dataset)
    export(sim, out)
    # The merge still shows (the target's messages_count changed), the deletions do not.
    assert mirror_state(out)["tickets"] != account_state(sim.dataset)["tickets"]
    sim.reset_stats()
    export(sim, out, "--reconcile")
    assert mirror_state(out) == account_state(sim.dataset)
    tickets, customers = len(sim.dataset.tickets), len(sim.dataset.customers)
    listings = -(-tickets // 100) + -(-customers // 100)
    assert sim.count("/api/tickets") + sim.count("/api/customers") >= listings
    how = {r[0] for r in query(out, "SELECT how FROM _gorgias_export_deleted")}
    assert "reconcile" in how
