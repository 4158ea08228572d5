"""Where the real API's answer is unsure (gorgias-api.md marks it so), the export is run against
each answer the simulator can give: archived macros, events of one object type."""

from __future__ import annotations

from pathlib import Path

import pytest

from gorgias_export.errors import ExitCode
from gorgias_sim import Simulator
from tests.support.cli import assert_one_line_error, run_cli, run_ok
from tests.support.outputs import read_csv, table_rows

pytestmark = pytest.mark.sim(seed=11, tickets=300, cursor_ttl=60, fake_clock=True)


# -- archived macros -------------------------------------------------------------------------------


@pytest.mark.parametrize("lists_archived", [False, True])
def test_macros_include_archived_ones_once_whichever_way_the_api_lists_them(
    sim: Simulator, tmp_path: Path, lists_archived: bool
) -> None:
    sim.config.macros_list_archived = lists_archived
    every = sim.dataset.entity_items("macros")
    assert any(m["archived_datetime"] for m in every)
    for out in (tmp_path / "macros.csv", tmp_path / "macros.db"):
        run_ok(sim, "macros", "--out", str(out))
    ids = [row["id"] for row in read_csv(tmp_path / "macros.csv")]
    assert sorted(ids) == sorted(str(m["id"]) for m in every) and len(ids) == len(set(ids))
    assert len(table_rows(tmp_path / "macros.db", "macros")) == len(every)
    asked = [r.query.get("archived") for r in sim.requests if r.path == "/api/macros"]
    assert None in asked and ["true"] in asked


# -- events --object-type without --object-id ------------------------------------------------


@pytest.mark.sim(seed=11, tickets=100, events_need_object_id=True)
def test_an_api_that_needs_object_id_is_explained_in_one_sentence(
    sim: Simulator, tmp_path: Path
) -> None:
    out = tmp_path / "events.csv"
    result = run_cli(sim, "events", "--object-type", "Ticket", "--out", str(out))
    message = assert_one_line_error(result, ExitCode.USAGE)
    assert "--object-id" in message and "drop --object-type" in message
    assert not out.exists()
    ticket_id = sim.dataset.tickets[0]["id"]
    run_ok(
        sim, "events", "--object-type", "Ticket", "--object-id", str(ticket_id), "--out", str(out)
    )
    rows = read_csv(out)
    assert rows and {r["object_id"] for r in rows} == {str(ticket_id)}


def test_object_type_alone_works_where_the_api_allows_it(sim: Simulator, tmp_path: Path) -> None:
    out = tmp_path / "events.csv"
    run_ok(sim, "events", "--object-type", "Customer", "--out", str(out))
    rows = read_csv(out)
    assert rows and {r["object_type"] for r in rows} == {"Customer"}


def test_object_id_without_object_type_is_refused_before_any_request(
    sim: Simulator, tmp_path: Path
) -> None:
    result = run_cli(sim, "events", "--object-id", "5", "--out", str(tmp_path / "e.csv"))
    assert "--object-type" in assert_one_line_error(result, ExitCode.USAGE)
    assert sim.requests == []
