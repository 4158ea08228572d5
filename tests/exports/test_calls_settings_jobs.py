"""Phone calls (with their events and recordings), account settings and jobs, in every format,
and their reruns; account settings in each shape the API may answer (docs/entities.md)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gorgias_export.errors import ExitCode
from gorgias_sim import Simulator
from tests.support.account import EMAIL, SECRET_KEY
from tests.support.cli import assert_one_line_error, run_cli, run_ok
from tests.support.fake_api import FakeApi
from tests.support.outputs import read_csv, read_jsonl, table_rows

pytestmark = pytest.mark.sim(seed=11, tickets=300, cursor_ttl=60, fake_clock=True)

CALLS = "phone/voice-calls"


def test_calls_keep_their_summaries_and_recordings_their_private_marks(
    sim: Simulator, tmp_path: Path
) -> None:
    calls = read_csv(run_ok_csv(sim, tmp_path, "voice-calls"))
    summarized = [c for c in calls if c["summaries"] not in ("", "[]")]
    assert summarized and len(summarized) < len(calls)
    expected = {str(c["id"]): c["summaries"] for c in sim.dataset.entity_items(CALLS)}
    for row in summarized:
        assert json.loads(row["summaries"]) == expected[row["id"]]
        assert json.loads(row["summaries"])[0]["summary"]
    recordings = read_csv(run_ok_csv(sim, tmp_path, "voice-call-recordings"))
    private = [r for r in recordings if r["error_code"] == "RECORDING_IS_PRIVATE"]
    assert private and all(r["url"] == "" for r in private)
    assert any(r["url"].startswith("https://") for r in recordings)
    assert not [request for request in sim.requests if "uploads" in request.path]


def run_ok_csv(sim: Simulator, tmp_path: Path, name: str) -> Path:
    out = tmp_path / f"{name}.csv"
    run_ok(sim, name, "--out", str(out))
    return out


def test_voice_calls_filter_by_ticket(sim: Simulator, tmp_path: Path) -> None:
    call = sim.dataset.entity_items(CALLS)[2]
    out = tmp_path / "calls.jsonl"
    run_ok(sim, "voice-calls", "--ticket-id", str(call["ticket_id"]), "--out", str(out))
    assert [row["id"] for row in read_jsonl(out)] == [call["id"]]
    assert all(r.query.get("ticket_id") == [str(call["ticket_id"])] for r in sim.requests)


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_a_rerun_adds_new_calls_once_and_writes_a_changed_call_again(
    sim: Simulator, tmp_path: Path, fmt: str
) -> None:
    calls_out = tmp_path / f"calls.{fmt}"
    events_out = tmp_path / f"call-events.{fmt}"
    run_ok(sim, "voice-calls", "--out", str(calls_out))
    run_ok(sim, "voice-call-events", "--out", str(events_out))
    read = read_csv if fmt == "csv" else read_jsonl
    first_calls, first_events = read(calls_out), read(events_out)
    newest = sim.dataset.entity_items(CALLS)[0]
    summary = [{"id": 1, "recording_id": 2, "summary": "Called back.", "created_datetime": None}]
    sim.dataset.update_config(CALLS, newest["id"], summaries=summary)
    added = sim.dataset.add_voice_call(sim.dataset.tickets[-1]["id"])
    run_ok(sim, "voice-calls", "--out", str(calls_out))
    run_ok(sim, "voice-call-events", "--out", str(events_out))
    calls, call_events = read(calls_out), read(events_out)
    assert calls[: len(first_calls)] == first_calls  # appended, never rewritten
    later = {str(row["id"]) for row in calls[len(first_calls) :]}
    assert later == {str(newest["id"]), str(added["id"])}
    assert call_events[: len(first_events)] == first_events
    new_events = [row for row in call_events[len(first_events) :]]
    assert new_events and {str(row["call_id"]) for row in new_events} == {str(added["id"])}
    # A third run with nothing new writes nothing.
    run_ok(sim, "voice-calls", "--out", str(calls_out))
    assert len(read(calls_out)) == len(calls)


def test_voice_entities_in_sqlite_are_kept_current(sim: Simulator, tmp_path: Path) -> None:
    db = tmp_path / "calls.db"
    run_ok(sim, "voice-calls", "--out", str(db))
    newest = sim.dataset.entity_items(CALLS)[0]
    sim.dataset.update_config(CALLS, newest["id"], status="completed", duration=4242)
    run_ok(sim, "voice-calls", "--out", str(db))
    rows = table_rows(db, "voice_calls")
    assert len(rows) == len(sim.dataset.entity_items(CALLS))
    assert rows[str(newest["id"])]["duration"] == 4242
    extra = json.loads(rows[str(newest["id"])]["extra_fields"])
    assert extra["extensions"]["kind"] == "voice-call"  # a field we do not know, kept


def test_jobs_are_a_snapshot_replaced_on_each_run(sim: Simulator, tmp_path: Path) -> None:
    out = tmp_path / "jobs.csv"
    run_ok(sim, "jobs", "--out", str(out))
    jobs = sim.dataset.entity_items("jobs")
    assert sorted(r["id"] for r in read_csv(out)) == sorted(str(j["id"]) for j in jobs)
    sim.dataset.delete_config("jobs", jobs[0]["id"])
    sim.dataset.update_config("jobs", jobs[1]["id"], status="done")
    run_ok(sim, "jobs", "--out", str(out))
    rows = read_csv(out)
    assert sorted(r["id"] for r in rows) == sorted(str(j["id"]) for j in jobs[1:])
    assert next(r for r in rows if r["id"] == str(jobs[1]["id"]))["status"] == "done"


@pytest.mark.parametrize("shape", ["list", "array", "object"])
def test_account_settings_whatever_shape_the_api_answers(
    sim: Simulator, tmp_path: Path, shape: str
) -> None:
    sim.config.account_settings_shape = shape
    settings = sim.dataset.entity_items("account/settings")
    jsonl, db = tmp_path / "settings.jsonl", tmp_path / "settings.db"
    run_ok(sim, "account-settings", "--out", str(jsonl))
    run_ok(sim, "account-settings", "--out", str(db))
    rows = table_rows(db, "account_settings")
    if shape == "object":
        mapping = {s["type"]: s["data"] for s in settings}
        assert read_jsonl(jsonl) == [mapping]
        # One object without an id: one row, keyed by the entity's name.
        assert list(rows) == ["account-settings"]
        assert json.loads(rows["account-settings"]["extra_fields"]) == mapping
    else:
        assert read_jsonl(jsonl) == settings
        assert sorted(rows) == sorted(str(s["id"]) for s in settings)
    assert all(not r.query.get("order_by") for r in sim.requests)  # plain GETs


def test_account_settings_follows_the_cursors_of_a_list(sim: Simulator, tmp_path: Path) -> None:
    for n in range(130):  # more than a page (30 by default without limit)
        sim.dataset.entities.add_items(
            "account/settings", [{"id": 1000 + n, "type": f"t{n}", "data": {}}]
        )
    out = tmp_path / "settings.jsonl"
    run_ok(sim, "account-settings", "--out", str(out))
    rows = read_jsonl(out)
    assert len(rows) == len({row["id"] for row in rows}) == 134
    assert sim.count("/api/account/settings") > 1


def test_a_listing_the_api_refuses_is_reported_as_ours_not_the_users(tmp_path: Path) -> None:
    """One connector sends no order_by to the voice endpoints: if the real API refuses ours, the
    user passed no flag to fix, and must not be told to check one."""
    body = {"error": {"msg": "Invalid order_by"}}
    with FakeApi() as api:
        api.get("/phone/voice-calls", json=body, status=400)
        env = {"GORGIAS_BASE_URL": api.url, "GORGIAS_EMAIL": EMAIL, "GORGIAS_API_KEY": SECRET_KEY}
        result = run_cli(None, "voice-calls", "--out", str(tmp_path / "c.csv"), env=env)
    message = assert_one_line_error(result, ExitCode.API)  # not the user's usage
    assert "/phone/voice-calls" in message and "Invalid order_by" in message
    assert "report" in message and "check the filter" not in message
