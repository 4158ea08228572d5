"""Deleting and merging in the simulator, and comparing a SQLite mirror with the account."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from gorgias_sim import Dataset, Simulator
from tests.support.cli import run_ok

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


def mutate(ds: Dataset) -> dict[str, Any]:
    """Delete and merge tickets and customers, as Gorgias does on its own."""
    busy = [t for t in ds.tickets if t["messages_count"] > 1]
    deleted, source, target = busy[3]["id"], busy[10]["id"], busy[20]["id"]
    ds.delete_ticket(deleted)
    ds.merge_tickets(source, target)
    owners = [t["customer"]["id"] for t in ds.tickets]
    gdpr = owners[30]
    erased = sorted(t["id"] for t in ds.tickets if t["customer"]["id"] == gdpr)
    ds.delete_customer(gdpr)
    merged_customer = next(c for c in owners[40:] if c != gdpr)
    absorber = next(c for c in ds.customers if c not in (gdpr, merged_customer))
    ds.merge_customers(merged_customer, absorber)
    return {
        "deleted": deleted,
        "source": source,
        "target": target,
        "customer": gdpr,
        "erased_tickets": erased,
        "merged_customer": merged_customer,
        "absorber": absorber,
    }


def export(sim: Simulator, out: Path, *extra: str) -> None:
    """`tickets` then `customers` into one database (`--only-tickets`: tickets alone)."""
    only_tickets = "--only-tickets" in extra
    flags = [flag for flag in extra if flag != "--only-tickets"]
    run_ok(sim, "tickets", "--out", str(out), *flags)
    if not only_tickets:
        run_ok(sim, "customers", "--out", str(out), *flags)


def forget_removal_events(ds: Dataset) -> None:
    """As if the account's events had expired, or a pass had missed them."""
    with ds.lock:
        table = ds.entities.events
        for event in list(table):
            if event.type in REMOVAL_EVENTS:
                table.remove(event.id)
