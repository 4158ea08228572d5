"""Snapshots, the full reads (a single object, configuration lists, `get`): written beside the
output and moved over it when whole, so each run replaces the last one's; resumable at
every step, and restarted when the API refuses the saved cursor."""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

import pytest

from gorgias_sim import Simulator
from tests.support.cli import run_cli, run_ok
from tests.support.fakes import FakeTime
from tests.support.outputs import read_csv

pytestmark = pytest.mark.sim(seed=11, tickets=250, cursor_ttl=60, fake_clock=True)


def test_account_is_one_row_replaced_on_each_run(sim: Simulator, tmp_path: Path) -> None:
    out = tmp_path / "account.csv"
    run_ok(sim, "account", "--out", str(out))
    run_ok(sim, "account", "--out", str(out))
    rows = read_csv(out)
    assert len(rows) == 1 and rows[0]["domain"] == sim.dataset.account["domain"]
    assert not (tmp_path / "account.csv.partial").exists()


def test_a_configuration_list_is_replaced_by_the_new_snapshot(
    sim: Simulator, tmp_path: Path
) -> None:
    out = tmp_path / "tags.csv"
    run_ok(sim, "tags", "--out", str(out))
    tags = sim.dataset.entity_items("tags")
    sim.dataset.rename_tag(tags[0]["id"], 'renamed, with "quotes"')
    sim.dataset.delete_config("tags", tags[1]["id"])
    sim.dataset.add_tag("brand-new")
    run_ok(sim, "tags", "--out", str(out))
    rows = {row["id"]: row["name"] for row in read_csv(out)}
    assert rows == {str(t["id"]): t["name"] for t in sim.dataset.entity_items("tags")}
    assert rows[str(tags[0]["id"])] == 'renamed, with "quotes"'
    assert not (tmp_path / "tags.csv.partial").exists()


def test_get_whose_cursor_expires_mid_run_starts_its_snapshot_over(
    sim: Simulator, clock: FakeTime, tmp_path: Path
) -> None:
    """get keeps no ids (its listings can be huge), so a refused cursor restarts the snapshot:
    the file is still every item exactly once."""
    clean = tmp_path / "clean.jsonl"
    run_ok(sim, "get", "/api/messages", "--out", str(clean))
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
