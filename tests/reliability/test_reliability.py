"""The fast sample of every reliability scenario, run by `make test` (the long run: `make soak`)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.reliability import scenarios
from tests.reliability.harness import SAMPLE, Scale, Workspace

pytestmark = pytest.mark.slow

SCENARIOS: dict[str, Callable[[Scale, Workspace], None]] = {
    "fault_kinds": scenarios.fault_kinds,
    "mixed_faults": scenarios.mixed_faults,
    "outage": scenarios.outage,
    "giveups": scenarios.giveups_in_process,
    "kills": scenarios.kills,
    "data_changing": scenarios.data_changing,
    "disk_full": scenarios.disk_full,
    "bad_inputs": scenarios.bad_inputs,
}


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_scenario_sample(name: str, tmp_path: Path) -> None:
    SCENARIOS[name](SAMPLE, Workspace(tmp_path))


def test_the_table_names_real_tests_for_the_rows_it_leaves_to_them() -> None:
    from tests.cli import test_bad_input
    from tests.jobs import test_refusals

    for case in scenarios.TABLE:
        if case.covered_by:
            name = "test_" + case.covered_by
            assert hasattr(test_bad_input, name) or hasattr(test_refusals, name), case.name


def test_a_bad_option_value_is_one_line(tmp_path: Path) -> None:
    ws = Workspace(tmp_path)
    result = ws.child(["tickets", "--out", "t.csv", "--format", "xml"], {})
    assert result.returncode == 2
    assert result.stderr.decode().startswith("gorgias-export: ")
    assert result.stderr.count(b"\n") == 1
