"""A ticket whose `messages_count` is null (issue 12, Lower 13) keeps its row when it has no
message, and gets none of its own when it has some."""

from __future__ import annotations

from pathlib import Path

import pytest

from gorgias_sim import Simulator
from tests.support.cli import run_ok
from tests.support.outputs import read_csv

pytestmark = pytest.mark.sim(seed=2, tickets=60)


@pytest.mark.parametrize("filtered", [False, True], ids=["account", "filtered"])
def test_a_null_messages_count_drops_no_ticket_and_adds_no_row(
    sim: Simulator, tmp_path: Path, filtered: bool
) -> None:
    empty = [t for t in sim.dataset.tickets if t["messages_count"] == 0]
    full = next(t for t in sim.dataset.tickets if t["messages_count"] > 0)
    assert empty
    chosen = [*empty, full]
    flags = [f"--ticket-id={t['id']}" for t in chosen] if filtered else []
    clean = tmp_path / "clean.csv"
    run_ok(sim, "tickets", "--out", str(clean), *flags)
    with sim.dataset.lock:
        for ticket in chosen:
            ticket["messages_count"] = None
    nulls = tmp_path / "nulls.csv"
    run_ok(sim, "tickets", "--out", str(nulls), *flags)

    def rows(path: Path) -> list[dict[str, str]]:  # all but the count that was nulled
        return [{**row, "ticket_messages_count": ""} for row in read_csv(path)]

    assert rows(nulls) == rows(clean)
    without = [r for r in read_csv(nulls) if not r["message_id"]]
    assert {r["ticket_id"] for r in without} == {str(t["id"]) for t in empty}
