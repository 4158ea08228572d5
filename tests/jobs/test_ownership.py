"""An output is ours before we cut it or append to it (issue 12, High 3).

The state records a fingerprint of the output's bytes at each checkpoint; a rerun checks the file
against it before cutting back or appending. A foreign, edited or re-saved file is refused
(exit 7, one line saying what changed) and left byte for byte as it was; a torn tail after a
crash is still cut back. `--fresh` replaces a file that does not look like ours only with
`--overwrite`. Each test below but the torn-tail one failed before the fingerprint existed.
"""

from __future__ import annotations

import json
import signal
from pathlib import Path

import pytest

from gorgias_export.errors import ExitCode
from gorgias_export.jobs.ownership import CHECK_KEY
from gorgias_sim import Simulator
from tests.support.cli import assert_one_line_error, interrupt_at_request, run_cli

pytestmark = pytest.mark.sim(seed=3, tickets=150)


def _export(sim: Simulator, out: Path, *args: str) -> bytes:
    result = run_cli(sim, *args, "--out", str(out))
    assert result.exit_code == 0, result.stderr
    return out.read_bytes()


def _refused(sim: Simulator, out: Path, *args: str) -> str:
    """Rerun, and require a refusal that left the output exactly as it was."""
    before = out.read_bytes()
    message = assert_one_line_error(run_cli(sim, *args, "--out", str(out)), ExitCode.CONFLICT)
    assert out.read_bytes() == before
    return message


def test_a_foreign_file_put_at_the_output_is_refused_not_cut(
    sim: Simulator, tmp_path: Path
) -> None:
    """Measured before: a foreign 6.5 MB file at the output path was cut to 2.7 MB."""
    out = tmp_path / "t.csv"
    ours = _export(sim, out, "tickets")
    out.write_bytes(b"id,name\r\n" + b"7,someone else's row\r\n" * (len(ours) // 10))
    assert "does not begin with the bytes gorgias-export wrote" in _refused(sim, out, "tickets")


def test_a_line_appended_to_a_finished_export_is_refused_not_deleted(
    sim: Simulator, tmp_path: Path
) -> None:
    """Measured before: the appended line was deleted, with exit 0."""
    out = tmp_path / "t.csv"
    ours = _export(sim, out, "tickets")
    with out.open("ab") as handle:
        handle.write(b"my own note,,,\r\n")
    message = _refused(sim, out, "tickets")
    assert f"16 bytes after byte {len(ours):,}" in message and "truncate -s" in message


def test_a_spreadsheet_resave_with_a_byte_order_mark_is_refused_and_named(
    sim: Simulator, tmp_path: Path
) -> None:
    """Measured before: the cut landed mid-row and glued the next run's first row to it."""
    out = tmp_path / "t.csv"
    ours = _export(sim, out, "tickets")
    out.write_bytes(b"\xef\xbb\xbf" + ours)
    assert "byte-order mark" in _refused(sim, out, "tickets")


def test_an_edit_just_before_the_checkpoint_is_refused(sim: Simulator, tmp_path: Path) -> None:
    out = tmp_path / "t.csv"
    ours = bytearray(_export(sim, out, "tickets"))
    ours[-10] = ord("X") if ours[-10] != ord("X") else ord("Y")  # same length, one byte changed
    out.write_bytes(bytes(ours))
    assert "was changed before byte" in _refused(sim, out, "tickets")


def test_a_jsonl_entity_file_replaced_by_another_is_refused(sim: Simulator, tmp_path: Path) -> None:
    out = tmp_path / "customers.jsonl"
    ours = _export(sim, out, "customers")
    out.write_bytes(b'{"not": "ours"}\n' * (len(ours) // 8))
    assert "does not begin" in _refused(sim, out, "customers")


def test_a_torn_tail_after_a_crash_is_still_cut_back_and_resumed(
    sim: Simulator, tmp_path: Path
) -> None:
    clean = tmp_path / "clean.csv"
    expected = _export(sim, clean, "tickets")
    out = tmp_path / "t.csv"
    assert interrupt_at_request(sim, out, 4).returncode == -signal.SIGKILL
    state = json.loads(out.with_name("t.csv.state.json").read_text())
    assert state["progress"][CHECK_KEY]["open"] is True
    with out.open("ab") as handle:
        handle.write(b'12345,678,"half a ro')  # what a crash mid-write leaves
    assert _export(sim, out, "tickets") == expected


def test_a_state_without_fingerprint_is_checked_by_length_as_before_then_gets_one(
    sim: Simulator, tmp_path: Path
) -> None:
    """States written by the previous release have no fingerprint: they resume as they did."""
    out = tmp_path / "t.csv"
    ours = _export(sim, out, "tickets")
    state_path = out.with_name("t.csv.state.json")
    document = json.loads(state_path.read_text())
    del document["progress"][CHECK_KEY]
    state_path.write_text(json.dumps(document))
    with out.open("ab") as handle:
        handle.write(b"torn")
    after = _export(sim, out, "tickets")
    assert after == ours  # the extra bytes cut back, as before
    check = json.loads(state_path.read_text())["progress"][CHECK_KEY]
    assert check["length"] == len(after) and check["open"] is False


def test_fresh_leaves_a_file_that_is_not_ours_alone_unless_overwrite(
    sim: Simulator, tmp_path: Path
) -> None:
    """Measured before: for an unrelated notes.csv, the advice "rerun with --fresh" destroyed
    it."""
    out = tmp_path / "notes.csv"
    out.write_bytes(b"date,note\r\n2024-01-01,call the bank\r\n")
    message = _refused(sim, out, "tickets")
    assert "--fresh" not in message and "not a gorgias-export tickets csv file" in message
    message = _refused(sim, out, "tickets", "--fresh")
    assert "--overwrite" in message
    usage = run_cli(sim, "tickets", "--out", str(out), "--overwrite")
    assert "--overwrite goes with --fresh" in assert_one_line_error(usage, ExitCode.USAGE)
    assert _export(sim, out, "tickets", "--fresh", "--overwrite").startswith(b"ticket_id,")


def test_fresh_still_rewrites_a_file_that_looks_like_ours(sim: Simulator, tmp_path: Path) -> None:
    out = tmp_path / "t.jsonl"
    ours = _export(sim, out, "tickets")
    out.with_name("t.jsonl.state.json").unlink()  # our export, its state lost
    assert "--fresh" in _refused(sim, out, "tickets")
    assert _export(sim, out, "tickets", "--fresh") == ours
    out.write_bytes(b"plain text, not JSON lines\n")
    assert "--overwrite" in _refused(sim, out, "tickets", "--fresh")


def test_all_refuses_an_edited_file_and_a_foreign_one_under_fresh(
    sim: Simulator, tmp_path: Path
) -> None:
    out_dir = tmp_path / "backup"
    assert run_cli(sim, "all", "--out-dir", str(out_dir)).exit_code == 0
    customers = out_dir / "customers.csv"
    exported = customers.read_bytes()
    customers.write_bytes(b"\xef\xbb\xbf" + exported)
    files = {path.name: path.read_bytes() for path in out_dir.iterdir() if path.suffix == ".csv"}
    sim.reset_stats()
    result = run_cli(sim, "all", "--out-dir", str(out_dir))
    assert "byte-order mark" in assert_one_line_error(result, ExitCode.CONFLICT)
    assert {name: (out_dir / name).read_bytes() for name in files} == files
    assert sim.requests == []  # refused before the entities before it ran again
    customers.write_bytes(exported)
    notes = out_dir / "tickets.csv"
    notes.write_bytes(b"date,note\r\n")
    result = run_cli(sim, "all", "--out-dir", str(out_dir), "--fresh")
    assert "--overwrite" in assert_one_line_error(result, ExitCode.CONFLICT)
    assert notes.read_bytes() == b"date,note\r\n" and sim.requests == []


def test_the_save_that_lets_rows_follow_a_finished_export_is_made_durable(
    sim: Simulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Its rename lost to a power cut while the rows after it survive, the rerun would refuse
    those rows as added by someone else: so the directory is synced after it, once a run."""
    from gorgias_export.jobs import targets

    synced: list[Path] = []
    monkeypatch.setattr(targets, "fsync_directory", synced.append)
    out = tmp_path / "t.csv"
    _export(sim, out, "tickets")
    _export(sim, out, "tickets")
    assert synced == [tmp_path, tmp_path]


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_a_state_without_fingerprint_still_refuses_a_file_that_does_not_begin_like_ours(
    sim: Simulator, tmp_path: Path, fmt: str
) -> None:
    """What a state of the previous release allows: its length, and how the file begins."""
    out = tmp_path / f"t.{fmt}"
    ours = _export(sim, out, "tickets")
    state_path = out.with_name(f"t.{fmt}.state.json")
    document = json.loads(state_path.read_text())
    del document["progress"][CHECK_KEY]
    state_path.write_text(json.dumps(document))
    out.write_bytes(b"\xef\xbb\xbf" + ours)
    assert "byte-order mark" in _refused(sim, out, "tickets")
    out.write_bytes(b"date,note\r\n" * len(ours))
    assert "does not begin like a gorgias-export tickets" in _refused(sim, out, "tickets")


def test_a_published_snapshot_edited_since_is_refused_not_replaced(
    sim: Simulator, tmp_path: Path
) -> None:
    """A configuration list is read in full each run and renamed over the output: the rename
    replaced a file edited since, or put there by someone else, without a word."""
    out = tmp_path / "tags.csv"
    ours = _export(sim, out, "tags")
    assert _export(sim, out, "tags") == ours  # unchanged: replaced by the same list
    out.write_bytes(ours + b"99,my own tag,,,,,,\r\n")
    assert "bytes after byte" in _refused(sim, out, "tags")
    out.write_bytes(ours[:-5])
    assert "shorter" in _refused(sim, out, "tags")
    out.unlink()  # gone: nothing to lose
    assert _export(sim, out, "tags") == ours
