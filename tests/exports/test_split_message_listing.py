"""The first run reads the message listing from four walks: both ends, and both ways from a
split point entered with a hand-built cursor (meeting.py). Against the simulator, which takes
such cursors, and against one that refuses them (whether the real API does is unsure)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from gorgias_export.api.client import GorgiasClient
from gorgias_export.config import Secret, Settings
from gorgias_sim import RequestRecord, Simulator, cursors
from tests.support.account import EMAIL, SECRET_KEY
from tests.support.cli import kill_when, run_cli
from tests.support.exports import conversation_export
from tests.support.outputs import read_csv, row_ids
from tests.support.simulator import entries, expected_ids, floor, is_hand_built

pytestmark = pytest.mark.sim(seed=11, tickets=700)

# With a TTL the simulator only takes cursors it issued (hand-built ones are refused), and a fake
# clock keeps the ones it issued from expiring during a test.
REFUSES_HAND_BUILT: dict[str, Any] = {"cursor_ttl": 3600, "fake_clock": True}


def export(sim: Simulator, out: Path) -> list[dict[str, str]]:
    result = run_cli(sim, "tickets", "--out", str(out))
    assert result.exit_code == 0, result.stderr
    rows = read_csv(out)
    assert row_ids(rows) == expected_ids(sim) and max(row_ids(rows).values()) == 1
    return rows


def test_the_first_run_enters_the_message_listing_in_the_middle(
    sim: Simulator, tmp_path: Path
) -> None:
    export(sim, tmp_path / "tickets.csv")
    entered = entries(sim)
    assert [(r.path, r.query["order_by"][0], r.status) for r in entered] == [
        ("/api/messages", "created_datetime:desc", 200),
        ("/api/messages", "created_datetime:asc", 200),
    ]
    split = cursors.decode(entered[0].query["cursor"][0])[1]
    assert cursors.decode(entered[1].query["cursor"][0])[1] == split
    # Four message walks met in two places; each stretch ends on a part-used page at most.
    assert sim.count() <= floor(sim) + 3
    orders = [r.query["order_by"][0] for r in sim.requests if r.path == "/api/messages"]
    assert orders.count("created_datetime:asc") > 2 and orders.count("created_datetime:desc") > 2


@pytest.mark.sim(seed=11, tickets=700, **REFUSES_HAND_BUILT)
def test_an_api_that_refuses_hand_built_cursors_gets_every_row_from_the_ends(
    sim: Simulator, tmp_path: Path
) -> None:
    export(sim, tmp_path / "tickets.csv")
    # One refusal is enough: the other entry has the same shape, and is not tried.
    assert [r.status for r in entries(sim)] == [400]
    assert sim.count() <= floor(sim) + 3


def test_the_split_export_reruns_incrementally(sim: Simulator, tmp_path: Path) -> None:
    out = tmp_path / "tickets.csv"
    export(sim, out)
    sim.reset_stats()
    added = sim.dataset.add_message(sim.dataset.tickets[0]["id"])
    rows = export(sim, out)
    assert rows[-1]["message_id"] == str(added["id"])
    assert not entries(sim)  # incremental runs read newest first


@pytest.mark.parametrize("after_entry", [0, 1, 4, 9])
def test_kill_9_while_four_walks_run_resumes_to_the_same_bytes(
    sim: Simulator, tmp_path: Path, after_entry: int
) -> None:
    clean = tmp_path / "clean.csv"
    export(sim, clean)
    sim.reset_stats()
    out = tmp_path / "tickets.csv"
    entered: list[int] = []

    def nth_request_after_the_split(record: RequestRecord, paths: list[str]) -> bool:
        if is_hand_built(record.query.get("cursor", [None])[0]) and not entered:
            entered.append(len(paths))
        return bool(entered) and len(paths) == entered[0] + after_entry

    status = kill_when(sim, nth_request_after_the_split, "tickets", "--out", str(out))
    assert status == -9
    export(sim, out)
    assert out.read_bytes() == clean.read_bytes()


def test_the_split_is_saved_with_the_page_it_was_decided_on(sim: Simulator, tmp_path: Path) -> None:
    """Regression: the split point was once saved one checkpoint after the newest-first walk's
    first page, so a run killed in between decided it again on a later page, and the resumed
    run wrote its rows in another order than an uninterrupted one."""
    saved: list[dict[str, Any]] = []
    settings = Settings(base_url=sim.url, email=EMAIL, api_key=Secret(SECRET_KEY))
    export, sink = conversation_export(
        GorgiasClient(settings),
        tmp_path / "tickets.csv",
        lambda progress: saved.append(json.loads(json.dumps(progress.to_json()))),
    )
    export.run()
    sink.close()
    runs = [state["run"] for state in saved if state["run"] is not None]
    newest_started = [run for run in runs if run["messages_desc"]["after"] is not None]
    assert newest_started and all(run["split_at"] for run in newest_started)
