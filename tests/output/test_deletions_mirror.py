"""Deletions and merges reach the SQLite mirror: after the account deletes and merges tickets and
customers, a rerun leaves the mirror equal to the account (tickets, messages with their ticket,
customers, conversation rows)."""

from __future__ import annotations

from pathlib import Path

import pytest

from gorgias_export.output.mirror_removals import MirrorRemovals
from gorgias_export.output.sqlite_store import SqliteStore
from gorgias_sim import Simulator
from tests.support.cli import run_ok
from tests.support.removals import (
    account_state,
    export,
    forget_removal_events,
    mirror_state,
    mutate,
    query,
)

pytestmark = pytest.mark.sim(seed=5, tickets=120)


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
    # Its cost: the id listings, ceil(T/100) + ceil(C/100) requests.
    listed = [
        r.path
        for r in sim.requests
        if r.path in ("/api/tickets", "/api/customers")
        and r.query.get("order_by") == ["created_datetime:asc"]
        and "ticket_ids" not in r.query
    ]
    ds = sim.dataset
    assert listed.count("/api/tickets") == -(-len(ds.tickets) // 100)
    assert listed.count("/api/customers") == -(-len(ds.customers) // 100)
    how = {r[0] for r in query(out, "SELECT how FROM _gorgias_export_deleted")}
    assert "reconcile" in how


def test_all_into_one_database_handles_them_the_same(sim: Simulator, tmp_path: Path) -> None:
    out_dir = tmp_path / "backup"
    run_ok(sim, "all", "--out-dir", str(out_dir), "--format", "sqlite")
    mutate(sim.dataset)
    run_ok(sim, "all", "--out-dir", str(out_dir), "--format", "sqlite")
    assert mirror_state(out_dir / "gorgias.db") == account_state(sim.dataset)


def test_the_message_count_check_looks_messages_up_by_ticket(
    sim: Simulator, tmp_path: Path
) -> None:
    """Run after every rerun of a mirror: a plan that scans messages per ticket takes hours."""
    out = tmp_path / "mirror.db"
    run_ok(sim, "tickets", "--out", str(out))
    store = SqliteStore(out)
    try:
        removals = MirrorRemovals(store, "ticket")
        assert removals.mismatched(100) == []  # a fresh mirror agrees with its counts
        db = store._begin()  # the connection that created the pass's tables
        found = db.execute(f"EXPLAIN QUERY PLAN {removals.mismatch_sql()}", (100,))
        plan = " ".join(str(row[3]) for row in found)
        assert "SCAN m" not in plan and "messages_by_ticket_id" in plan, plan
    finally:
        store.rollback()
        store.close()


def test_per_ticket_summaries_in_sqlite_follow_deletions_and_merges(
    sim: Simulator, tmp_path: Path
) -> None:
    """`--per ticket --out x.db`: a deleted or merged-away ticket leaves `ticket_summary`, and a
    merge target's row counts its moved messages by the run after the one that saw the merge."""
    out = tmp_path / "summary.db"
    args = ("tickets", "--out", str(out), "--per", "ticket")
    run_ok(sim, *args)
    gone = mutate(sim.dataset)
    run_ok(sim, *args)
    run_ok(sim, *args)
    rows = dict(query(out, "SELECT ticket_id, messages FROM ticket_summary"))
    ds = sim.dataset
    assert rows == {t["id"]: len(ds.messages_of(t["id"])) for t in ds.tickets}
    assert gone["source"] not in rows and gone["deleted"] not in rows
