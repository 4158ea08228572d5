"""kill -9 in the middle of an .xlsx export's deletion pass, then a rerun: the workbook still
converges on the account. The kill leaves the previous workbook whole (it is only replaced at a
run's end), and the store at its last checkpoint, from which the rerun resumes the pass."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gorgias_export.jobs.xlsx_target import rows_store_path
from gorgias_sim import Simulator
from tests.reliability.test_deletion_kills import (
    Wanted,
    a_ticket_s_messages,
    a_ticket_s_own_get,
    events_of_the_pass,
)
from tests.support.cli import kill_when, run_ok
from tests.support.removals import account_state, mutate, query
from tests.support.workbooks import read_rows

pytestmark = [pytest.mark.slow, pytest.mark.sim(seed=5, tickets=120)]

CASES: dict[str, Wanted] = {
    "reading events": events_of_the_pass,
    "confirming a deletion": a_ticket_s_own_get,
    "re-reading a merged ticket": a_ticket_s_messages,
}


def _keys(path: Path) -> list[tuple[str, int]]:
    keys = []
    for row in read_rows(path):
        ticket, message = int(row["ticket_id"]), row["message_id"]
        keys.append((f"m:{int(message)}" if message is not None else f"t:{ticket}", ticket))
    return sorted(keys)


@pytest.mark.parametrize("case", list(CASES))
def test_a_kill_during_the_workbook_s_deletion_pass_then_a_rerun_converges(
    case: str, sim: Simulator, tmp_path: Path
) -> None:
    out = tmp_path / "t.xlsx"
    run_ok(sim, "tickets", "--out", str(out))
    before = _keys(out)
    mutate(sim.dataset)
    assert kill_when(sim, CASES[case], "tickets", "--out", str(out)) == -9
    saved = query(rows_store_path(out), "SELECT progress FROM _gorgias_export_state")
    assert json.loads(saved[0][0])["removals"]["phase"] == "events"  # killed inside the pass
    assert _keys(out) == before  # the previous workbook, whole
    run_ok(sim, "tickets", "--out", str(out))
    assert _keys(out) == account_state(sim.dataset)["conversations"]
