"""A state's values are checked against what they can be, not only their types (issue 12,
Lower 13), and SIGHUP ends a run as SIGTERM does."""

from __future__ import annotations

import json
import signal
from pathlib import Path
from typing import Any

import pytest

from gorgias_export.errors import ExitCode
from gorgias_sim import Simulator
from tests.support.cli import assert_one_line_error, interrupt_at_request, run_cli

pytestmark = pytest.mark.sim(seed=5, tickets=120)

FUTURE = "2999-01-01T00:00:00.000000Z"


def _edit(state: Path, edit: Any) -> None:
    document = json.loads(state.read_text())
    edit(document["progress"])
    state.write_text(json.dumps(document))


@pytest.mark.parametrize(
    ("command", "edit", "named"),
    [
        ("tickets", lambda p: p.update(watermark_messages=FUTURE), "watermark_messages"),
        ("tickets", lambda p: p.update(watermark_tickets="yesterday"), "watermark_tickets"),
        ("customers", lambda p: p.update(watermark=FUTURE), "watermark"),
    ],
    ids=["future-watermark", "not-a-time", "entity-future-watermark"],
)
def test_well_typed_garbage_in_a_finished_state_is_refused(
    sim: Simulator, tmp_path: Path, command: str, edit: Any, named: str
) -> None:
    out = tmp_path / "out.csv"
    assert run_cli(sim, command, "--out", str(out)).exit_code == 0
    state = tmp_path / "out.csv.state.json"
    _edit(state, edit)
    before = (out.read_bytes(), state.read_bytes())
    result = run_cli(sim, command, "--out", str(out))
    message = assert_one_line_error(result, ExitCode.CONFLICT)
    # A future time is named with the run's start it lies after (test_saved_positions.py).
    assert ("corrupt" in message or "later than this run's start" in message) and named in message
    assert (out.read_bytes(), state.read_bytes()) == before


def test_a_bad_after_in_a_run_in_flight_is_refused(sim: Simulator, tmp_path: Path) -> None:
    out = tmp_path / "t.csv"
    assert interrupt_at_request(sim, out, 6, signal.SIGTERM).returncode == ExitCode.INTERRUPTED
    state = tmp_path / "t.csv.state.json"

    def bad_after(progress: dict[str, Any]) -> None:
        walks = [v for v in progress["run"].values() if isinstance(v, dict) and v.get("after")]
        assert walks, progress["run"]
        walks[0]["after"] = ["next tuesday", 5]

    _edit(state, bad_after)
    result = run_cli(sim, "tickets", "--out", str(out))
    assert "corrupt (after)" in assert_one_line_error(result, ExitCode.CONFLICT)


def test_sighup_saves_progress_says_so_and_exits_130(
    sim: Simulator, clean: bytes, tmp_path: Path
) -> None:
    out = tmp_path / "tickets.csv"
    hung_up = interrupt_at_request(sim, out, 5, signal.SIGHUP)
    assert hung_up.returncode == ExitCode.INTERRUPTED, hung_up.stderr
    assert hung_up.stderr.startswith(b"gorgias-export: Interrupted; progress is saved")
    assert hung_up.stderr.count(b"\n") == 1
    assert run_cli(sim, "tickets", "--out", str(out)).exit_code == 0
    assert out.read_bytes() == clean


def test_under_nohup_a_hangup_does_not_stop_the_run(
    sim: Simulator, clean: bytes, tmp_path: Path
) -> None:
    """`nohup` sets SIGHUP to be ignored, and the exporter leaves it so: the run outlives the
    session it was started from."""
    out = tmp_path / "tickets.csv"
    finished = interrupt_at_request(sim, out, 5, signal.SIGHUP, prefix=("nohup",))
    assert finished.returncode == 0, finished.stderr
    assert out.read_bytes() == clean
