"""Locks (issue 12, Medium 8 and Lower 14): one export's state and outputs are held by one run,
whichever path or command names them, and the lock files go when the run ends."""

from __future__ import annotations

import itertools
import subprocess
from pathlib import Path

import pytest

from gorgias_export.errors import ExitCode
from gorgias_sim import RequestRecord, Simulator
from tests.support.cli import run_cli, run_subprocess

pytestmark = pytest.mark.sim(seed=2, tickets=60)


def _during(sim: Simulator, n: int, *args: str) -> list[subprocess.CompletedProcess[bytes]]:
    """Runs `gorgias-export ARGS` in a child when the simulator gets request n (of any run),
    waiting for it there: the run that sent request n is still holding its locks."""
    done: list[subprocess.CompletedProcess[bytes]] = []
    counter = itertools.count(1)

    def hook(record: RequestRecord) -> None:
        if next(counter) == n:
            sim.on_request = None
            child = run_subprocess(sim, *args, "--quiet")
            out, err = child.communicate(timeout=60)
            done.append(subprocess.CompletedProcess(child.args, child.returncode, out, err))

    sim.on_request = hook
    return done


def test_a_default_state_named_by_another_export_is_locked(sim: Simulator, tmp_path: Path) -> None:
    first = tmp_path / "a.csv"
    state = tmp_path / "a.csv.state.json"
    # --fresh: the state's identity (another output) would stop it otherwise, but not this.
    other = _during(
        sim, 3, "tickets", "--out", str(tmp_path / "b.csv"), "--state", str(state), "--fresh"
    )
    result = run_cli(sim, "tickets", "--out", str(first))
    assert result.exit_code == 0, result.stderr
    assert other and other[0].returncode == ExitCode.CONFLICT, other
    assert b"Another gorgias-export run" in other[0].stderr
    assert not (tmp_path / "b.csv").exists()
    again = run_cli(sim, "tickets", "--out", str(first))  # not refused afterwards
    assert again.exit_code == 0 and "0 new rows" in again.stderr, again.stderr


def test_a_single_command_during_all_is_refused_and_all_finishes(
    sim: Simulator, tmp_path: Path
) -> None:
    out_dir = tmp_path / "all"
    other = _during(sim, 2, "tickets", "--out", str(out_dir / "tickets.csv"))
    result = run_cli(sim, "all", "--out-dir", str(out_dir))
    assert result.exit_code == 0, result.stderr
    assert other and other[0].returncode == ExitCode.CONFLICT, other
    assert not (out_dir / "tickets.csv.state.json").exists()


def test_no_lock_file_is_left_behind(sim: Simulator, tmp_path: Path) -> None:
    assert run_cli(sim, "all", "--out-dir", str(tmp_path / "all")).exit_code == 0
    assert run_cli(sim, "tickets", "--out", str(tmp_path / "t.csv")).exit_code == 0
    state = tmp_path / "s.state.json"
    result = run_cli(sim, "tags", "--out", str(tmp_path / "g.csv"), "--state", str(state))
    assert result.exit_code == 0
    assert sorted(p.name for p in tmp_path.rglob("*.lock")) == []
