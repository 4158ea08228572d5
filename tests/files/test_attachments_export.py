"""`attachments` against the simulator: every file once with the right bytes, private ones
through the API's signed redirect, gone ones listed, credentials never on the uploads host."""

from __future__ import annotations

import io
import json
import os
import shutil
from pathlib import Path

import pytest
from rich.console import Console

from gorgias_export.api.client import GorgiasClient
from gorgias_export.cli.display import ProgressDisplay
from gorgias_export.config import Secret, Settings
from gorgias_export.errors import ExitCode
from gorgias_export.exports.attachments import FilesStatus
from gorgias_export.exports.status import Status
from gorgias_export.jobs.attachments import AttachmentsJob, open_files_target
from gorgias_export.jobs.lifecycle import run_job
from gorgias_sim import Simulator
from gorgias_sim.uploads import attach
from tests.files.helpers import (
    check_directory,
    expected_files,
    manifest,
    no_credentials_reached_uploads,
)
from tests.support.account import EMAIL, SECRET_KEY
from tests.support.cli import assert_one_line_error, run_cli, run_ok

pytestmark = pytest.mark.sim(uploads=True, tickets=120)


def _tree(path: Path) -> set[str]:
    return {
        str(Path(root, n).relative_to(path))
        for root, dirs, files in os.walk(path)
        for n in dirs + files
    }


def test_every_file_once_with_its_bytes_and_nothing_outside(sim: Simulator, tmp_path: Path) -> None:
    (tmp_path / "neighbour.txt").write_text("not ours")
    before = _tree(tmp_path)
    out = tmp_path / "backup"
    run_ok(sim, "attachments", "--out-dir", str(out))
    rows = check_directory(out, sim)
    assert {r["status"] for r in rows} >= {"ok", "gone", "forbidden"}
    assert _tree(tmp_path) - before == {"backup"} | {f"backup/{p}" for p in _tree(out)}
    assert (tmp_path / "neighbour.txt").read_text() == "not ours"
    no_credentials_reached_uploads(sim)
    # The API is asked once per private file (its signed URL), never for a public one.
    assert sim.uploads is not None
    private = [p for p, f in sim.uploads.files.items() if f.access == "private"]
    downloads = [r for r in sim.requests if "/download/" in r.path]
    assert len(downloads) == len(private)
    assert all(r.authorized for r in downloads)


def test_hostile_names_stay_inside_and_apart(sim: Simulator, tmp_path: Path) -> None:
    out = tmp_path / "backup"
    run_ok(sim, "attachments", "--out-dir", str(out))
    rows = check_directory(out, sim)
    names = {r["name"] for r in rows}
    assert "../../etc/passwd" in names and "CON.txt" in names
    paths = [r["path"] for r in rows if r["path"]]
    assert len(paths) == len(set(paths))
    for path in paths:
        assert ".." not in Path(path).parts
        assert all(part.isprintable() for part in Path(path).parts)
    twins = [r for r in rows if r["name"] == "report.pdf"]
    assert len(twins) == 2 and twins[0]["message_id"] == twins[1]["message_id"]


def test_a_rerun_fetches_only_new_files(sim: Simulator, tmp_path: Path) -> None:
    out = tmp_path / "backup"
    run_ok(sim, "attachments", "--out-dir", str(out))
    first = check_directory(out, sim)
    sim.reset_stats()
    assert sim.uploads is not None
    before = len(sim.uploads.requests)
    run_ok(sim, "attachments", "--out-dir", str(out))
    assert len(sim.uploads.requests) == before
    assert check_directory(out, sim) == first
    with sim.dataset.lock:
        ticket_id = sim.dataset.tickets[0]["id"]
    message = sim.dataset.add_message(ticket_id)
    with sim.dataset.lock:
        attach(message, sim.uploads, 4)  # the 4th kind: a private file
    run_ok(sim, "attachments", "--out-dir", str(out))
    rows = check_directory(out, sim)
    assert rows[: len(first)] == first
    assert [r["message_id"] for r in rows[len(first) :]] == [message["id"]]
    assert len(sim.uploads.requests) == before + 2  # refused plain URL, then the signed one
    no_credentials_reached_uploads(sim)


def test_files_past_max_size_are_listed_too_large(sim: Simulator, tmp_path: Path) -> None:
    out = tmp_path / "backup"
    run_ok(sim, "attachments", "--out-dir", str(out), "--max-size", "20K")
    rows = manifest(out)
    expected = expected_files(sim)
    too_large = [r for r in rows if r["status"] == "too_large"]
    assert too_large
    for row in rows:
        if row["status"] == "ok":
            assert row["size"] <= 20 * 1024
            assert expected[row["url"]][1] == row["sha256"]
    assert not list((out / ".tmp").iterdir())


def test_a_manifest_not_ours_is_refused(sim: Simulator, tmp_path: Path) -> None:
    out = tmp_path / "backup"
    out.mkdir()
    (out / "manifest.csv").write_text("my own notes\n")
    result = run_cli(sim, "attachments", "--out-dir", str(out))
    assert_one_line_error(result, ExitCode.CONFLICT)
    assert (out / "manifest.csv").read_text() == "my own notes\n"


def test_an_edited_or_appended_csv_manifest_is_refused_not_cut_back(
    sim: Simulator, tmp_path: Path
) -> None:
    """manifest.csv is fingerprinted like manifest.jsonl: a rerun refuses (exit 7, nothing
    changed) lines added after a finished run, or an edit within its rows."""
    out = tmp_path / "backup"
    run_ok(sim, "attachments", "--out-dir", str(out))
    csv = out / "manifest.csv"
    exported = csv.read_bytes()
    csv.write_bytes(exported + b"my,notes\n")
    result = run_cli(sim, "attachments", "--out-dir", str(out))
    assert_one_line_error(result, ExitCode.CONFLICT)
    assert csv.read_bytes() == exported + b"my,notes\n"
    edited = exported.replace(b",ok,", b",OK,", 1)
    assert edited != exported
    csv.write_bytes(edited)
    result = run_cli(sim, "attachments", "--out-dir", str(out))
    assert_one_line_error(result, ExitCode.CONFLICT)
    assert csv.read_bytes() == edited
    csv.write_bytes(exported)
    run_ok(sim, "attachments", "--out-dir", str(out))
    assert csv.read_bytes() == exported


def test_a_bad_max_size_is_a_usage_error(sim: Simulator, tmp_path: Path) -> None:
    result = run_cli(sim, "attachments", "--out-dir", str(tmp_path), "--max-size", "lots")
    assert_one_line_error(result, ExitCode.USAGE)


def test_a_link_planted_in_dir_is_never_written_through(sim: Simulator, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    out = tmp_path / "backup"
    out.mkdir()
    (out / "files").symlink_to(outside)
    result = run_cli(sim, "attachments", "--out-dir", str(out))
    stderr = assert_one_line_error(result, ExitCode.IO)
    assert "not a directory" in stderr
    assert list(outside.iterdir()) == []


@pytest.mark.parametrize("width", [80, 160])
def test_the_progress_line_draws_an_attachments_run(
    sim: Simulator, tmp_path: Path, width: int
) -> None:
    statuses: list[Status] = []
    settings = Settings(base_url=sim.url, email=EMAIL, api_key=Secret(SECRET_KEY))
    client = GorgiasClient(settings)
    job = AttachmentsJob((tmp_path / "out").resolve())
    run_job(client, job, open_files_target(job, sim.url), statuses.append)
    display = ProgressDisplay(enabled=True, console=Console(file=io.StringIO()))
    for status in statuses:
        display.update(status)
    screen = io.StringIO()
    Console(file=screen, force_terminal=True, width=width, color_system=None).print(display.line())
    line = screen.getvalue().rstrip("\n")
    files = statuses[-1]
    assert isinstance(files, FilesStatus) and files.complete and files.files > 0
    assert line.startswith("attachments") and f"{files.files:,} f" in line, line
    assert "\n" not in line and len(line) <= width


def test_a_fresh_run_over_files_in_place_writes_the_clean_runs_manifest(
    sim: Simulator, tmp_path: Path
) -> None:
    """A file found in place (hashed, not downloaded) gets the row a download gives it."""
    clean, again = tmp_path / "clean", tmp_path / "again"
    run_ok(sim, "attachments", "--out-dir", str(clean))
    run_ok(sim, "attachments", "--out-dir", str(again))
    run_ok(sim, "attachments", "--out-dir", str(again), "--fresh")
    assert (again / "manifest.csv").read_bytes() == (clean / "manifest.csv").read_bytes()
    assert (again / "manifest.jsonl").read_bytes() == (clean / "manifest.jsonl").read_bytes()


def test_a_copied_dir_resumes_where_it_was(sim: Simulator, tmp_path: Path) -> None:
    """The state in DIR speaks of DIR wherever it is: a copy (or a move) reruns without
    --fresh, downloading nothing again; a state that still names its old DIR does too."""
    out = tmp_path / "backup"
    run_ok(sim, "attachments", "--out-dir", str(out))
    first = manifest(out)
    copy = tmp_path / "copy"
    shutil.copytree(out, copy)
    assert sim.uploads is not None
    before = len(sim.uploads.requests)
    run_ok(sim, "attachments", "--out-dir", str(copy))
    assert len(sim.uploads.requests) == before
    assert manifest(copy) == first
    state = copy / "attachments.state.json"
    document = json.loads(state.read_text())
    elsewhere = tmp_path / "elsewhere"
    document["export"]["out_dir"] = str(elsewhere)
    document["export"]["output"] = str(elsewhere / "manifest.jsonl")
    state.write_text(json.dumps(document))
    run_ok(sim, "attachments", "--out-dir", str(copy))
    assert len(sim.uploads.requests) == before
    assert manifest(copy) == first
