"""The plain exporter `make bench` measures against must do the same work as gorgias-export:
the same rows from the same account, exactly once across a kill, or the comparison means
nothing."""

from __future__ import annotations

import csv
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gorgias_sim import Simulator
from tests.plain_exporter import Api, export
from tests.support.account import EMAIL, SECRET_KEY
from tests.support.cli import run_ok

pytestmark = pytest.mark.sim(seed=3, tickets=250)


def ids(path: Path) -> list[tuple[str, str]]:
    csv.field_size_limit(sys.maxsize)
    with path.open(newline="", encoding="utf-8") as handle:
        return [(row["ticket_id"], row["message_id"]) for row in csv.DictReader(handle)]


class KilledAfter(Exception):
    pass


def test_the_plain_exporter_writes_the_rows_gorgias_export_writes(
    sim: Simulator, tmp_path: Path
) -> None:
    ours = tmp_path / "ours.csv"
    run_ok(sim, "tickets", "--out", str(ours))
    plain = tmp_path / "plain.csv"
    export(Api(sim.url, EMAIL, SECRET_KEY), plain)
    with ours.open(encoding="utf-8") as a, plain.open(encoding="utf-8") as b:
        assert a.readline() == b.readline()  # the same 39 columns
    assert sorted(ids(plain)) == sorted(ids(ours))
    assert len(set(ids(plain))) == len(ids(plain))
    with plain.open(newline="", encoding="utf-8") as handle:
        assert {len(row) for row in csv.reader(handle)} == {39}


def test_a_killed_plain_export_resumes_exactly_once(sim: Simulator, tmp_path: Path) -> None:
    clean = tmp_path / "clean.csv"
    export(Api(sim.url, EMAIL, SECRET_KEY), clean)
    out = tmp_path / "plain.csv"
    api = Api(sim.url, EMAIL, SECRET_KEY)
    pages = api.pages

    def dying(
        path: str, cursor: str | None = None
    ) -> Iterator[tuple[list[dict[str, Any]], str | None]]:
        for number, page in enumerate(pages(path, cursor)):
            if path == "/messages" and number == 3:
                raise KilledAfter  # after three pages written and checkpointed
            yield page

    api.pages = dying  # type: ignore[method-assign]
    with pytest.raises(KilledAfter):
        export(api, out)
    with out.open("ab") as handle:
        handle.write(b"a torn row")  # what a kill mid-write leaves
    export(Api(sim.url, EMAIL, SECRET_KEY), out)
    assert out.read_bytes() == clean.read_bytes()
