"""Entity commands end to end against the simulator: rows match its data, reruns add only what
changed, and an interrupted run resumes to the bytes of a clean one."""

from __future__ import annotations

import json
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from gorgias_export.simulator import SimConfig, Simulator
from tests.conftest import EMAIL, SECRET_KEY
from tests.e2e import read_csv, read_jsonl, run_cli
from tests.fakes import FakeTime
from tests.test_resume_e2e import interrupt_at_request


@pytest.fixture
def sim() -> Iterator[Simulator]:
    config = SimConfig(
        seed=11, tickets=250, rate_limit=False, email=EMAIL, api_key=SECRET_KEY, cursor_ttl=60
    )
    with Simulator(config, clock=FakeTime()) as simulator:
        yield simulator
        assert simulator.non_get_requests == []


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
