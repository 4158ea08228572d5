"""Entity commands against the simulator: every entity's rows match what the API lists, in
JSONL, CSV and SQLite, with the filters sent to the API; `get` reads any list endpoint."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest

from gorgias_export.resources import ENTITIES, ENTITY_BY_NAME
from gorgias_export.timeutil import sort_key
from gorgias_sim import Simulator
from tests.support.account import EMAIL, SECRET_KEY
from tests.support.cli import run_cli, run_ok
from tests.support.fake_api import Call, FakeApi, Reply
from tests.support.outputs import read_csv, read_jsonl, table_rows

# One simulator for the module: no test here changes its data, its config or its clock. (It ran
# on a fake clock that no test moved; on the real one a cursor would need a minute between two
# pages of one run to expire, and the export would still have to come out whole.)
pytestmark = pytest.mark.sim(seed=11, tickets=250, cursor_ttl=60, scope="module")


def test_messages_jsonl_holds_every_message_exactly_as_the_api_sent_it(
    sim: Simulator, tmp_path: Path
) -> None:
    out = tmp_path / "messages.jsonl"
    run_ok(sim, "messages", "--out", str(out))
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
    run_ok(sim, "messages", "--out", str(out))
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


LISTED = [e.name for e in ENTITIES if not e.single_object]


def api_items(sim: Simulator, name: str) -> dict[str, dict[str, Any]]:
    if name == "messages":
        return {str(m["id"]): m for m in sim.dataset.messages}
    path = ENTITY_BY_NAME[name].path.removeprefix("/")  # the simulator's name of it
    return {str(item["id"]): item for item in sim.dataset.entity_items(path)}


@pytest.mark.parametrize("name", LISTED)
def test_each_entity_exports_to_jsonl_exactly_as_the_api_lists_it(
    sim: Simulator, tmp_path: Path, name: str
) -> None:
    out = tmp_path / f"{name}.jsonl"
    run_ok(sim, name, "--out", str(out))
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
    run_ok(sim, name, "--out", str(out))
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


@pytest.mark.parametrize("name", LISTED)
def test_each_entity_exports_to_a_sqlite_table(sim: Simulator, tmp_path: Path, name: str) -> None:
    db = tmp_path / "mirror.db"
    run_ok(sim, name, "--out", str(db))
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


def test_entity_filters_are_sent_to_the_api(sim: Simulator, tmp_path: Path) -> None:
    customer = sim.dataset.entity_items("customers")[5]
    out = tmp_path / "one.jsonl"
    run_ok(sim, "customers", "--email", customer["email"], "--out", str(out))
    assert [row["id"] for row in read_jsonl(out)] == [customer["id"]]

    events = sim.dataset.entity_items("events")
    wanted = {"ticket-created", "ticket-updated"}
    out = tmp_path / "events.jsonl"
    run_ok(sim, "events", "--type", "ticket-created", "--type", "ticket-updated", "--out", str(out))
    assert sorted(r["id"] for r in read_jsonl(out)) == sorted(
        e["id"] for e in events if e["type"] in wanted
    )

    middle = sorted(e["created_datetime"] for e in events)[len(events) // 2][:10]
    out = tmp_path / "since.jsonl"
    run_ok(sim, "events", "--since", middle, "--out", str(out))
    got = read_jsonl(out)
    assert got and all(sort_key(e["created_datetime"]) >= middle for e in got)
    assert len(got) == sum(1 for e in events if sort_key(e["created_datetime"]) >= middle)

    survey = sim.dataset.entity_items("satisfaction-surveys")[0]
    out = tmp_path / "survey.jsonl"
    run_ok(sim, "satisfaction-surveys", "--ticket-id", str(survey["ticket_id"]), "--out", str(out))
    assert [row["id"] for row in read_jsonl(out)] == [survey["id"]]


def test_a_type_the_api_rejects_is_one_line_and_exit_2(sim: Simulator, tmp_path: Path) -> None:
    out = tmp_path / "events.csv"
    result = run_cli(sim, "events", "--type", "no-such-type", "--out", str(out))
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1 and "no-such-type" in result.stderr
    assert not out.exists() or out.stat().st_size == 0


def test_get_reads_any_list_endpoint_with_its_parameters(sim: Simulator, tmp_path: Path) -> None:
    out = tmp_path / "get.jsonl"
    run_ok(sim, "get", "/api/integrations", "--out", str(out))
    assert read_jsonl(out) == sim.dataset.entity_items("integrations")
    out = tmp_path / "tickets.jsonl"
    run_ok(sim, "get", "tickets", "--param", "order_by=created_datetime:asc", "--out", str(out))
    assert [t["id"] for t in read_jsonl(out)] == sorted(t["id"] for t in sim.dataset.tickets)


def test_custom_fields_listed_by_both_listings_are_written_once(tmp_path: Path) -> None:
    """The other answer to gorgias-api.md's "unsure": an API whose default listing includes the
    archived fields too, so `archived=true` lists them a second time (the simulator lists them
    apart)."""

    def fields(call: Call) -> Reply:
        query = call.query
        kind = query["object_type"][0]
        active = {"id": 1 if kind == "Ticket" else 3, "deactivated_datetime": None}
        archived = {"id": 2 if kind == "Ticket" else 4, "deactivated_datetime": "2024-01-02"}
        listed = [archived] if query.get("archived") == ["true"] else [active, archived]
        for field in listed:
            field.update(object_type=kind, priority=field["id"], created_datetime="2024-01-01")
        body = {"object": "list", "data": listed, "meta": {"next_cursor": None}}
        return Reply(200, json.dumps(body).encode())

    out = tmp_path / "custom-fields.csv"
    with FakeApi() as api:
        api.answer_with("/custom-fields", fields)
        env = {"GORGIAS_BASE_URL": api.url, "GORGIAS_EMAIL": EMAIL, "GORGIAS_API_KEY": SECRET_KEY}
        result = run_cli(None, "custom-fields", "--out", str(out), env=env)
    assert result.exit_code == 0, result.stderr
    assert len(api.calls) == 4  # both object types, with and without archived=true
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
