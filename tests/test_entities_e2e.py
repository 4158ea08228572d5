"""Entity commands end to end against the simulator: rows match its data, reruns add only what
changed, and an interrupted run resumes to the bytes of a clean one."""

from __future__ import annotations

import contextlib
import csv
import itertools
import json
import signal
import sqlite3
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import responses

from gorgias_export.api.client import GorgiasClient
from gorgias_export.config import Secret, Settings
from gorgias_export.errors import OutputError
from gorgias_export.exports.entities import EntityExport
from gorgias_export.exports.progress import EntityProgress
from gorgias_export.jobs.entities import encoder_for, shaper_for
from gorgias_export.output.writers import RowSink
from gorgias_export.resources import ENTITIES, ENTITY_BY_NAME
from gorgias_export.timeutil import sort_key
from gorgias_sim import Simulator
from tests.support.account import EMAIL, SECRET_KEY
from tests.support.cli import interrupt_at_request, run_cli
from tests.support.fakes import FakeTime
from tests.support.outputs import read_csv, read_jsonl

pytestmark = pytest.mark.sim(seed=11, tickets=250, cursor_ttl=60, fake_clock=True)


def export(sim: Simulator, *args: str) -> None:
    result = run_cli(sim, *args)
    assert result.exit_code == 0, result.stderr


def test_messages_jsonl_holds_every_message_exactly_as_the_api_sent_it(
    sim: Simulator, tmp_path: Path
) -> None:
    out = tmp_path / "messages.jsonl"
    export(sim, "messages", "--out", str(out))
    rows = read_jsonl(out)
    by_id = {message["id"]: message for message in sim.dataset.messages}
    assert len(rows) == len(by_id) == len({row["id"] for row in rows})
    for row in rows:
        # Every field, unknown ones included, with the API's own values and types.
        assert row == json.loads(json.dumps(by_id[row["id"]]))


def test_messages_csv_flattens_fields_and_keeps_nested_values_as_json(
    sim: Simulator, tmp_path: Path
) -> None:
    out = tmp_path / "messages.csv"
    export(sim, "messages", "--out", str(out))
    rows = read_csv(out)
    by_id = {str(message["id"]): message for message in sim.dataset.messages}
    assert sorted(row["id"] for row in rows) == sorted(by_id)
    for row in rows:
        message = by_id[row["id"]]
        assert row["body_html"] == (message.get("body_html") or "")
        assert json.loads(row["source"]) == message["source"]
        assert row["public"] == ("true" if message["public"] else "false")
        extra = json.loads(row["extra_fields"]) if row["extra_fields"] else {}
        assert set(extra) == set(message) - set(row) - {"extra_fields"}


def test_a_messages_rerun_appends_only_the_new_ones(sim: Simulator, tmp_path: Path) -> None:
    out = tmp_path / "messages.csv"
    export(sim, "messages", "--out", str(out))
    first = out.read_bytes()
    ticket = sim.dataset.tickets[-1]
    added = [sim.dataset.add_message(ticket["id"]) for _ in range(3)]
    export(sim, "messages", "--out", str(out))
    assert out.read_bytes().startswith(first)
    ids = [row["id"] for row in read_csv(out)]
    assert len(ids) == len(set(ids)) == len(sim.dataset.messages)
    assert ids[-3:] == [str(m["id"]) for m in reversed(added)]  # newest first, after the rest
    export(sim, "messages", "--out", str(out))  # nothing new: nothing written
    assert len(read_csv(out)) == len(sim.dataset.messages)


@pytest.mark.parametrize("request_number", [1, 3, 7])
def test_kill_9_then_rerun_gives_the_clean_messages_file(
    sim: Simulator, tmp_path: Path, request_number: int
) -> None:
    clean = tmp_path / "clean.csv"
    export(sim, "messages", "--out", str(clean))
    out = tmp_path / "messages.csv"
    killed = interrupt_at_request(sim, out, request_number, command=("messages",))
    assert killed.returncode == -signal.SIGKILL
    export(sim, "messages", "--out", str(out))
    assert out.read_bytes() == clean.read_bytes()


def test_account_is_one_row_replaced_on_each_run(sim: Simulator, tmp_path: Path) -> None:
    out = tmp_path / "account.csv"
    export(sim, "account", "--out", str(out))
    export(sim, "account", "--out", str(out))
    rows = read_csv(out)
    assert len(rows) == 1 and rows[0]["domain"] == sim.dataset.account["domain"]
    assert not (tmp_path / "account.csv.partial").exists()


# -- every entity, against the simulator's own data ------------------------------------------

LISTED = [e.name for e in ENTITIES if not e.single_object]


def api_items(sim: Simulator, name: str) -> dict[str, dict[str, Any]]:
    if name == "messages":
        return {str(m["id"]): m for m in sim.dataset.messages}
    return {str(item["id"]): item for item in sim.dataset.entity_items(name)}


@pytest.mark.parametrize("name", LISTED)
def test_each_entity_exports_to_jsonl_exactly_as_the_api_lists_it(
    sim: Simulator, tmp_path: Path, name: str
) -> None:
    out = tmp_path / f"{name}.jsonl"
    export(sim, name, "--out", str(out))
    rows = read_jsonl(out)
    expected = api_items(sim, name)
    assert len(rows) == len(expected) > 0
    for row in rows:
        assert row == json.loads(json.dumps(expected[str(row["id"])]))


@pytest.mark.parametrize("name", LISTED)
def test_each_entity_exports_to_csv_with_fixed_columns_and_json_cells(
    sim: Simulator, tmp_path: Path, name: str
) -> None:
    entity = ENTITY_BY_NAME[name]
    out = tmp_path / f"{name}.csv"
    export(sim, name, "--out", str(out))
    with out.open(newline="", encoding="utf-8") as handle:
        header = next(csv.reader(handle))
    assert tuple(header) == entity.csv_columns
    rows = read_csv(out)
    expected = api_items(sim, name)
    assert sorted(row["id"] for row in rows) == sorted(expected)
    for row in rows:
        item = expected[row["id"]]
        rebuilt = json.loads(row["extra_fields"]) if row["extra_fields"] else {}
        for column in entity.columns:
            if column in item:
                rebuilt[column] = _cell_value(row[column], item[column])
        assert rebuilt == json.loads(json.dumps(item))


def _cell_value(cell: str, original: Any) -> Any:
    """Read a CSV cell back with the type of the API's value, to compare whole objects."""
    if original is None:
        assert cell == ""
        return None
    if isinstance(original, bool):
        return cell == "true"
    if isinstance(original, (dict, list)):
        return json.loads(cell)
    if isinstance(original, int):
        return int(cell)
    if isinstance(original, float):
        return float(cell)
    return cell


def test_customers_rerun_appends_new_and_changed_customers_only(
    sim: Simulator, tmp_path: Path
) -> None:
    out = tmp_path / "customers.csv"
    export(sim, "customers", "--out", str(out))
    before = read_csv(out)
    old = sim.dataset.entity_items("customers")[3]
    changed = sim.dataset.update_customer(old["id"], note='VIP, see "notes"\nline 2 🎉')
    added = sim.dataset.add_customer(email="new@example.com")
    export(sim, "customers", "--out", str(out))
    after = read_csv(out)
    assert after[: len(before)] == before
    new_rows = after[len(before) :]
    assert sorted(row["id"] for row in new_rows) == sorted([str(changed["id"]), str(added["id"])])
    assert next(r for r in new_rows if r["id"] == str(old["id"]))["note"] == changed["note"]
    export(sim, "customers", "--out", str(out))
    assert len(read_csv(out)) == len(after)


def test_events_rerun_asks_the_server_for_the_new_ones_only(sim: Simulator, tmp_path: Path) -> None:
    out = tmp_path / "events.jsonl"
    export(sim, "events", "--out", str(out))
    count = len(read_jsonl(out))
    ticket = sim.dataset.tickets[0]
    event = sim.dataset.add_event("ticket-deleted", "Ticket", ticket["id"])
    sim.reset_stats()
    export(sim, "events", "--out", str(out))
    rows = read_jsonl(out)
    assert [row["id"] for row in rows[count:]] == [event["id"]]
    assert sim.requests and all("created_datetime[gte]" in r.query for r in sim.requests)


def test_surveys_rerun_writes_a_survey_again_when_its_score_changes(
    sim: Simulator, tmp_path: Path
) -> None:
    out = tmp_path / "surveys.csv"
    export(sim, "satisfaction-surveys", "--out", str(out))
    before = read_csv(out)
    survey = sim.dataset.entity_items("satisfaction-surveys")[0]  # newest: in the lookback
    new_score = 1 if survey.get("score") != 1 else 5
    sim.dataset.score_survey(survey["id"], new_score)
    export(sim, "satisfaction-surveys", "--out", str(out))
    after = read_csv(out)
    assert [(r["id"], r["score"]) for r in after[len(before) :]] == [
        (str(survey["id"]), str(new_score))
    ]


def test_a_configuration_list_is_replaced_by_the_new_snapshot(
    sim: Simulator, tmp_path: Path
) -> None:
    out = tmp_path / "tags.csv"
    export(sim, "tags", "--out", str(out))
    tags = sim.dataset.entity_items("tags")
    sim.dataset.rename_tag(tags[0]["id"], 'renamed, with "quotes"')
    sim.dataset.delete_config("tags", tags[1]["id"])
    sim.dataset.add_tag("brand-new")
    export(sim, "tags", "--out", str(out))
    rows = {row["id"]: row["name"] for row in read_csv(out)}
    assert rows == {str(t["id"]): t["name"] for t in sim.dataset.entity_items("tags")}
    assert rows[str(tags[0]["id"])] == 'renamed, with "quotes"'
    assert not (tmp_path / "tags.csv.partial").exists()


def test_entity_filters_are_sent_to_the_api(sim: Simulator, tmp_path: Path) -> None:
    customer = sim.dataset.entity_items("customers")[5]
    out = tmp_path / "one.jsonl"
    export(sim, "customers", "--email", customer["email"], "--out", str(out))
    assert [row["id"] for row in read_jsonl(out)] == [customer["id"]]

    events = sim.dataset.entity_items("events")
    wanted = {"ticket-created", "ticket-updated"}
    out = tmp_path / "events.jsonl"
    export(sim, "events", "--type", "ticket-created", "--type", "ticket-updated", "--out", str(out))
    assert sorted(r["id"] for r in read_jsonl(out)) == sorted(
        e["id"] for e in events if e["type"] in wanted
    )

    middle = sorted(e["created_datetime"] for e in events)[len(events) // 2][:10]
    out = tmp_path / "since.jsonl"
    export(sim, "events", "--since", middle, "--out", str(out))
    got = read_jsonl(out)
    assert got and all(sort_key(e["created_datetime"]) >= middle for e in got)
    assert len(got) == sum(1 for e in events if sort_key(e["created_datetime"]) >= middle)

    survey = sim.dataset.entity_items("satisfaction-surveys")[0]
    out = tmp_path / "survey.jsonl"
    export(sim, "satisfaction-surveys", "--ticket-id", str(survey["ticket_id"]), "--out", str(out))
    assert [row["id"] for row in read_jsonl(out)] == [survey["id"]]


def test_a_type_the_api_rejects_is_one_line_and_exit_2(sim: Simulator, tmp_path: Path) -> None:
    out = tmp_path / "events.csv"
    result = run_cli(sim, "events", "--type", "no-such-type", "--out", str(out))
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1 and "no-such-type" in result.stderr
    assert not out.exists() or out.stat().st_size == 0


def test_get_reads_any_list_endpoint_with_its_parameters(sim: Simulator, tmp_path: Path) -> None:
    out = tmp_path / "get.jsonl"
    export(sim, "get", "/api/integrations", "--out", str(out))
    assert read_jsonl(out) == sim.dataset.entity_items("integrations")
    out = tmp_path / "tickets.jsonl"
    export(sim, "get", "tickets", "--param", "order_by=created_datetime:asc", "--out", str(out))
    assert [t["id"] for t in read_jsonl(out)] == sorted(t["id"] for t in sim.dataset.tickets)


# -- SQLite: a table per entity, upserted ---------------------------------------------------


def table_rows(db: Path, table: str) -> dict[str, dict[str, Any]]:
    with contextlib.closing(sqlite3.connect(db)) as connection:
        connection.row_factory = sqlite3.Row
        rows = connection.execute(f'SELECT * FROM "{table}"').fetchall()
    return {str(dict(row)["id"]): dict(row) for row in rows}


@pytest.mark.parametrize("name", LISTED)
def test_each_entity_exports_to_a_sqlite_table(sim: Simulator, tmp_path: Path, name: str) -> None:
    db = tmp_path / "mirror.db"
    export(sim, name, "--out", str(db))
    rows = table_rows(db, name.replace("-", "_"))
    expected = api_items(sim, name)
    assert sorted(rows) == sorted(expected)
    for row_id, item in expected.items():
        for column in ENTITY_BY_NAME[name].columns:
            value = item.get(column)
            if isinstance(value, (dict, list)):
                assert json.loads(rows[row_id][column]) == value
            elif isinstance(value, bool):
                assert rows[row_id][column] == int(value)
            else:
                assert rows[row_id][column] == value


def test_a_sqlite_rerun_updates_changed_rows_and_drops_deleted_configuration(
    sim: Simulator, tmp_path: Path
) -> None:
    db = tmp_path / "mirror.db"
    export(sim, "customers", "--out", str(db))
    export(sim, "tags", "--out", str(db))
    customer = sim.dataset.entity_items("customers")[0]
    sim.dataset.update_customer(customer["id"], note="changed")
    tags = sim.dataset.entity_items("tags")
    sim.dataset.delete_config("tags", tags[0]["id"])
    export(sim, "customers", "--out", str(db))
    export(sim, "tags", "--out", str(db))
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


def test_get_whose_cursor_expires_mid_run_starts_its_snapshot_over(
    sim: Simulator, clock: FakeTime, tmp_path: Path
) -> None:
    """get keeps no ids (its listings can be huge), so a refused cursor restarts the snapshot:
    the file is still every item exactly once."""
    clean = tmp_path / "clean.jsonl"
    export(sim, "get", "/api/messages", "--out", str(clean))
    counter = itertools.count(1)

    def expire_everything_at_request_5(record: Any) -> None:
        if next(counter) == 5:
            clock.now += 3600

    sim.on_request = expire_everything_at_request_5
    out = tmp_path / "messages.jsonl"
    result = run_cli(sim, "get", "/api/messages", "--out", str(out))
    sim.on_request = None
    assert result.exit_code == 0, result.stderr
    assert "reading it again from the start" in result.stderr
    assert out.read_bytes() == clean.read_bytes()
    state = json.loads((tmp_path / "messages.jsonl.state.json").read_text())
    assert len(json.dumps(state)) < 2000  # no ids kept, whatever the listing's size


@responses.activate
def test_custom_fields_listed_by_both_listings_are_written_once(tmp_path: Path) -> None:
    """The other answer to gorgias-api.md's "unsure": an API whose default listing includes the
    archived fields too, so `archived=true` lists them a second time (the simulator lists them
    apart)."""
    base = "https://acme.gorgias.com/api"

    def fields(request: Any) -> tuple[int, dict[str, str], str]:
        query = parse_qs(urlsplit(request.url).query)
        kind = query["object_type"][0]
        active = {"id": 1 if kind == "Ticket" else 3, "deactivated_datetime": None}
        archived = {"id": 2 if kind == "Ticket" else 4, "deactivated_datetime": "2024-01-02"}
        listed = [archived] if query.get("archived") == ["true"] else [active, archived]
        for field in listed:
            field.update(object_type=kind, priority=field["id"], created_datetime="2024-01-01")
        body = {"object": "list", "data": listed, "meta": {"next_cursor": None}}
        return 200, {}, json.dumps(body)

    responses.add_callback(responses.GET, base + "/custom-fields", callback=fields)
    out = tmp_path / "custom-fields.csv"
    env = {"GORGIAS_BASE_URL": base, "GORGIAS_EMAIL": EMAIL, "GORGIAS_API_KEY": SECRET_KEY}
    result = run_cli(None, "custom-fields", "--out", str(out), env=env)
    assert result.exit_code == 0, result.stderr
    assert len(responses.calls) == 4  # both object types, with and without archived=true
    assert sorted(int(row["id"]) for row in read_csv(out)) == [1, 2, 3, 4]


def test_entity_commands_take_the_api_user_as_tickets_does(sim: Simulator, tmp_path: Path) -> None:
    env = {"GORGIAS_BASE_URL": sim.url, "GORGIAS_EMAIL": "", "GORGIAS_API_KEY": SECRET_KEY}
    for flag in ("--email", "--api-user"):
        out = tmp_path / f"tags{flag}.csv"
        result = run_cli(None, "tags", "--out", str(out), flag, EMAIL, env=env)
        assert result.exit_code == 0, result.stderr
    # Without it, the flag the error names is one every command takes (customers included,
    # where --email is the customer filter).
    missing = run_cli(None, "customers", "--out", str(tmp_path / "c.csv"), env=env)
    assert missing.exit_code == 3 and "GORGIAS_EMAIL (--api-user)" in missing.stderr
