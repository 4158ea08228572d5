"""The current code against what the previous release (0.1.0, commit 9450afd) wrote.

fixtures/ was recorded by `python -m tests.compat.record` with that release's code; see there.
1. Every command line in golden.json writes, byte for byte, what the release wrote (SQLite
   databases: the same tables, columns and rows, and the same state identity).
2. An export the release left interrupted (killed -9) is continued by the current code, and ends
   with the bytes of an uninterrupted export: every row exactly once.
3. An export the release finished is continued by the current code after the data changed, and
   ends with what the release itself wrote on that rerun.
"""

from __future__ import annotations

import json
import tarfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.compat import sim as simulation
from tests.compat.helpers import (
    FIXTURES,
    GOLDEN,
    describe_difference,
    expand,
    output_digest,
    restore,
    run_cli,
)

DOCUMENT = json.loads(GOLDEN.read_text(encoding="utf-8"))
COMMANDS: list[dict[str, Any]] = DOCUMENT["commands"]
SCENARIOS: list[dict[str, Any]] = DOCUMENT["scenarios"]
INTERRUPTED = [s for s in SCENARIOS if s["scenario"] == "interrupted"]
FINISHED = [s for s in SCENARIOS if s["scenario"] == "finished"]


def _name(entry: dict[str, Any]) -> str:
    return str(entry["name"])


@pytest.fixture(scope="module")
def served() -> Iterator[Callable[[str], Any]]:
    """One simulator per dataset for the runs that do not change the data."""
    started: dict[str, Any] = {}

    def get(dataset: str) -> Any:
        if dataset not in started:
            started[dataset] = simulation.simulator(dataset)
        return started[dataset]

    yield get
    for simulator in started.values():
        simulator.stop()


def _output(entry: dict[str, Any], url: str, directory: Path, stdout: bytes = b"") -> Any:
    path = directory / entry["output"] if entry["output"] else None
    return output_digest(entry["kind"], path, url, directory, stdout)


def _run(entry: dict[str, Any], url: str, directory: Path) -> Any:
    """Run the entry's command line into `directory`; the digest of its output."""
    result = run_cli(url, entry["args"], directory)
    command = " ".join(["gorgias-export", *expand(entry["args"], directory)])
    assert result.exit_code == 0, f"{command}: exit {result.exit_code}: {result.stderr}"
    return _output(entry, url, directory, result.stdout_bytes)


def _differs(entry: dict[str, Any], expected: Any, actual: Any, directory: Path) -> str:
    command = " ".join(["gorgias-export", *expand(entry["args"], directory)])
    return f"{command} (dataset {entry['dataset']}): {describe_difference(expected, actual)}"


@pytest.mark.parametrize("entry", COMMANDS, ids=_name)
def test_each_command_writes_what_the_previous_release_wrote(
    entry: dict[str, Any], served: Callable[[str], Any], tmp_path: Path
) -> None:
    simulator = served(entry["dataset"])
    actual = _run(entry, simulator.url, tmp_path)
    assert actual == entry["digest"], _differs(entry, entry["digest"], actual, tmp_path)


@pytest.mark.parametrize("entry", INTERRUPTED, ids=_name)
def test_an_export_the_previous_release_left_interrupted_ends_as_if_never_interrupted(
    entry: dict[str, Any], served: Callable[[str], Any], tmp_path: Path
) -> None:
    simulator = served(entry["dataset"])
    restore(FIXTURES / f"{entry['name']}.tar.gz", tmp_path, simulator.url)
    # The fixture is unfinished (a snapshot may not even have its file yet): the run below has
    # something left to do.
    if (tmp_path / entry["output"]).exists():
        assert _output(entry, simulator.url, tmp_path) != entry["expect"]
    actual = _run(entry, simulator.url, tmp_path)
    assert actual == entry["expect"], _differs(entry, entry["expect"], actual, tmp_path)


@pytest.mark.parametrize("entry", FINISHED, ids=_name)
def test_an_export_the_previous_release_finished_continues_after_the_data_changed(
    entry: dict[str, Any], tmp_path: Path
) -> None:
    with simulation.simulator(entry["dataset"]) as simulator:
        restore(FIXTURES / f"{entry['name']}.tar.gz", tmp_path, simulator.url)
        assert _output(entry, simulator.url, tmp_path) == entry["first_run"]
        simulation.change_data(simulator)
        actual = _run(entry, simulator.url, tmp_path)
    assert actual == entry["expect"], _differs(entry, entry["expect"], actual, tmp_path)


def test_the_fixtures_hold_no_machine_specific_paths_locks_or_caches() -> None:
    archives = sorted(path.name for path in FIXTURES.glob("*.tar.gz"))
    assert archives == sorted(f"{s['name']}.tar.gz" for s in SCENARIOS)
    for scenario in SCENARIOS:
        names = scenario["files"]
        assert not [n for n in names if n.endswith(".lock") or ".ticket-index." in n], names
        if scenario["name"] == "tickets-per-ticket" or scenario["name"] == "finished-per-ticket":
            assert any(n.endswith(".staging.sqlite") for n in names), names
        with tarfile.open(FIXTURES / f"{scenario['name']}.tar.gz") as tar:
            for member in tar.getmembers():
                if member.name.endswith(".state.json"):
                    handle = tar.extractfile(member)
                    assert handle is not None
                    state = handle.read().decode("utf-8")
                    assert "@API@" in state and "127.0.0.1" not in state, member.name
    text = GOLDEN.read_text(encoding="utf-8")
    assert "127.0.0.1" not in text and "/tmp/" not in text
