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


def _temporaries(out: Path) -> list[Path]:
    return sorted(out.parent.glob(out.name + ".gorgias-repair-*"))


def _finished_with_added_line(sim: Simulator, out: Path) -> bytes:
    assert run_cli(sim, "tickets", "--out", str(out)).exit_code == 0
    with out.open("ab") as handle:
        handle.write(ADDED)
    return out.read_bytes()


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
    # What was checked, not a claim that every byte is "as exported" (review D7).
    said = " ".join(result.stderr.split())
    assert "first and last 16 KiB checked" in said and "as exported" not in said
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
from gorgias_export.jobs import repair
def die(*args, **kwargs):
    os.kill(os.getpid(), signal.SIGKILL)
step = sys.argv.pop(1)
if step == "done":  # the repair finished: the line that says so is its next step
    repair.log.warning = die
else:
    setattr(repair, step, die)
app.main()
"""


def _killed_at(sim: Simulator, out: Path, step: str) -> None:
    """A `--repair` run killed (kill -9, by itself) when it reaches `step`: never a timer."""
    child = subprocess.run(
        [sys.executable, "-c", _KILLING_CHILD, step, "tickets", "--out", str(out), "--repair"],
        env={**os.environ, **env_for(sim)},
        capture_output=True,
        timeout=120,
    )
    assert child.returncode == -9, child.stderr


@pytest.mark.parametrize("step", ["_name_side", "fsync_directory", "_put_back", "done"])
def test_a_repair_killed_at_any_step_ends_exactly_once_on_the_rerun(
    sim: Simulator, tmp_path: Path, clean: bytes, step: str
) -> None:
    out = tmp_path / "tickets.csv"
    changed = _finished_with_added_line(sim, out)
    assert changed.startswith(clean)
    # Killed with the whole copy written but not yet named, just after it is named, once the
    # verified copy is written, or after the rename that puts it back.
    _killed_at(sim, out, step)
    if step != "_name_side":
        assert [p.read_bytes() for p in _side_files(out)] == [changed]  # already safe
        assert not os.path.samefile(_side_files(out)[0], out)  # a copy, not a second name
    result = run_cli(sim, "tickets", "--out", str(out), "--repair")
    assert result.exit_code == 0, result.stderr
    assert out.read_bytes() == clean
    assert [p.read_bytes() for p in _side_files(out)] == [changed]  # one side file, reused
    assert not _temporaries(out)  # what a kill left of ours is removed


def test_the_side_copy_survives_a_fresh_run_after_a_repair_killed_once_it_was_made(
    sim: Simulator, tmp_path: Path
) -> None:
    """Review D2: the side file was a hard link to the output until the final rename, so the
    next command writing the output in place (`--fresh`, the refusal's `truncate` advice) took
    the user's lines from the "kept" file too."""
    out = tmp_path / "tickets.csv"
    changed = _finished_with_added_line(sim, out)
    _killed_at(sim, out, "fsync_directory")
    assert run_cli(sim, "tickets", "--out", str(out), "--fresh").exit_code == 0
    assert [p.read_bytes() for p in _side_files(out)] == [changed]
    os.truncate(out, 10)  # what the refusal tells a user to do, at any size
    assert [p.read_bytes() for p in _side_files(out)] == [changed]


def test_files_of_the_user_that_look_like_ours_are_never_removed(
    sim: Simulator, tmp_path: Path, clean: bytes
) -> None:
    """Review D3: `<out>.repair` was deleted as "a leftover" whoever wrote it. Only temporaries
    with our exact name whose bytes the side copy holds are removed."""
    out = tmp_path / "tickets.csv"
    changed = _finished_with_added_line(sim, out)
    theirs = {
        out.with_name("tickets.csv.repair"): b"MY PRECIOUS REPAIR NOTES\n",
        out.with_name("tickets.csv.gorgias-repair-0123456789abcdef.tmp"): b"not a prefix\n",
        out.with_name("tickets.csv.gorgias-repair-mine.tmp"): changed[:100],  # not our name
    }
    for path, data in theirs.items():
        path.write_bytes(data)
    result = run_cli(sim, "tickets", "--out", str(out), "--repair")
    assert result.exit_code == 0, result.stderr
    assert out.read_bytes() == clean
    assert {path: path.read_bytes() for path in theirs} == theirs


def test_the_repaired_output_and_its_side_copy_keep_the_mode_of_the_users_file(
    sim: Simulator, tmp_path: Path
) -> None:
    out = tmp_path / "tickets.csv"
    _finished_with_added_line(sim, out)
    out.chmod(0o644)
    assert run_cli(sim, "tickets", "--out", str(out), "--repair").exit_code == 0
    assert (out.stat().st_mode & 0o777, _side_files(out)[0].stat().st_mode & 0o777) == (
        0o644,
        0o644,
    )


@pytest.mark.parametrize(
    ("out_name", "extra", "words"),
    [
        ("tickets.csv", ("--fresh",), "--fresh"),
        ("tickets.db", (), "CSV and JSONL"),
        ("tickets.xlsx", (), "CSV and JSONL"),
        ("-", (), "CSV and JSONL"),
    ],
    ids=["fresh", "sqlite", "xlsx", "stdout"],
)
def test_repair_where_it_would_be_ignored_or_drop_the_added_lines_is_a_usage_error(
    sim: Simulator, tmp_path: Path, out_name: str, extra: tuple[str, ...], words: str
) -> None:
    out = tmp_path / out_name
    if out_name == "tickets.csv":
        _finished_with_added_line(sim, out)
    before = _files(tmp_path)
    sim.reset_stats()
    target = out_name if out_name == "-" else str(out)
    result = run_cli(sim, "tickets", "--out", target, "--repair", *extra)
    message = assert_one_line_error(result, ExitCode.USAGE)
    assert "--repair" in message and words in message
    assert _files(tmp_path) == before and not sim.requests


@pytest.mark.parametrize(
    ("args", "added_to"),
    [
        (("get", "/api/tags", "--out", "{dir}/tags.jsonl"), "tags.jsonl"),
        (("attachments", "--out-dir", "{dir}"), "manifest.jsonl"),
        (("all", "--out-dir", "{dir}"), "tickets.csv"),
    ],
    ids=["get", "attachments", "all"],
)
def test_commands_without_repair_do_not_offer_it(
    sim: Simulator, tmp_path: Path, args: tuple[str, ...], added_to: str
) -> None:
    """Review D1: following the advice was a usage error ("No such option: --repair")."""
    argv = [a.format(dir=tmp_path / "out") for a in args]
    (tmp_path / "out").mkdir()
    assert run_cli(sim, *argv).exit_code == 0
    with (tmp_path / "out" / added_to).open("ab") as handle:
        handle.write(b'{"mine": 1}\n')
    message = assert_one_line_error(run_cli(sim, *argv), ExitCode.CONFLICT)
    assert "--repair" not in message and "truncate -s" in message
    assert run_cli(sim, *argv, "--repair").exit_code == ExitCode.USAGE  # indeed not offered


def test_a_file_made_at_the_side_name_in_the_meantime_is_never_replaced(
    sim: Simulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The side name is checked free, then taken by a link that cannot replace: a file someone
    made there in between (the side name chosen to be taken, to stand for it) is kept."""
    from gorgias_export.jobs import repair

    out = tmp_path / "tickets.csv"
    changed = _finished_with_added_line(sim, out)
    theirs = tmp_path / "tickets.csv.changed-theirs"
    theirs.write_bytes(b"someone else's file\n")
    monkeypatch.setattr(repair, "_free_name", lambda path: theirs)
    result = run_cli(sim, "tickets", "--out", str(out), "--repair")
    assert_one_line_error(result, ExitCode.IO)
    assert theirs.read_bytes() == b"someone else's file\n"
    assert out.read_bytes() == changed
    assert _temporaries(out) == []
