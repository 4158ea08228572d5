"""Paths that lead elsewhere (issue 12, Lower 12): a link to nothing is not written through, and
a device is no place for an export and its side files."""

from __future__ import annotations

from pathlib import Path

import pytest

from gorgias_export.errors import ExitCode
from gorgias_sim import Simulator
from tests.support.cli import assert_one_line_error, run_cli

pytestmark = pytest.mark.sim(seed=2, tickets=30, scope="module")


@pytest.mark.parametrize("link", ["t.csv.state.json", "t.csv"])
def test_a_link_to_nothing_is_not_written_through(
    sim: Simulator, tmp_path: Path, link: str
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    work = tmp_path / "work"
    work.mkdir()
    (work / link).symlink_to(elsewhere / "target")
    result = run_cli(sim, "tickets", "--out", str(work / "t.csv"))
    assert "does not exist" in assert_one_line_error(result, ExitCode.CONFLICT)
    assert list(elsewhere.iterdir()) == []
    assert [p.name for p in work.iterdir()] == [link]


def test_a_device_is_refused_and_nothing_is_created_beside_it(sim: Simulator) -> None:
    before = {p.name for p in Path("/dev").iterdir() if p.name.startswith("null")}
    for command in ("tickets", "tags"):
        result = run_cli(sim, command, "--out", "/dev/null", "--format", "csv")
        assert "not a regular file" in assert_one_line_error(result, ExitCode.USAGE)
    assert {p.name for p in Path("/dev").iterdir() if p.name.startswith("null")} == before
