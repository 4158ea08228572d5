"""File outputs are append logs: deletions and merges are recorded in <out>.deletions.jsonl,
once each, and the exported file itself is left as it was."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from gorgias_export.output.deletions_log import DeletionLog
from gorgias_export.output.mirror_removals import Removal
from gorgias_sim import Simulator
from tests.support.cli import kill_when, run_ok
from tests.support.removals import mutate

pytestmark = pytest.mark.sim(seed=5, tickets=120)


def log_of(out: Path) -> list[dict[str, Any]]:
    path = out.with_name(out.name + ".deletions.jsonl")
    return [json.loads(line) for line in path.read_text().splitlines()]


def brief(lines: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    return sorted((x["object"], x["id"], x["how"], x["merged_into"]) for x in lines)


def test_tickets_and_customers_removed_upstream_are_logged_beside_the_files(
    sim: Simulator, tmp_path: Path
) -> None:
    tickets, customers = tmp_path / "tickets.jsonl", tmp_path / "customers.csv"
    run_ok(sim, "tickets", "--out", str(tickets))
    run_ok(sim, "customers", "--out", str(customers))
    before = tickets.read_bytes()
    gone = mutate(sim.dataset)
    run_ok(sim, "tickets", "--out", str(tickets))
    run_ok(sim, "customers", "--out", str(customers))
    expected = [
        ("ticket", gone["deleted"], "ticket-deleted", None),
        ("ticket", gone["source"], "ticket-merged", gone["target"]),
        *(("ticket", t, "ticket-deleted", None) for t in gone["erased_tickets"]),
    ]
    assert brief(log_of(tickets)) == sorted(expected)
    assert brief(log_of(customers)) == sorted(
        [
            ("customer", gone["customer"], "customer-deleted", None),
            ("customer", gone["merged_customer"], "customer-merged", gone["absorber"]),
        ]
    )
    assert all(line["detected_at"].endswith("Z") for line in log_of(tickets))
    assert tickets.read_bytes().startswith(before)  # the rows written are never cut out
    # A rerun reads the same events again (their overlap), and writes no line twice.
    run_ok(sim, "tickets", "--out", str(tickets))
    run_ok(sim, "customers", "--out", str(customers))
    assert brief(log_of(tickets)) == sorted(expected)
    assert len(log_of(customers)) == 2


def test_a_kill_during_the_pass_then_a_rerun_logs_each_removal_once(
    sim: Simulator, tmp_path: Path
) -> None:
    tickets = tmp_path / "tickets.csv"
    run_ok(sim, "tickets", "--out", str(tickets))
    gone = mutate(sim.dataset)

    def after_the_events(record: Any, paths: list[str]) -> bool:
        # Confirming the events' tickets: the pass has begun, no line is written yet.
        return record.path == "/api/tickets" and "ticket_ids" in record.query

    assert kill_when(sim, after_the_events, "tickets", "--out", str(tickets)) == -9
    run_ok(sim, "tickets", "--out", str(tickets))
    ids = [line["id"] for line in log_of(tickets)]
    assert sorted(ids) == sorted({gone["deleted"], gone["source"], *gone["erased_tickets"]})


def removal(object_id: int) -> Removal:
    return Removal("ticket", object_id, "ticket-deleted", None, 7, "2026-01-01T00:00:00.000000Z")


def test_lines_written_after_the_last_checkpoint_are_cut_back(tmp_path: Path) -> None:
    path = tmp_path / "t.csv.deletions.jsonl"
    state: dict[str, Any] = {}
    log = DeletionLog(path, state)
    log.remove([removal(1)])
    log.sync()
    saved = dict(state)  # the checkpoint
    log.remove([removal(2)])
    log.sync()  # on the disk, and then a kill before the state that counts it
    again = DeletionLog(path, saved)
    again.remove([removal(2)])
    again.sync()
    assert [line["id"] for line in log_of(tmp_path / "t.csv")] == [1, 2]


def test_a_log_no_state_counts_is_never_cut(tmp_path: Path) -> None:
    path = tmp_path / "t.csv.deletions.jsonl"
    path.write_text('{"kept": true}\n')
    log = DeletionLog(path, {})
    log.remove([removal(3)])
    log.sync()
    assert path.read_text().startswith('{"kept": true}\n')


def test_per_ticket_lines_with_the_log_applied_are_the_account(
    sim: Simulator, tmp_path: Path
) -> None:
    """The last line of each ticket, minus the tickets the log names, is the account: a merge
    target's line comes again (with the moved messages) by the run after the one that saw it."""
    out = tmp_path / "tickets.jsonl"
    run_ok(sim, "tickets", "--out", str(out), "--per", "ticket")
    mutate(sim.dataset)
    run_ok(sim, "tickets", "--out", str(out), "--per", "ticket")
    run_ok(sim, "tickets", "--out", str(out), "--per", "ticket")
    last: dict[int, list[int]] = {}
    for line in out.read_text().splitlines():
        ticket = json.loads(line)
        last[ticket["id"]] = [m["id"] for m in ticket["messages"]]
    for gone in log_of(out):
        last.pop(gone["id"], None)
    ds = sim.dataset
    assert last == {t["id"]: [m["id"] for m in ds.messages_of(t["id"])] for t in ds.tickets}
