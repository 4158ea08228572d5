"""Where the real API's answer is unsure (gorgias-api.md marks it so), the export is run against
each answer the simulator can give: archived macros."""

from __future__ import annotations

from pathlib import Path

import pytest

from gorgias_sim import Simulator
from tests.support.cli import run_ok
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
