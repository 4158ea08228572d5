"""kill -9 in the middle of a deletion pass, then a rerun: the SQLite mirror still converges on
the account (tickets, messages under their ticket, customers, conversation rows)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from gorgias_sim import RequestRecord, Simulator
from tests.support.cli import kill_when
from tests.support.removals import account_state, export, mirror_state, mutate, query

pytestmark = [pytest.mark.slow, pytest.mark.sim(seed=5, tickets=120)]
Wanted = Callable[[RequestRecord, list[str]], bool]
SINGLE_TICKET = re.compile(r"/api/tickets/[0-9]+")


def events_of_the_pass(record: RequestRecord, _: list[str]) -> bool:
    return record.path == "/api/events" and "types" in record.query


def a_ticket_s_own_get(record: RequestRecord, _: list[str]) -> bool:
    return SINGLE_TICKET.fullmatch(record.path) is not None


def a_ticket_s_messages(record: RequestRecord, _: list[str]) -> bool:
    return record.path == "/api/messages" and "ticket_id" in record.query


def the_second_page_of_the_id_listing(record: RequestRecord, _: list[str]) -> bool:
    query = record.query
    return (
        record.path == "/api/tickets"
        and query.get("order_by") == ["created_datetime:asc"]
        and "cursor" in query
        and "ticket_ids" not in query
    )


def a_customer_s_own_get(record: RequestRecord, _: list[str]) -> bool:
    return record.path.startswith("/api/customers/")


# command, where to kill, its flags, the phase its saved state is in then
CASES: dict[str, tuple[str, Wanted, tuple[str, ...], str]] = {
    "reading events": ("tickets", events_of_the_pass, (), "events"),
    "confirming a deletion": ("tickets", a_ticket_s_own_get, (), "events"),
    "re-reading a merged ticket": ("tickets", a_ticket_s_messages, (), "events"),
    "reconciling": ("tickets", the_second_page_of_the_id_listing, ("--reconcile",), "reconcile"),
    "confirming a customer's deletion": ("customers", a_customer_s_own_get, (), "events"),
}


def saved_phase(out: Path, command: str) -> object:
    found = query(out, "SELECT progress FROM _gorgias_export_state WHERE export = ?", command)
    return json.loads(found[0][0]).get("removals", {}).get("phase")


@pytest.mark.parametrize("case", list(CASES))
def test_a_kill_during_the_deletion_pass_then_a_rerun_converges(
    case: str, sim: Simulator, tmp_path: Path
) -> None:
    command, wanted, extra, phase = CASES[case]
    out = tmp_path / "mirror.db"
    export(sim, out)
    mutate(sim.dataset)
    if command == "customers":
        export(sim, out, "--only-tickets")  # the tickets' pass first, so the kill is in customers'
    status = kill_when(sim, wanted, command, "--out", str(out), *extra)
    assert status == -9, f"the run was not killed at {case}"
    assert saved_phase(out, command) == phase  # killed inside the pass, not before or after
    export(sim, out, *extra)
    assert mirror_state(out) == account_state(sim.dataset)
