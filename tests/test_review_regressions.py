"""Regressions found by an adversarial review of the entity exports: each failed before its fix.

Each docstring describes the failure as the review found it; the assertions state what is right.
"""

from __future__ import annotations

import itertools
import signal
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from gorgias_export.api.client import GorgiasClient
from gorgias_export.config import Secret, Settings
from gorgias_export.timeutil import parse_api_datetime
from gorgias_sim import Simulator, cursors
from gorgias_sim import api as sim_api
from gorgias_sim.keyset import Position
from gorgias_sim.replies import Reply, dumps, error
from tests.jobs.test_all_entities import files_of
from tests.support.account import EMAIL, SECRET_KEY
from tests.support.cli import kill_when, run_cli
from tests.support.exports import export_tickets
from tests.support.outputs import read_csv, read_jsonl, row_ids
from tests.support.simulator import entries, expected_ids, floor, is_hand_built

pytestmark = pytest.mark.sim(seed=23, tickets=250, cursor_ttl=60, fake_clock=True)


def ok(sim: Simulator, *args: str) -> Any:
    result = run_cli(sim, *args)
    assert result.exit_code == 0, result.stderr
    return result


# -- tickets --per ticket ------------------------------------------------------------------


def test_per_ticket_fresh_rewrites_every_ticket(sim: Simulator, tmp_path: Path) -> None:
    """`--fresh` starts the staging database's run numbers over at 1 but keeps its rows, and a
    ticket is only marked touched when its body differs from the staged one: a ticket last
    touched by run 2 is never emitted by the fresh run, which then lacks it."""
    out = tmp_path / "conversations.jsonl"
    per_ticket = ("tickets", "--per", "ticket", "--out", str(out))
    ok(sim, *per_ticket)
    changed = sim.dataset.tickets[10]
    sim.dataset.update_ticket(
        changed["id"], status="closed" if changed["status"] == "open" else "open"
    )
    ok(sim, *per_ticket)  # run 2: the changed ticket is written again, last
    ok(sim, *per_ticket, "--fresh")
    ids = [line["id"] for line in read_jsonl(out)]
    assert sorted(ids) == sorted(t["id"] for t in sim.dataset.tickets)


# -- get -------------------------------------------------------------------------------------


# -- snapshots (full reads) --------------------------------------------------------------------


def interrupt_after_finishing_save(monkeypatch: pytest.MonkeyPatch, module: Any) -> None:
    """Ctrl-C right after the state that says "snapshot complete, being moved" is on disk,
    before `<out>.partial` is renamed over `<out>` (triggered by that state write)."""
    real = module.save_state
    fired = itertools.count()

    def save_state(path: Path, identity: dict[str, Any], progress: dict[str, Any]) -> None:
        real(path, identity, progress)
        run = progress.get("run") or {}
        if run.get("finishing") and next(fired) == 0:
            raise KeyboardInterrupt

    monkeypatch.setattr(module, "save_state", save_state)


def test_snapshot_resumed_after_its_finishing_save_leaves_no_partial(
    sim: Simulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The resume renames `<out>.partial` over `<out>`, then its final checkpoint opens the sink
    for the first time, on the path `<out>.partial`: O_CREAT makes it again and truncate()
    extends it to the snapshot's length in NUL bytes, a junk file left beside the output."""
    from gorgias_export.jobs import state as entity_job

    out = tmp_path / "tags.csv"
    interrupt_after_finishing_save(monkeypatch, entity_job)
    assert run_cli(sim, "tags", "--out", str(out)).exit_code == 130
    monkeypatch.undo()
    ok(sim, "tags", "--out", str(out))
    assert {r["id"] for r in read_csv(out)} == {
        str(t["id"]) for t in sim.dataset.entity_items("tags")
    }
    partial = tmp_path / "tags.csv.partial"
    assert not partial.exists(), f"left behind: {partial.read_bytes()[:16]!r}"


def test_snapshot_output_survives_a_failed_final_save_after_a_finishing_resume(
    sim: Simulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same junk `<out>.partial` (NUL bytes) becomes the output: resume 1 renames the real
    snapshot into place, recreates `.partial` as NULs, then its last state save fails (disk
    full, exit 6); resume 2 still sees "finishing" and renames the NUL file over `tags.csv`."""
    from gorgias_export.errors import OutputError
    from gorgias_export.jobs import state as entity_job

    out = tmp_path / "tags.csv"
    interrupt_after_finishing_save(monkeypatch, entity_job)
    assert run_cli(sim, "tags", "--out", str(out)).exit_code == 130
    monkeypatch.undo()

    real = getattr(entity_job, "save_state")  # noqa: B009

    def full_disk_at_the_end(
        path: Path, identity: dict[str, Any], progress: dict[str, Any]
    ) -> None:
        if progress.get("run") is None:
            raise OutputError("Could not save progress (No space left on device).")
        real(path, identity, progress)

    monkeypatch.setattr(entity_job, "save_state", full_disk_at_the_end)
    assert run_cli(sim, "tags", "--out", str(out)).exit_code == 6
    monkeypatch.undo()
    assert b"\x00" not in out.read_bytes()  # holds after the failed run already
    ok(sim, "tags", "--out", str(out))
    data = out.read_bytes()
    assert b"\x00" not in data, f"tags.csv is {data[:16]!r}..."
    assert {r["id"] for r in read_csv(out)} == {
        str(t["id"]) for t in sim.dataset.entity_items("tags")
    }


# -- all ---------------------------------------------------------------------------------------


def test_all_fresh_interrupted_can_be_continued(sim: Simulator, tmp_path: Path) -> None:
    """After `all --fresh` is interrupted, the rerun without --fresh (which is how a single
    command's interrupted --fresh run is continued) is refused with exit 7: the fresh state
    forgot the entities not reached yet, while their old files are still in DIR. Rerunning with
    --fresh instead starts every entity over, so the interrupted progress cannot be used."""
    out = tmp_path / "backup"
    ok(sim, "all", "--out-dir", str(out))
    clean = files_of(out)
    returncode = kill_when(
        sim,
        lambda record, seen: record.path == "/api/customers" and seen.count("/api/customers") == 2,
        "all",
        "--out-dir",
        str(out),
        "--fresh",
    )
    assert returncode == -signal.SIGKILL
    result = run_cli(sim, "all", "--out-dir", str(out))
    assert result.exit_code == 0, result.stderr
    assert files_of(out) == clean  # the same data: the same files as the uninterrupted run


def test_get_of_an_object_without_id_resumed_after_its_checkpoint_writes_it_once(
    sim: Simulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`get /api/account`: the object has no `id`, so nothing records that it was written; a
    Ctrl-C after the checkpoint that counts it (before the snapshot is sealed) and a rerun give
    a file with the account twice."""
    from gorgias_export.jobs import state as entity_job

    real = getattr(entity_job, "save_state")  # noqa: B009
    fired = itertools.count()

    def save_state(path: Path, identity: dict[str, Any], progress: dict[str, Any]) -> None:
        real(path, identity, progress)
        run = progress.get("run") or {}
        counted = run and not run.get("finishing") and progress["output_bytes"] > 0
        if counted and next(fired) == 0:
            raise KeyboardInterrupt

    out = tmp_path / "account.jsonl"
    monkeypatch.setattr(entity_job, "save_state", save_state)
    assert run_cli(sim, "get", "/api/account", "--out", str(out)).exit_code == 130
    monkeypatch.undo()
    ok(sim, "get", "/api/account", "--out", str(out))
    assert len(read_jsonl(out)) == 1


# -- --state -----------------------------------------------------------------------------------


def test_get_state_does_not_grow_with_every_page_read(
    sim: Simulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A full read keeps the id of every object it wrote in the state (`run.recent`, never
    pruned) and saves the state after every page: for `get /api/tickets` on a million tickets
    that is a state of tens of MB rewritten and fsynced 10,000 times (quadratic bytes)."""
    from gorgias_export.jobs import state as entity_job

    real = getattr(entity_job, "save_state")  # noqa: B009
    sizes: list[int] = []

    def save_state(path: Path, identity: dict[str, Any], progress: dict[str, Any]) -> None:
        real(path, identity, progress)
        if progress.get("run") and progress["output_bytes"] > 0:
            sizes.append(path.stat().st_size)

    monkeypatch.setattr(entity_job, "save_state", save_state)
    ok(sim, "get", "/api/messages", "--out", str(tmp_path / "messages.jsonl"))
    assert len(sizes) >= 8
    assert sizes[-1] < 2 * sizes[0], f"state bytes per checkpoint: {sizes}"


def test_messages_entity_beside_the_tickets_mirror_is_refused_without_a_harmful_hint(
    sim: Simulator, tmp_path: Path
) -> None:
    """`messages --out mirror.db` after `tickets --out mirror.db`: both would own `messages`.
    The refusal must not advise --fresh, which would empty the mirror's messages table."""
    db = tmp_path / "mirror.db"
    ok(sim, "tickets", "--out", str(db))
    result = run_cli(sim, "messages", "--out", str(db))
    assert result.exit_code == 7
    assert "--fresh" not in result.stderr and "every message" in result.stderr


def test_one_future_dated_message_does_not_stop_later_reruns(
    sim: Simulator, tmp_path: Path
) -> None:
    """The CREATED watermark is the newest creation time seen, unbounded by the run's start
    (UPDATED is bounded by it): one message dated in the future (an import, a skewed clock)
    moves every later window past the present, and new messages are never exported."""
    from datetime import UTC, datetime

    out = tmp_path / "messages.csv"
    ticket = sim.dataset.tickets[-1]
    sim.dataset.add_message(ticket["id"], created=datetime(2099, 1, 1, tzinfo=UTC))
    ok(sim, "messages", "--out", str(out))
    added = sim.dataset.add_message(ticket["id"])
    ok(sim, "messages", "--out", str(out))
    assert str(added["id"]) in {row["id"] for row in read_csv(out)}


# -- tickets: the first run's split message listing (meeting.py) -------------------------------


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
    ok(sim, "tickets", "--out", str(out))
    assert row_ids(read_csv(out)) == expected_ids(sim)
    assert sim.count() <= floor(sim) + 3


@pytest.mark.sim(seed=2, tickets=700, cursor_ttl=3600, fake_clock=True)  # refuses them
def test_an_api_that_refuses_hand_built_cursors_is_asked_once(
    sim: Simulator, tmp_path: Path
) -> None:
    """Each middle entry was tried on its own, though both have the same shape: two certain
    refusals, and the split point still cut the listing into two stretches (each ending on a
    part-used page) that the two ends then read: floor + 4 requests."""
    out = tmp_path / "tickets.csv"
    ok(sim, "tickets", "--out", str(out))
    assert row_ids(read_csv(out)) == expected_ids(sim)
    assert [record.status for record in entries(sim)] == [400]
    assert sim.count() <= floor(sim) + 3


@pytest.mark.sim(seed=11, tickets=700)
def test_an_api_that_misreads_the_split_cursor_loses_no_message(
    sim: Simulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each middle entry was checked on its own: a page wholly past the split point passed. An
    API that reads a cursor's time to the second enters the walk down below the sub-second
    before the split point (a page wholly past it: taken), and the walk up just as low (caught,
    so that walk ended and the newest-first walk read down to the split point only): the
    messages created in that sub-second were in no walk's stretch and were never written."""
    ok(sim, "tickets", "--out", str(tmp_path / "first.csv"))
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
    ok(sim, "tickets", "--out", str(out))
    assert cursors.decode(entries(sim)[0].query["cursor"][0])[1] == split  # same split
    assert str(added["id"]) in {row["message_id"] for row in read_csv(out)}
    assert row_ids(read_csv(out)) == expected_ids(sim)


@pytest.mark.sim(seed=11, tickets=700)
def test_an_api_that_answers_the_split_cursor_with_a_5xx_still_finishes(
    sim: Simulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Only a 4xx on the hand-built cursor ended the middle walk. Whether the real API takes
    such a cursor is unsure, and one it cannot read may well crash it (500): the run stopped
    with "progress is saved, rerun later", and every rerun stopped again at the same request,
    so the export could never finish."""
    real = sim._api.get

    def crashes_on_hand_built(target: str, path: str, query: Any, ttl: Any) -> Reply:
        token = (query.get("cursor") or [None])[0]
        if is_hand_built(token):
            return error(500, "Internal server error.")
        return real(target, path, query, ttl)

    monkeypatch.setattr(sim._api, "get", crashes_on_hand_built)
    out = tmp_path / "tickets.csv"
    settings = Settings(base_url=sim.url, email=EMAIL, api_key=Secret(SECRET_KEY))
    # No real sleeping, no retry budget: the 500s are given up on at once.
    client = GorgiasClient(settings, sleep=lambda seconds: None, retry_budget=0.0)
    result = export_tickets(client, out)
    assert result.status.complete
    assert entries(sim) and row_ids(read_csv(out)) == expected_ids(sim)


@pytest.mark.sim(seed=11, tickets=700)
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
    ok(sim, "tickets", "--out", str(out))
    assert entries(sim)
    assert row_ids(read_csv(out)) == expected_ids(sim)
