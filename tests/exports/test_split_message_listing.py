"""The first run reads the message listing from four walks: both ends, and both ways from a
split point entered with a hand-built cursor (meeting.py). Against the simulator, which takes
such cursors, against one that refuses them (whether the real API does is unsure), and against
ones that misread such a cursor, fail on it or answer it with an empty page."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from gorgias_export.api.client import GorgiasClient
from gorgias_export.config import Secret, Settings
from gorgias_export.timeutil import parse_api_datetime
from gorgias_sim import RequestRecord, Simulator, cursors
from gorgias_sim import api as sim_api
from gorgias_sim.keyset import Position
from gorgias_sim.replies import Reply, dumps
from tests.support.account import EMAIL, SECRET_KEY
from tests.support.cli import kill_when, run_cli, run_ok
from tests.support.exports import conversation_export, export_tickets
from tests.support.fakes import FakeTime
from tests.support.outputs import read_csv, row_ids
from tests.support.simulator import entries, expected_ids, floor, is_hand_built

pytestmark = pytest.mark.sim(seed=11, tickets=700)

# The simulator takes cursors built in the real encoding unless told otherwise; whether the real
# API does is unsure.
REFUSES_HAND_BUILT: dict[str, Any] = {"built_cursors": "refuse-4xx"}


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


@pytest.mark.parametrize(
    "sim",
    [{"tickets": 230, "seed": 3}, {"tickets": 399, "seed": 6}, {"tickets": 800, "seed": 6}],
    ids=["230-3", "399-6", "800-6"],
    indirect=True,
)
def test_a_first_run_stays_within_three_requests_of_the_floor(
    sim: Simulator, tmp_path: Path
) -> None:
    """Six walks, each asking for its next page ahead near where it meets its partner: a
    walk's first page always asked for its second (the gap was judged from a position the walk
    did not have yet), and the gap to a partner was judged as if the partner stood still,
    although it reads a page toward the walk before the page asked for is processed. Each
    meeting point could waste a page: floor + 4 on these accounts (floor + 1 before the split)."""
    out = tmp_path / "tickets.csv"
    run_ok(sim, "tickets", "--out", str(out))
    assert row_ids(read_csv(out)) == expected_ids(sim)
    assert sim.count() <= floor(sim) + 3


@pytest.mark.sim(seed=11, tickets=700, **REFUSES_HAND_BUILT)
def test_an_api_that_refuses_hand_built_cursors_gets_every_row_from_the_ends(
    sim: Simulator, tmp_path: Path
) -> None:
    export(sim, tmp_path / "tickets.csv")
    # One refusal is enough: the other entry has the same shape, and is not tried.
    assert [r.status for r in entries(sim)] == [400]
    assert sim.count() <= floor(sim) + 3


@pytest.mark.sim(seed=2, tickets=700, **REFUSES_HAND_BUILT)
def test_an_api_that_refuses_hand_built_cursors_is_asked_once(
    sim: Simulator, tmp_path: Path
) -> None:
    """Each middle entry was tried on its own, though both have the same shape: two certain
    refusals, and the split point still cut the listing into two stretches (each ending on a
    part-used page) that the two ends then read: floor + 4 requests."""
    out = tmp_path / "tickets.csv"
    run_ok(sim, "tickets", "--out", str(out))
    assert row_ids(read_csv(out)) == expected_ids(sim)
    assert [record.status for record in entries(sim)] == [400]
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


# -- APIs that answer the hand-built cursor otherwise than the simulator ----------------------


def test_an_api_that_misreads_the_split_cursor_loses_no_message(
    sim: Simulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each middle entry was checked on its own: a page wholly past the split point passed. An
    API that reads a cursor's time to the second enters the walk down below the sub-second
    before the split point (a page wholly past it: taken), and the walk up just as low (caught,
    so that walk ended and the newest-first walk read down to the split point only): the
    messages created in that sub-second were in no walk's stretch and were never written."""
    run_ok(sim, "tickets", "--out", str(tmp_path / "first.csv"))
    split = cursors.decode(entries(sim)[0].query["cursor"][0])[1]
    assert isinstance(split, str)
    moment = parse_api_datetime(split)
    assert moment is not None and moment.microsecond >= 300_000
    added = sim.dataset.add_message(
        sim.dataset.tickets[0]["id"], created=moment - timedelta(milliseconds=300)
    )
    real = sim_api.read_position

    def to_the_second(*args: Any) -> Position | None:
        position = real(*args)
        if position is None or position.key[1] != 0:
            return position
        microseconds = position.key[0]
        return Position(position.kind, (microseconds - microseconds % 1_000_000, 0))

    monkeypatch.setattr(sim_api, "read_position", to_the_second)
    sim.reset_stats()
    out = tmp_path / "tickets.csv"
    run_ok(sim, "tickets", "--out", str(out))
    assert cursors.decode(entries(sim)[0].query["cursor"][0])[1] == split  # same split
    assert str(added["id"]) in {row["message_id"] for row in read_csv(out)}
    assert row_ids(read_csv(out)) == expected_ids(sim)


@pytest.mark.parametrize(
    "sim",
    [
        {"seed": 11, "tickets": 700, "built_cursors": status}
        for status in ("refuse-4xx", "refuse-5xx")
    ],
    ids=["4xx", "5xx"],
    indirect=True,
)
def test_an_api_that_answers_the_split_cursor_with_an_error_costs_one_request(
    sim: Simulator, tmp_path: Path
) -> None:
    """The split point's request is optional: one try, whatever the error. It was once retried
    like any other: an API that answers a cursor it cannot read with a 500 (unsure, but
    possible) stalled every first run for the whole ten-minute retry budget, and before that
    failed it, so that every rerun stopped again at the same request."""
    out = tmp_path / "tickets.csv"
    settings = Settings(base_url=sim.url, email=EMAIL, api_key=Secret(SECRET_KEY))
    time = FakeTime()  # a retry would show as a sleep, and use up its budget at once
    result = export_tickets(GorgiasClient(settings, sleep=time.sleep, clock=time.clock), out)
    assert result.status.complete and row_ids(read_csv(out)) == expected_ids(sim)
    assert [r.status for r in entries(sim)] in ([400], [500])
    assert time.sleeps == [] and sim.count() <= floor(sim) + 3  # the same run as after a 400


def test_an_api_that_answers_the_split_cursor_with_an_empty_page_loses_no_message(
    sim: Simulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An entry was checked by its items lying past the split point, which an empty page passes.
    An API that answers a cursor naming no item (id 0) with an empty last page, as a lookup of
    the item would, ended the walk down from the split point as if it had read to the bottom of
    the listing, and with it the oldest-first walk: every message between the oldest-first
    walk's position and the split point was never written. (Neither entry can be empty for real:
    both ends have read messages on either side of the split point before it is made.)"""
    real = sim._api.get

    def nothing_after_hand_built(target: str, path: str, query: Any, ttl: Any) -> Reply:
        token = (query.get("cursor") or [None])[0]
        if is_hand_built(token):
            meta = {"prev_cursor": None, "next_cursor": None}
            body = {"object": "list", "uri": target, "data": [], "meta": meta}
            return Reply(200, dumps(body))
        return real(target, path, query, ttl)

    monkeypatch.setattr(sim._api, "get", nothing_after_hand_built)
    out = tmp_path / "tickets.csv"
    run_ok(sim, "tickets", "--out", str(out))
    assert entries(sim)
    assert row_ids(read_csv(out)) == expected_ids(sim)
