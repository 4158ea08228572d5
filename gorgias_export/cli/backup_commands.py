"""The commands that fill a directory with the whole account: `all` (every entity), `archive`
(mirror, files and site) and `attachments` (the files). Their jobs' modules are imported when
they run (see commands.py)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from gorgias_export.cli import flags
from gorgias_export.cli.display import table
from gorgias_export.cli.execute import Session, execute, requests_line
from gorgias_export.cli.options import (
    AllFormat,
    Connection,
    Format,
    Fresh,
    MaxSize,
    OutDir,
    Overwrite,
    Reconcile,
    Since,
    Until,
    with_connection,
)

if TYPE_CHECKING:
    from gorgias_export.jobs.all import AllJob, AllResult
    from gorgias_export.jobs.archive import ArchiveJob, ArchiveResult
    from gorgias_export.jobs.attachments import AttachmentsJob
    from gorgias_export.jobs.lifecycle import JobResult


@with_connection
def all_entities(
    out_dir: OutDir,
    fmt: AllFormat = Format.csv,
    fresh: Fresh = False,
    overwrite: Overwrite = False,
    reconcile: Reconcile = False,
    *,
    connection: Connection,
) -> None:
    """Export every entity into one directory, one file each, with one state for the run.

    Rerunning resumes an interrupted run where it stopped, or runs each entity incrementally.

    Example: gorgias-export all --out-dir backup/
    """

    def work(job: AllJob, session: Session) -> str:
        from gorgias_export.jobs.all import run_all

        result = run_all(session.client, job, session.on_status)
        return _all_summary(result, session)

    def plan() -> AllJob:
        from gorgias_export.jobs.all import AllJob
        from gorgias_export.output.workbook import require_xlsxwriter

        flags.refuse_overwrite_alone(fresh, overwrite)
        if fmt is Format.xlsx:
            require_xlsxwriter()
        return AllJob(out_dir, fmt.value, fresh, overwrite, reconcile)

    execute(connection, plan, work)


def _all_summary(result: AllResult, session: Session) -> str:
    # The files share --out-dir: the table names them, the folder gets a line of its own, so
    # that a long path is never cut by the table (nor folded inside it).
    folders = {str(Path(outcome.output).parent) for outcome in result.outcomes}
    folder = folders.pop() if len(folders) == 1 else None
    rows = [
        (
            outcome.name,
            "done earlier" if outcome.skipped else f"{outcome.rows:,}",
            f"{outcome.requests:,}",
            Path(outcome.output).name if folder else outcome.output,
        )
        for outcome in result.outcomes
    ]
    grid = table(("entity", "new rows", "requests", "file"), rows, right=("new rows", "requests"))
    where = f"\nfiles in {folder}" if folder else ""
    return f"{grid}{where}\nDone: all {len(result.outcomes)} entities; {requests_line(session)}"


@with_connection
def archive(out_dir: OutDir, *, connection: Connection) -> None:
    """Back the whole account up into one directory you can open without Gorgias.

    The SQLite mirror and JSONL (DIR/data), the attachment files, and a static site
    (DIR/index.html, a page per ticket) that works from the file system. Rerunning resumes an
    interrupted run, or brings the archive up to date (only changed pages are written).

    Example: gorgias-export archive --out-dir gorgias-archive/
    """

    def work(job: ArchiveJob, session: Session) -> str:
        from gorgias_export.jobs.archive import run_archive

        result = run_archive(session.client, job, session.on_status)
        return _archive_summary(result, session)

    def plan() -> ArchiveJob:
        from gorgias_export.jobs.archive import ArchiveJob, archive_ready

        archive_ready()
        return ArchiveJob(out_dir)

    execute(connection, plan, work)


def _archive_summary(result: ArchiveResult, session: Session) -> str:
    from gorgias_export.exports.attachments import FilesStatus

    site = result.site
    rows = sum(outcome.rows for outcome in result.data.outcomes)
    files = result.files.status.files if isinstance(result.files.status, FilesStatus) else 0
    return (
        f"Done: archive with {site.tickets:,} tickets; {rows:,} new rows, "
        f"{site.pages_written:,} ticket pages written, index "
        f"{'written' if site.index_written else 'unchanged'} ({site.index_bytes:,} bytes), "
        f"{files:,} new attachment files; {requests_line(session)}"
    )


@with_connection
def attachments(
    out_dir: OutDir,
    max_size: MaxSize = "1G",
    since: Since = None,
    until: Until = None,
    fresh: Fresh = False,
    overwrite: Overwrite = False,
    *,
    connection: Connection,
) -> None:
    """Download every message attachment and call recording, with a manifest of them all.

    Files go to DIR/files and DIR/recordings; DIR/manifest.csv and DIR/manifest.jsonl list
    each one (status ok, gone, forbidden or too_large). Rerunning resumes, or fetches only what
    is new.

    Example: gorgias-export attachments --out-dir backup/attachments
    """

    def plan() -> AttachmentsJob:
        from gorgias_export.jobs.attachments import AttachmentsJob

        flags.refuse_overwrite_alone(fresh, overwrite)
        start, end = flags.time_range(since, until, exclusive_until=True)
        size = flags.byte_size(max_size, "--max-size")
        return AttachmentsJob(Path(out_dir).resolve(), size, start, end, fresh, overwrite)

    def work(job: AttachmentsJob, session: Session) -> str:
        from gorgias_export.jobs.attachments import open_files_target
        from gorgias_export.jobs.lifecycle import run_job

        target = open_files_target(job, session.settings.base_url)
        result = run_job(session.client, job, target, session.on_status)
        return _attachments_summary(job, result, session)

    execute(connection, plan, work)


def _attachments_summary(job: AttachmentsJob, result: JobResult, session: Session) -> str:
    from gorgias_export.exports.attachments import FilesStatus

    status = result.status
    assert isinstance(status, FilesStatus)
    return (
        f"Done: {status.files:,} files saved ({status.bytes / 2**20:,.1f} MB), "
        f"{status.missing:,} gone, forbidden or too large; {result.total_rows:,} rows in all "
        f"in {job.out_dir}/manifest.csv; {requests_line(session)}"
    )
