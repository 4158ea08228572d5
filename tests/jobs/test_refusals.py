"""Conflicts: an output, state or lock that is not this export's is refused (exit 7, one line)
and left as it was; the same export reached by another path is the same export."""

from __future__ import annotations

import itertools
import json
import signal
from pathlib import Path

import pytest

from gorgias_export.errors import ExitCode
from gorgias_export.jobs.state import export_lock
from gorgias_sim import Simulator
from tests.support.cli import assert_one_line_error, interrupt_at_request, run_cli
from tests.support.fakes import FakeTime

pytestmark = pytest.mark.sim(seed=2, tickets=60)


def test_an_existing_output_without_state_is_never_overwritten(
    sim: Simulator, tmp_path: Path
) -> None:
    out = tmp_path / "t.csv"
    out.write_text("my precious spreadsheet\n")
    result = run_cli(sim, "tickets", "--out", str(out))
    # Not the advice that destroyed an unrelated notes.csv (issue 12): --fresh is for our files.
    assert "--fresh" not in assert_one_line_error(result, ExitCode.CONFLICT)
    assert out.read_text() == "my precious spreadsheet\n"
    result = run_cli(sim, "tickets", "--out", str(out), "--fresh")
    assert "--overwrite" in assert_one_line_error(result, ExitCode.CONFLICT)
    assert out.read_text() == "my precious spreadsheet\n"
    assert run_cli(sim, "tickets", "--out", str(out), "--fresh", "--overwrite").exit_code == 0
    assert out.read_text().startswith("ticket_id,message_id,")


def test_a_state_from_another_export_or_a_corrupt_one_is_refused(
    sim: Simulator, tmp_path: Path
) -> None:
    out = tmp_path / "t.csv"
    assert run_cli(sim, "tickets", "--out", str(out)).exit_code == 0
    state = out.with_name("t.csv.state.json")
    before = (out.read_bytes(), state.read_bytes())
    result = run_cli(sim, "tickets", "--out", str(out), "--since", "2020-01-01")
    assert "since" in assert_one_line_error(result, ExitCode.CONFLICT)
    assert (out.read_bytes(), state.read_bytes()) == before
    state.write_bytes(before[1][: len(before[1]) // 2])  # a truncated state file
    result = run_cli(sim, "tickets", "--out", str(out))
    assert "corrupt" in assert_one_line_error(result, ExitCode.CONFLICT)
    assert out.read_bytes() == before[0]


def test_an_output_changed_behind_our_back_is_refused(sim: Simulator, tmp_path: Path) -> None:
    out = tmp_path / "t.csv"
    assert run_cli(sim, "tickets", "--out", str(out)).exit_code == 0
    out.write_text("someone else's data\n")
    result = run_cli(sim, "tickets", "--out", str(out))
    assert "shorter" in assert_one_line_error(result, ExitCode.CONFLICT)
    assert out.read_text() == "someone else's data\n"


def test_a_second_run_on_the_same_export_is_refused(sim: Simulator, tmp_path: Path) -> None:
    out = tmp_path / "t.csv"
    with export_lock(out):
        result = run_cli(sim, "tickets", "--out", str(out))
        assert "Another gorgias-export run" in assert_one_line_error(result, ExitCode.CONFLICT)
        # another --state does not get around it: the lock is on the output
        state = tmp_path / "elsewhere.state.json"
        result = run_cli(sim, "tickets", "--out", str(out), "--state", str(state))
        assert "Another gorgias-export run" in assert_one_line_error(result, ExitCode.CONFLICT)
    assert not out.exists()


def test_an_explicit_state_file_is_locked_too(sim: Simulator, tmp_path: Path) -> None:
    state = tmp_path / "shared.state.json"
    with export_lock(state):
        result = run_cli(sim, "tickets", "--out", str(tmp_path / "b.csv"), "--state", str(state))
    assert "Another gorgias-export run" in assert_one_line_error(result, ExitCode.CONFLICT)


def test_a_state_path_holding_other_data_is_never_overwritten(
    sim: Simulator, tmp_path: Path
) -> None:
    precious = tmp_path / "a.csv"
    precious.write_text("id,name\n1,precious\n")
    out = tmp_path / "b.csv"
    for extra in ([], ["--fresh"]):
        result = run_cli(sim, "tickets", "--out", str(out), "--state", str(precious), *extra)
        message = assert_one_line_error(result, ExitCode.CONFLICT)
        assert "not a gorgias-export state file" in message and "--fresh" not in message
    assert precious.read_text() == "id,name\n1,precious\n"
    result = run_cli(sim, "tickets", "--out", str(out), "--state", str(out))
    assert "--state must not be the --out file" in assert_one_line_error(result, ExitCode.USAGE)


def test_the_same_output_by_another_path_is_the_same_export(
    sim: Simulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "work").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "data")
    assert run_cli(sim, "tickets", "--out", str(tmp_path / "data" / "t.csv")).exit_code == 0
    monkeypatch.chdir(tmp_path / "work")
    for alias in ("../data/t.csv", str(tmp_path / "link" / "t.csv")):
        result = run_cli(sim, "tickets", "--out", alias)
        assert result.exit_code == 0 and "0 new rows" in result.stderr, result.stderr


@pytest.mark.parametrize(
    "damage",
    [
        {"seen": []},
        {"watermark_messages": 5},
        {"output_bytes": "12"},
        {"run": {"plan": "sideways"}},
        {"run": {"plan": "window", "started_at": "x", "tickets": {"after": [1, 2]}}},
    ],
)
def test_a_state_with_wrong_types_is_refused_not_a_crash(
    sim: Simulator, tmp_path: Path, damage: dict[str, object]
) -> None:
    out = tmp_path / "t.csv"
    assert run_cli(sim, "tickets", "--out", str(out)).exit_code == 0
    state_path = out.with_name("t.csv.state.json")
    document = json.loads(state_path.read_text())
    document["progress"].update(damage)
    state_path.write_text(json.dumps(document, indent=1))
    result = run_cli(sim, "tickets", "--out", str(out))
    assert "corrupt" in assert_one_line_error(result, ExitCode.CONFLICT)


@pytest.mark.sim(seed=23, tickets=250, cursor_ttl=60, fake_clock=True)
def test_get_resume_with_another_path_is_refused(sim: Simulator, tmp_path: Path) -> None:
    """The state's identity of `get` does not name the endpoint: an interrupted
    `get messages --out x.jsonl` followed by `get customers --out x.jsonl` continues the messages
    snapshot with customers, and the published file mixes both."""
    out = tmp_path / "x.jsonl"
    # Request 1 probes list-or-object, 2 is the first page, 3 the second (asked for ahead), 4
    # the third, asked for once the first page is saved in x.jsonl.partial: killed there.
    killed = interrupt_at_request(sim, out, 4, command=("get", "/api/messages"))
    assert killed.returncode == -signal.SIGKILL
    assert (tmp_path / "x.jsonl.partial").stat().st_size > 0
    result = run_cli(sim, "get", "/api/customers", "--out", str(out))
    assert result.exit_code == 7, result.stderr  # not a messages snapshot continued as customers
    assert "different export" in result.stderr


@pytest.mark.sim(seed=23, tickets=250, cursor_ttl=60, fake_clock=True)
def test_state_at_the_snapshot_partial_path_is_refused(sim: Simulator, tmp_path: Path) -> None:
    """`--state` is refused when it is the --out file, but not when it is `<out>.partial`, the
    snapshot's own file: the state is renamed over tags.csv at the end and the run exits 0 with
    tags.csv holding JSON state instead of the tags."""
    out = tmp_path / "tags.csv"
    result = run_cli(sim, "tags", "--out", str(out), "--state", str(tmp_path / "tags.csv.partial"))
    assert result.exit_code == 2 and result.stderr.count("\n") == 1, result.stderr
    assert not out.exists()


@pytest.mark.parametrize(
    ("command", "state_name"),
    [
        ("customers", "out.csv"),
        ("customers", "out.csv.partial"),
        ("tags", "out.csv"),
        ("tags", "out.csv.partial"),
    ],
)
def test_the_state_at_the_output_is_refused_with_the_previous_message(
    sim: Simulator, tmp_path: Path, command: str, state_name: str
) -> None:
    """Regression (found by the review of the redesign): the refactor promised the same
    messages. 0.1.0 refused `--state` at an entity's --out (or its .partial) with one sentence
    for every entity; jobs/lifecycle.open_target now says "...; choose another path for it." and
    drops "or its .partial snapshot" for entities that are not snapshots, even when the state
    named is that .partial."""
    out = tmp_path / "out.csv"
    result = run_cli(sim, command, "--out", str(out), "--state", str(tmp_path / state_name))
    stderr = assert_one_line_error(result, ExitCode.USAGE)
    assert stderr == (
        "gorgias-export: --state must not be the --out file or its .partial snapshot; "
        "choose another path.\n"
    )


def test_tickets_takes_a_state_named_like_a_partial_as_before(
    sim: Simulator, tmp_path: Path
) -> None:
    """Regression (found by the review of the redesign): `tickets` writes no snapshot, and 0.1.0
    ran `tickets --out t.csv --state t.csv.partial`; open_target now refuses it (exit 2) with "
    --state must not be the --out file", which it is not."""
    out = tmp_path / "t.csv"
    result = run_cli(sim, "tickets", "--out", str(out), "--state", str(tmp_path / "t.csv.partial"))
    assert result.exit_code == 0, result.stderr


def test_tickets_rows_without_state_in_a_database_keep_the_previous_message(
    sim: Simulator, tmp_path: Path
) -> None:
    """Regression (found by the review of the redesign): 0.1.0 said "already has rows in its
    tickets, messages, conversations tables"; DatabaseTarget.start words it "already has rows in
    tickets, messages, conversations"."""
    import sqlite3

    out = tmp_path / "t.db"
    assert run_cli(sim, "tickets", "--out", str(out)).exit_code == 0
    with sqlite3.connect(out) as db:
        db.execute("DELETE FROM _gorgias_export_state")
    db.close()
    result = run_cli(sim, "tickets", "--out", str(out))
    stderr = assert_one_line_error(result, ExitCode.CONFLICT)
    assert "already has rows in its tickets, messages, conversations tables" in stderr


def test_messages_fresh_into_a_tickets_mirror_is_refused_and_changes_nothing(
    sim: Simulator, tmp_path: Path
) -> None:
    """A change from 0.1.0, on purpose (found by the review): `messages --out t.db --fresh` over
    a database holding the tickets mirror emptied the mirror's `messages` table under the
    tickets command's state. --fresh means "start this export over", not "destroy another
    one": it is refused like the run without --fresh, and the database is left as it was."""
    out = tmp_path / "t.db"
    assert run_cli(sim, "tickets", "--out", str(out)).exit_code == 0
    before = out.read_bytes()
    result = run_cli(sim, "messages", "--out", str(out), "--fresh")
    stderr = assert_one_line_error(result, ExitCode.CONFLICT)
    assert "holds the tickets command's mirror" in stderr
    assert out.read_bytes() == before


@pytest.mark.sim(seed=2, tickets=400, cursor_ttl=60, fake_clock=True)
def test_an_api_that_refuses_each_cursor_it_gives_stops_the_run_instead_of_looping(
    sim: Simulator, clock: FakeTime, tmp_path: Path
) -> None:
    """Every cursor is a minute old when it arrives, so each one is refused: each restart from
    the top gets the same first page and the same cursor again. (After 300 requests the
    clock stops, so a run that loops ends all the same, much later.)"""
    requests = itertools.count(1)

    def age(record: object) -> None:
        if next(requests) <= 300:
            clock.now += 61

    sim.on_request = age
    result = run_cli(sim, "tickets", "--out", str(tmp_path / "t.csv"))
    assert result.exit_code == ExitCode.API, result.stderr
    assert "started over" in result.stderr.splitlines()[-1]
    assert "Traceback" not in result.stderr
    assert len(sim.requests) < 40
