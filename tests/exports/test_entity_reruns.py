"""Entity commands run again: a rerun adds only what changed since (appended, or upserted in
SQLite), and an interrupted run resumes to the bytes of a clean one."""

from __future__ import annotations

import itertools
import signal
from pathlib import Path

import pytest

from gorgias_export.api.client import GorgiasClient
from gorgias_export.config import Secret, Settings
from gorgias_export.errors import OutputError
from gorgias_export.exports.entities import EntityExport
from gorgias_export.exports.progress import EntityProgress
from gorgias_export.jobs.entities import encoder_for, shaper_for
from gorgias_export.output.writers import RowSink
from gorgias_export.resources import ENTITY_BY_NAME
from gorgias_sim import Simulator
from tests.support.account import EMAIL, SECRET_KEY
from tests.support.cli import interrupt_at_request, run_ok
from tests.support.outputs import read_csv, read_jsonl, table_rows

pytestmark = pytest.mark.sim(seed=11, tickets=250, cursor_ttl=60, fake_clock=True)


def test_a_messages_rerun_appends_only_the_new_ones(sim: Simulator, tmp_path: Path) -> None:
    out = tmp_path / "messages.csv"
    run_ok(sim, "messages", "--out", str(out))
    first = out.read_bytes()
    ticket = sim.dataset.tickets[-1]
    added = [sim.dataset.add_message(ticket["id"]) for _ in range(3)]
    run_ok(sim, "messages", "--out", str(out))
    assert out.read_bytes().startswith(first)
    ids = [row["id"] for row in read_csv(out)]
    assert len(ids) == len(set(ids)) == len(sim.dataset.messages)
    assert ids[-3:] == [str(m["id"]) for m in reversed(added)]  # newest first, after the rest
    run_ok(sim, "messages", "--out", str(out))  # nothing new: nothing written
    assert len(read_csv(out)) == len(sim.dataset.messages)


@pytest.mark.sim(seed=23, tickets=250, cursor_ttl=60, fake_clock=True)
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
    run_ok(sim, "messages", "--out", str(out))
    added = sim.dataset.add_message(ticket["id"])
    run_ok(sim, "messages", "--out", str(out))
    assert str(added["id"]) in {row["id"] for row in read_csv(out)}


@pytest.mark.parametrize("request_number", [1, 3, 7])
def test_kill_9_then_rerun_gives_the_clean_messages_file(
    sim: Simulator, tmp_path: Path, request_number: int
) -> None:
    clean = tmp_path / "clean.csv"
    run_ok(sim, "messages", "--out", str(clean))
    out = tmp_path / "messages.csv"
    killed = interrupt_at_request(sim, out, request_number, command=("messages",))
    assert killed.returncode == -signal.SIGKILL
    run_ok(sim, "messages", "--out", str(out))
    assert out.read_bytes() == clean.read_bytes()


def test_customers_rerun_appends_new_and_changed_customers_only(
    sim: Simulator, tmp_path: Path
) -> None:
    out = tmp_path / "customers.csv"
    run_ok(sim, "customers", "--out", str(out))
    before = read_csv(out)
    old = sim.dataset.entity_items("customers")[3]
    changed = sim.dataset.update_customer(old["id"], note='VIP, see "notes"\nline 2 🎉')
    added = sim.dataset.add_customer(email="new@example.com")
    run_ok(sim, "customers", "--out", str(out))
    after = read_csv(out)
    assert after[: len(before)] == before
    new_rows = after[len(before) :]
    assert sorted(row["id"] for row in new_rows) == sorted([str(changed["id"]), str(added["id"])])
    assert next(r for r in new_rows if r["id"] == str(old["id"]))["note"] == changed["note"]
    run_ok(sim, "customers", "--out", str(out))
    assert len(read_csv(out)) == len(after)


def test_events_rerun_asks_the_server_for_the_new_ones_only(sim: Simulator, tmp_path: Path) -> None:
    out = tmp_path / "events.jsonl"
    run_ok(sim, "events", "--out", str(out))
    count = len(read_jsonl(out))
    ticket = sim.dataset.tickets[0]
    event = sim.dataset.add_event("ticket-deleted", "Ticket", ticket["id"])
    sim.reset_stats()
    run_ok(sim, "events", "--out", str(out))
    rows = read_jsonl(out)
    assert [row["id"] for row in rows[count:]] == [event["id"]]
    assert sim.requests and all("created_datetime[gte]" in r.query for r in sim.requests)


def test_surveys_rerun_writes_a_survey_again_when_its_score_changes(
    sim: Simulator, tmp_path: Path
) -> None:
    out = tmp_path / "surveys.csv"
    run_ok(sim, "satisfaction-surveys", "--out", str(out))
    before = read_csv(out)
    survey = sim.dataset.entity_items("satisfaction-surveys")[0]  # newest: in the lookback
    new_score = 1 if survey.get("score") != 1 else 5
    sim.dataset.score_survey(survey["id"], new_score)
    run_ok(sim, "satisfaction-surveys", "--out", str(out))
    after = read_csv(out)
    assert [(r["id"], r["score"]) for r in after[len(before) :]] == [
        (str(survey["id"]), str(new_score))
    ]


def test_a_sqlite_rerun_updates_changed_rows_and_drops_deleted_configuration(
    sim: Simulator, tmp_path: Path
) -> None:
    db = tmp_path / "mirror.db"
    run_ok(sim, "customers", "--out", str(db))
    run_ok(sim, "tags", "--out", str(db))
    customer = sim.dataset.entity_items("customers")[0]
    sim.dataset.update_customer(customer["id"], note="changed")
    tags = sim.dataset.entity_items("tags")
    sim.dataset.delete_config("tags", tags[0]["id"])
    run_ok(sim, "customers", "--out", str(db))
    run_ok(sim, "tags", "--out", str(db))
    customers = table_rows(db, "customers")
    assert len(customers) == len(sim.dataset.entity_items("customers"))
    assert customers[str(customer["id"])]["note"] == "changed"
    assert sorted(table_rows(db, "tags")) == sorted(str(t["id"]) for t in tags[1:])


@pytest.mark.parametrize("interrupt", [KeyboardInterrupt, OutputError])
def test_a_failure_inside_a_state_save_never_leaves_the_file_shorter_than_the_state(
    sim: Simulator, tmp_path: Path, interrupt: type[BaseException]
) -> None:
    """Ctrl-C may land just after the new state did; a failed save (disk full) did not land."""
    out = tmp_path / "messages.csv"
    entity = ENTITY_BY_NAME["messages"]
    on_disk: dict[str, int] = {}
    calls = itertools.count(1)

    def checkpoint(progress: EntityProgress) -> None:
        if next(calls) == 3:
            if interrupt is OutputError:
                raise OutputError("disk full")  # nothing saved
            on_disk["bytes"] = progress.output_bytes  # saved, then interrupted
            raise KeyboardInterrupt
        on_disk["bytes"] = progress.output_bytes

    client = GorgiasClient(Settings(base_url=sim.url, email=EMAIL, api_key=Secret(SECRET_KEY)))
    sink = RowSink(encoder_for(entity, "csv"), str(out))
    export = EntityExport(
        client, entity, sink, shaper_for(entity, "csv"), EntityProgress(), checkpoint
    )
    with pytest.raises(interrupt):
        export.run()
    sink.close()
    assert out.stat().st_size == on_disk["bytes"]
