"""tickets with filters: only the matching tickets' conversations, read ticket by ticket."""

from __future__ import annotations

import signal
from collections import Counter
from pathlib import Path

import pytest

from gorgias_sim import Simulator
from tests.support.cli import interrupt_at_request, run_cli
from tests.support.outputs import read_csv

pytestmark = pytest.mark.sim(seed=23, tickets=400, cursor_ttl=60, fake_clock=True)


@pytest.fixture
def full(sim: Simulator, tmp_path: Path) -> list[dict[str, str]]:
    """The unfiltered export: the filtered ones must hold exactly its matching rows."""
    out = tmp_path / "full.csv"
    assert run_cli(sim, "tickets", "--out", str(out)).exit_code == 0
    sim.reset_stats()
    return read_csv(out)


def busiest_customer(sim: Simulator) -> int:
    counts = Counter(ticket["customer"]["id"] for ticket in sim.dataset.tickets)
    return counts.most_common(1)[0][0]


def rows_key(rows: list[dict[str, str]]) -> list[tuple[str, ...]]:
    return sorted(tuple(row.values()) for row in rows)


def test_customer_id_exports_exactly_that_customers_conversations(
    sim: Simulator, full: list[dict[str, str]], tmp_path: Path
) -> None:
    customer = busiest_customer(sim)
    out = tmp_path / "customer.csv"
    result = run_cli(sim, "tickets", "--customer-id", str(customer), "--out", str(out))
    assert result.exit_code == 0, result.stderr
    expected = [row for row in full if row["customer_id"] == str(customer)]
    assert len(expected) > 3
    assert rows_key(read_csv(out)) == rows_key(expected)
    # Only that customer's tickets were read, one message listing per ticket with messages.
    tickets = {row["ticket_id"] for row in expected if row["message_id"]}
    assert sim.count("/api/messages") == len(tickets)


def test_ticket_ids_beyond_one_request_are_split_and_all_exported(
    sim: Simulator, full: list[dict[str, str]], tmp_path: Path
) -> None:
    wanted = sorted({int(row["ticket_id"]) for row in full})[:150]
    out = tmp_path / "some.csv"
    args = [arg for tid in wanted for arg in ("--ticket-id", str(tid))]
    result = run_cli(sim, "tickets", *args, "--out", str(out))
    assert result.exit_code == 0, result.stderr
    expected = [row for row in full if int(row["ticket_id"]) in set(wanted)]
    assert rows_key(read_csv(out)) == rows_key(expected)
    assert sim.count("/api/tickets") == 2  # 100 ids, then 50


def test_a_filtered_rerun_adds_only_the_matching_new_messages(
    sim: Simulator, full: list[dict[str, str]], tmp_path: Path
) -> None:
    customer = busiest_customer(sim)
    out = tmp_path / "customer.csv"
    assert run_cli(sim, "tickets", "--customer-id", str(customer), "--out", str(out)).exit_code == 0
    before = read_csv(out)
    mine = next(t for t in sim.dataset.tickets if t["customer"]["id"] == customer)
    other = next(t for t in sim.dataset.tickets if t["customer"]["id"] != customer)
    added = sim.dataset.add_message(mine["id"])
    sim.dataset.add_message(other["id"])
    assert run_cli(sim, "tickets", "--customer-id", str(customer), "--out", str(out)).exit_code == 0
    after = read_csv(out)
    assert after[: len(before)] == before
    assert [row["message_id"] for row in after[len(before) :]] == [str(added["id"])]


@pytest.mark.parametrize("request_number", [2, 5])
def test_kill_9_in_a_filtered_export_then_rerun_gives_the_clean_file(
    sim: Simulator, tmp_path: Path, request_number: int
) -> None:
    customer = str(busiest_customer(sim))
    clean = tmp_path / "clean.csv"
    assert run_cli(sim, "tickets", "--customer-id", customer, "--out", str(clean)).exit_code == 0
    out = tmp_path / "customer.csv"
    command = ("tickets", "--customer-id", customer)
    killed = interrupt_at_request(sim, out, request_number, command=command)
    assert killed.returncode == -signal.SIGKILL
    assert run_cli(sim, *command, "--out", str(out)).exit_code == 0
    assert out.read_bytes() == clean.read_bytes()
