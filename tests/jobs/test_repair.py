"""`--repair` (issue 12, "offer a repair instead of a full re-download"): a finished export with
bytes added after its end is set aside whole at `<out>.changed-<time>`, the exported part put
back, and the export goes on exactly once. Where the exported part itself does not verify,
--repair refuses and changes nothing."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from gorgias_export.errors import ExitCode
from gorgias_sim import Simulator
from tests.support.cli import assert_one_line_error, env_for, run_cli

pytestmark = pytest.mark.sim(seed=5, tickets=120)

ADDED = b"my own note,added by hand\r\n"


def _files(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(directory.iterdir()) if p.is_file()}


def _side_files(out: Path) -> list[Path]:
    return sorted(out.parent.glob(out.name + ".changed-*"))


@pytest.mark.parametrize("name", ["tickets.csv", "tickets.jsonl"])
def test_added_lines_are_set_aside_and_the_export_goes_on_as_a_clean_run(
    sim: Simulator, tmp_path: Path, name: str
) -> None:
    clean = tmp_path / "clean" / name
    clean.parent.mkdir()
    assert run_cli(sim, "tickets", "--out", str(clean)).exit_code == 0
    out = tmp_path / "mine" / name
    out.parent.mkdir()
    assert run_cli(sim, "tickets", "--out", str(out)).exit_code == 0
    with out.open("ab") as handle:
        handle.write(ADDED)
    changed = out.read_bytes()

    refused = assert_one_line_error(run_cli(sim, "tickets", "--out", str(out)), ExitCode.CONFLICT)
    assert "--repair" in refused and out.read_bytes() == changed

    sim.dataset.add_ticket(messages=3)  # the rerun has something new to add after the repair
    result = run_cli(sim, "tickets", "--out", str(out), "--repair")
    assert result.exit_code == 0, result.stderr
    sides = _side_files(out)
    assert len(sides) == 1 and sides[0].read_bytes() == changed  # the user's bytes, all kept
    assert str(sides[0]) in result.stderr
    assert run_cli(sim, "tickets", "--out", str(clean)).exit_code == 0
    assert out.read_bytes() == clean.read_bytes()  # every row once, as a clean run has them
    assert run_cli(sim, "tickets", "--out", str(out)).exit_code == 0  # and it is ours again


@pytest.mark.parametrize(
    ("spoil", "why"),
    [
        (lambda data: b"\xef\xbb\xbf" + data + ADDED, "byte-order mark"),
        (lambda data: data[:10] + b"X" + data[11:] + ADDED, "does not begin"),
        (lambda data: data[:-5] + b"XXXXX" + ADDED, "changed before byte"),
        (lambda data: data[:-100], "shorter"),
    ],
    ids=["bom", "edited-head", "edited-before-checkpoint", "cut"],
)
def test_repair_refuses_what_it_cannot_vouch_for_and_changes_nothing(
    sim: Simulator, tmp_path: Path, spoil: object, why: str
) -> None:
    out = tmp_path / "tickets.csv"
    assert run_cli(sim, "tickets", "--out", str(out)).exit_code == 0
    out.write_bytes(spoil(out.read_bytes()))  # type: ignore[operator]
    before = _files(tmp_path)
    result = run_cli(sim, "tickets", "--out", str(out), "--repair")
    message = assert_one_line_error(result, ExitCode.CONFLICT)
    assert "--repair left" in message and why in message and "nothing to repair" in message
    assert _files(tmp_path) == before and not _side_files(out)


_KILLING_CHILD = """
import os, signal, sys
from gorgias_export.cli import app
from gorgias_export.jobs import repair, targets
def die(*args, **kwargs):
    os.kill(os.getpid(), signal.SIGKILL)
step = sys.argv.pop(1)
if step == "done":  # the repair finished: the line that says so is its next step
    targets.log.warning = die
else:
    setattr(repair, step, die)
app.main()
"""


@pytest.mark.parametrize("step", ["fsync_directory", "_put_back", "done"])
def test_a_repair_killed_at_any_step_ends_exactly_once_on_the_rerun(
    sim: Simulator, tmp_path: Path, clean: bytes, step: str
) -> None:
    out = tmp_path / "tickets.csv"
    assert run_cli(sim, "tickets", "--out", str(out)).exit_code == 0
    assert out.read_bytes() == clean
    with out.open("ab") as handle:
        handle.write(ADDED)
    changed = out.read_bytes()
    # Killed (kill -9, by itself) when the repair reaches `step`: just after the set-aside link,
    # once the verified copy is written, or after the rename that puts it back.
    child = subprocess.run(
        [sys.executable, "-c", _KILLING_CHILD, step, "tickets", "--out", str(out), "--repair"],
        env={**os.environ, **env_for(sim)},
        capture_output=True,
        timeout=120,
    )
    assert child.returncode == -9, child.stderr
    assert [p.read_bytes() for p in _side_files(out)] == [changed]  # already safe
    result = run_cli(sim, "tickets", "--out", str(out), "--repair")
    assert result.exit_code == 0, result.stderr
    assert out.read_bytes() == clean
    assert [p.read_bytes() for p in _side_files(out)] == [changed]  # one side file, reused
    assert not out.with_name(out.name + ".repair").exists()
