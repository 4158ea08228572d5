"""`gorgias-export verify PATH`, on every format a tickets export comes in: complete, rows removed
from the export, a row written twice, and an account that changed since the export."""

from __future__ import annotations

import json
import signal
from pathlib import Path

import openpyxl
import pytest

from gorgias_export.errors import ExitCode
from gorgias_export.jobs.tickets import TicketsJob
from gorgias_export.jobs.xlsx_target import rows_store_path
from gorgias_export.output.sqlite_store import SqliteStore
from gorgias_export.output.workbook import write_workbook
from gorgias_sim import Simulator
from gorgias_sim.generate import TICKETS_WITHOUT_MESSAGES
from tests.support.cli import assert_one_line_error, interrupt_at_request, run_cli, run_ok
from tests.support.export_edits import FORMATS, drop, duplicate
from tests.support.outputs import read_jsonl
from tests.support.workbooks import read_sheets

pytestmark = pytest.mark.sim(seed=3, tickets=40)

KINDS = list(FORMATS)


def _export(sim: Simulator, tmp_path: Path, kind: str) -> Path:
    name, flags = FORMATS[kind]
    out = tmp_path / name
    run_ok(sim, "tickets", "--out", str(out), "--quiet", *flags)
    return out


def _verify(sim: Simulator, out: Path) -> tuple[int, str]:
    """Run verify on `out`, checking that it changed no byte of any file beside it."""
    before = _files(out.parent)
    result = run_cli(sim, "verify", str(out))
    assert "Traceback" not in result.stderr
    assert _files(out.parent) == before  # read-only: no file written, created or removed
    return result.exit_code, result.stdout


def _files(directory: Path) -> dict[str, bytes | None]:
    """Each file's bytes; for a WAL database's `-shm`, only that it is there: it is SQLite's
    shared memory, which every reader rebuilds (after a crash), not data."""
    return {
        str(p): None if p.name.endswith("-shm") else p.read_bytes()
        for p in sorted(directory.rglob("*"))
        if p.is_file()
    }


def _line(report: str, title: str) -> str:
    """The report's line about `title`, which must be there."""
    found = [line for line in report.splitlines() if line.startswith(title + ":")]
    assert found, report
    return found[0]


@pytest.mark.parametrize("kind", KINDS)
def test_a_complete_export_is_complete(sim: Simulator, tmp_path: Path, kind: str) -> None:
    out = _export(sim, tmp_path, kind)
    sim.reset_stats()
    code, report = _verify(sim, out)
    assert code == ExitCode.OK, report
    assert report.splitlines()[0] == f"{out}: complete."
    tickets, messages = len(sim.dataset.tickets), len(sim.dataset.messages)
    assert f"{tickets:,} tickets, {messages:,} messages" in report
    # One listing request per 100 tickets: nothing downloaded again.
    assert [r.path for r in sim.requests] == ["/api/tickets"]


@pytest.mark.parametrize("kind", KINDS)
def test_rows_removed_from_the_export_are_named(sim: Simulator, tmp_path: Path, kind: str) -> None:
    out = _export(sim, tmp_path, kind)
    ds = sim.dataset
    with_messages = [t for t in ds.tickets if t["messages_count"] >= 2]
    gone_ticket, thinned = with_messages[0]["id"], with_messages[1]
    empty = ds.special[TICKETS_WITHOUT_MESSAGES][0]
    lost_message = ds.messages_of(thinned["id"])[-1]["id"]
    drop(out, kind, {gone_ticket, empty}, {lost_message})

    code, report = _verify(sim, out)
    assert code == ExitCode.INCOMPLETE, report
    assert report.splitlines()[0] == f"{out}: INCOMPLETE."
    missing = _line(report, "Missing from the export")
    assert missing.startswith("Missing from the export: 2 tickets: ")
    assert str(gone_ticket) in missing and str(empty) in missing
    count = thinned["messages_count"]
    assert _line(report, "Messages missing from the export") == (
        f"Messages missing from the export: 1 ticket: {thinned['id']} "
        f"({count - 1} of {count} messages)."
    )
    assert "since the export" not in report  # nothing changed in the account


@pytest.mark.parametrize("kind", KINDS)
def test_a_duplicated_row_is_named(sim: Simulator, tmp_path: Path, kind: str) -> None:
    out = _export(sim, tmp_path, kind)
    message_id = sim.dataset.messages[5]["id"]
    duplicate(out, kind, message_id)
    code, report = _verify(sim, out)
    assert code == ExitCode.INCOMPLETE, report
    assert _line(report, "Duplicated rows") == (
        f"Duplicated rows: 1 message id: {message_id} (2 rows)."
    )
    assert "Missing" not in report and "More messages" not in report


@pytest.mark.parametrize("kind", KINDS)
def test_changes_in_the_account_since_are_not_missing_rows(
    sim: Simulator, tmp_path: Path, kind: str
) -> None:
    out = _export(sim, tmp_path, kind)
    ds = sim.dataset
    deleted = ds.tickets[3]["id"]
    ds.delete_ticket(deleted)
    new = ds.add_ticket(messages=2)["id"]
    grown = ds.tickets[7]["id"]
    ds.add_message(grown)
    code, report = _verify(sim, out)
    assert code == ExitCode.INCOMPLETE, report
    assert "but the account changed since (rerun the export)" in report.splitlines()[0]
    assert _line(report, "Deleted since the export") == (
        f"Deleted since the export: 1 ticket: {deleted} (deleted)."
    )
    assert _line(report, "New since the export") == f"New since the export: 1 ticket: {new}."
    assert _line(report, "Changed since the export").startswith(
        f"Changed since the export: 1 ticket: {grown} ("
    )
    assert "Missing" not in report and "not in the account" not in report

    # A rerun brings the export up to date (a file export keeps the deleted ticket's rows:
    # it is an append log; the mirror is current).
    run_ok(sim, "tickets", "--out", str(out), "--quiet", *FORMATS[kind][1])
    code, report = _verify(sim, out)
    assert "New since" not in report and "Changed since" not in report, report


def test_a_merged_ticket_is_named_as_merged(sim: Simulator, tmp_path: Path) -> None:
    out = _export(sim, tmp_path, "csv")
    source, target = sim.dataset.tickets[4]["id"], sim.dataset.tickets[9]["id"]
    sim.dataset.merge_tickets(source, target)
    code, report = _verify(sim, out)
    assert code == ExitCode.INCOMPLETE, report
    assert f"Deleted since the export: 1 ticket: {source} (merged)." in report
    assert _line(report, "Changed since the export").startswith(
        f"Changed since the export: 1 ticket: {target} ("
    )


def test_a_file_that_is_not_an_export_is_refused_in_one_line(
    sim: Simulator, tmp_path: Path
) -> None:
    stranger = tmp_path / "notes.csv"
    stranger.write_text("ticket_id,message_id\r\n1,2\r\n", encoding="utf-8")
    result = run_cli(None, "verify", str(stranger))  # no settings needed to refuse it
    stderr = assert_one_line_error(result, ExitCode.CONFLICT)
    assert "is not a gorgias-export tickets export" in stderr
    assert sim.requests == []


def test_another_commands_export_is_refused(sim: Simulator, tmp_path: Path) -> None:
    out = tmp_path / "tags.csv"
    run_ok(sim, "tags", "--out", str(out), "--quiet")
    stderr = assert_one_line_error(run_cli(sim, "verify", str(out)), ExitCode.USAGE)
    assert "the tags command's export" in stderr


@pytest.mark.parametrize("fmt", ["csv", "sqlite", "xlsx"])
def test_the_tickets_of_an_all_directory(sim: Simulator, tmp_path: Path, fmt: str) -> None:
    out_dir = tmp_path / "backup"
    run_ok(sim, "all", "--out-dir", str(out_dir), "--format", fmt, "--quiet")
    path = out_dir / ("gorgias.db" if fmt == "sqlite" else f"tickets.{fmt}")
    code, report = _verify(sim, path)
    assert code == ExitCode.OK, report
    assert report.splitlines()[0] == f"{path}: complete."


@pytest.mark.parametrize("name", ["tickets.csv", "mirror.db"])
def test_an_interrupted_export_is_incomplete(sim: Simulator, tmp_path: Path, name: str) -> None:
    out = tmp_path / name
    assert interrupt_at_request(sim, out, 4).returncode == -signal.SIGKILL
    code, report = _verify(sim, out)
    assert code == ExitCode.INCOMPLETE, report
    assert "Its last run did not finish: rerun the export to complete it." in report
    assert _line(report, "Missing from the export")  # the rows it did not get to


def test_another_accounts_settings_are_refused(sim: Simulator, tmp_path: Path) -> None:
    out = _export(sim, tmp_path, "csv")
    other = {"GORGIAS_BASE_URL": sim.url.replace("127.0.0.1", "localhost")}
    stderr = assert_one_line_error(run_cli(sim, "verify", str(out), env=other), ExitCode.CONFLICT)
    assert "but the settings point at" in stderr


def test_a_partial_export_is_refused(sim: Simulator, tmp_path: Path) -> None:
    out = tmp_path / "q1.csv"
    run_ok(sim, "tickets", "--out", str(out), "--since", "2024-01-01", "--quiet")
    stderr = assert_one_line_error(run_cli(sim, "verify", str(out)), ExitCode.USAGE)
    assert "verify checks whole-account exports only" in stderr


def test_rows_in_the_export_the_account_never_had_are_extra(sim: Simulator, tmp_path: Path) -> None:
    out = _export(sim, tmp_path, "jsonl")
    rows = read_jsonl(out)
    bogus = {**rows[0], "ticket_id": 123, "message_id": 456}
    with out.open("a", encoding="utf-8") as handle:
        handle.write(json.dumps(bogus) + "\n" + "{torn\n")
    code, report = _verify(sim, out)
    assert code == ExitCode.INCOMPLETE, report
    assert "In the export, not in the account: 1 ticket: 123." in report
    assert f"Unreadable rows: 1 row: {len(rows) + 2}." in report


@pytest.mark.parametrize("kind", ["csv", "jsonl", "per-ticket"])
def test_what_the_deletions_log_records_is_accounted_for(
    sim: Simulator, tmp_path: Path, kind: str
) -> None:
    """A file export keeps a deleted or merged ticket's rows and records the removal in
    `<out>.deletions.jsonl` (the deletion pass's format): verify takes the record, counts a
    merged ticket's rows for the ticket it went into, and calls the export complete."""
    out = _export(sim, tmp_path, kind)
    ds = sim.dataset
    deleted, source, target = (ds.tickets[i]["id"] for i in (3, 4, 9))
    ds.delete_ticket(deleted)
    ds.merge_tickets(source, target)
    run_ok(sim, "tickets", "--out", str(out), "--quiet", *FORMATS[kind][1])
    # The rerun's deletion pass wrote the log; verify with it, then as if there were none.
    written = Path(f"{out}.deletions.jsonl")
    assert {
        (e["id"], e["merged_into"]) for e in map(json.loads, written.read_text().splitlines())
    } == {(deleted, None), (source, target)}
    code, report = _verify(sim, out)
    assert code == ExitCode.OK, report
    written.unlink()
    code, report = _verify(sim, out)
    # No log: the rows stay unexplained, and the merged messages are not under the target.
    assert code == ExitCode.INCOMPLETE, report
    assert f"Deleted since the export: 2 tickets: {deleted} (deleted), {source} (merged)." in report
    assert _line(report, "Messages missing from the export").startswith(
        f"Messages missing from the export: 1 ticket: {target} ("
    )

    log = [
        {"object": "ticket", "id": deleted, "how": "ticket-deleted", "merged_into": None},
        {"object": "ticket", "id": source, "how": "ticket-merged", "merged_into": target},
        {"object": "customer", "id": 123, "how": "customer-deleted", "merged_into": None},
    ]
    Path(f"{out}.deletions.jsonl").write_text(
        "".join(json.dumps(entry) + "\n" for entry in log) + '{"torn', encoding="utf-8"
    )
    code, report = _verify(sim, out)
    assert code == ExitCode.OK, report
    assert report.splitlines()[0] == f"{out}: complete."
    assert _line(report, "Gone from the account, as its deletions log records") == (
        "Gone from the account, as its deletions log records: 2 tickets: "
        f"{deleted} (deleted), {source} (merged into {target})."
    )


def test_a_csv_re_saved_with_a_byte_order_mark_is_still_read(
    sim: Simulator, tmp_path: Path
) -> None:
    out = _export(sim, tmp_path, "csv")
    out.write_bytes(b"\xef\xbb\xbf" + out.read_bytes())  # a spreadsheet's "CSV UTF-8" save
    code, report = _verify(sim, out)
    assert code == ExitCode.OK, report


def test_a_workbook_continued_on_more_sheets_is_read_whole(sim: Simulator, tmp_path: Path) -> None:
    out = _export(sim, tmp_path, "xlsx")
    store = SqliteStore(rows_store_path(out))
    try:  # the same rows, 7 a sheet, as a million-row export continues past a sheet's capacity
        write_workbook(out, TicketsJob("xlsx").sheet(store), owner="tickets", rows_per_sheet=7)
    finally:
        store.close()
    assert len(read_sheets(out)) > 5
    code, report = _verify(sim, out)
    assert code == ExitCode.OK, report
    messages = len(sim.dataset.messages)
    assert f"{messages:,} messages" in report


def test_a_workbook_saved_again_by_another_program_is_read(sim: Simulator, tmp_path: Path) -> None:
    """openpyxl writes every part again, in its own way (shared strings: test_workbook_reader)."""
    out = _export(sim, tmp_path, "xlsx")
    before = read_sheets(out)
    openpyxl.load_workbook(out).save(out)
    assert read_sheets(out) == before
    code, report = _verify(sim, out)
    assert code == ExitCode.OK, report


def test_a_per_ticket_workbook_is_refused_in_one_line(sim: Simulator, tmp_path: Path) -> None:
    out = tmp_path / "summary.xlsx"
    run_ok(sim, "tickets", "--per", "ticket", "--out", str(out), "--quiet")
    stderr = assert_one_line_error(run_cli(sim, "verify", str(out)), ExitCode.USAGE)
    assert "verify cannot read xlsx exports yet" in stderr
