"""The state file: saved atomically, refused when from another export, corrupt, foreign or
newer, and locked against a second run."""

from __future__ import annotations

import json
import multiprocessing
from pathlib import Path

import pytest

from gorgias_export.errors import ExitCode, StateConflict
from gorgias_export.jobs.state import STATE_FORMAT_VERSION, export_lock, load_state, save_state

IDENTITY = {"command": "tickets", "output": "/x/tickets.csv", "format": "csv", "since": None}


def test_round_trip_leaves_no_temporary_file(tmp_path: Path) -> None:
    path = tmp_path / "s.state.json"
    save_state(path, IDENTITY, {"output_bytes": 10})
    saved = load_state(path, IDENTITY)
    assert saved is not None and saved.progress == {"output_bytes": 10}
    assert [p.name for p in tmp_path.iterdir()] == ["s.state.json"]


def test_no_state_is_none(tmp_path: Path) -> None:
    assert load_state(tmp_path / "none.json", IDENTITY) is None


@pytest.mark.parametrize(
    ("key", "value"), [("since", "2024-01-01"), ("format", "jsonl"), ("output", "/y.csv")]
)
def test_a_state_from_another_export_is_refused_naming_the_difference(
    tmp_path: Path, key: str, value: str
) -> None:
    path = tmp_path / "s.json"
    save_state(path, IDENTITY, {})
    with pytest.raises(StateConflict) as caught:
        load_state(path, {**IDENTITY, key: value})
    assert key in caught.value.message and "--fresh" in caught.value.message
    assert caught.value.exit_code == ExitCode.CONFLICT


def test_a_corrupt_or_truncated_state_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "s.json"
    save_state(path, IDENTITY, {"output_bytes": 10})
    whole = path.read_text()
    for cut in (len(whole) // 3, len(whole) - 2):
        path.write_text(whole[:cut])
        with pytest.raises(StateConflict, match="corrupt"):
            load_state(path, IDENTITY)


@pytest.mark.parametrize("content", ["", "{", '{"version": 1}', "[]", "\x00\x01", "id,name\n"])
def test_a_file_that_is_not_ours_is_never_called_corrupt(tmp_path: Path, content: str) -> None:
    path = tmp_path / "s.json"
    path.write_text(content)
    with pytest.raises(StateConflict, match="not a gorgias-export state file"):
        load_state(path, IDENTITY)


def test_a_state_from_a_newer_version_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "s.json"
    path.write_text(
        json.dumps({"format_version": STATE_FORMAT_VERSION + 1, "export": IDENTITY, "progress": {}})
    )
    with pytest.raises(StateConflict, match="newer"):
        load_state(path, IDENTITY)


def _try_lock(path: str, queue: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    try:
        with export_lock(Path(path)):
            queue.put("got it")
    except StateConflict as error:
        queue.put(error.message)


def test_a_second_run_cannot_take_the_lock(tmp_path: Path) -> None:
    path = tmp_path / "s.json"
    queue: multiprocessing.Queue = multiprocessing.Queue()  # type: ignore[type-arg]
    with export_lock(path):
        worker = multiprocessing.Process(target=_try_lock, args=(str(path), queue))
        worker.start()
        worker.join(10)
        assert "Another gorgias-export run" in queue.get(timeout=5)
    worker = multiprocessing.Process(target=_try_lock, args=(str(path), queue))
    worker.start()
    worker.join(10)
    assert queue.get(timeout=5) == "got it"  # released when the holder is done


def test_saving_never_writes_through_a_file_at_the_temporary_name(tmp_path: Path) -> None:
    """Regression (found by the review of the redesign): save_state now writes a fixed
    `<state>.tmp`, opened with O_CREAT|O_TRUNC and no O_EXCL/O_NOFOLLOW (0.1.0: mkstemp, a fresh
    name each time). Whatever sits at that name is truncated and overwritten with the state
    before the rename: here a symlink to another file (in a directory others can write to, a way
    to clobber any file of the user running the export), or just a file of that name."""
    precious = tmp_path / "precious.txt"
    precious.write_text("keep me\n")
    path = tmp_path / "out.csv.state.json"
    (tmp_path / "out.csv.state.json.tmp").symlink_to(precious)
    save_state(path, IDENTITY, {"output_bytes": 10})
    assert precious.read_text() == "keep me\n"


def test_a_state_file_is_readable_by_its_owner_only_as_before(tmp_path: Path) -> None:
    """Regression (found by the review of the redesign): 0.1.0's state files were created by
    mkstemp, mode 0600; they are now created 0644 (less the umask), and every save of an old
    state widens it. A state holds the export's identity: the filter values (`customers
    --email`, `get --param search=...`), the output path, the API host."""
    import os
    import stat

    path = tmp_path / "s.state.json"
    old = os.umask(0o022)
    try:
        save_state(path, IDENTITY, {"output_bytes": 10})
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
