"""One export job: the output file, its state and lock, the ticket index, and the run itself.

The rules that keep files safe live here:
- an existing output with no matching state is never overwritten (unless --fresh);
- a state file from another export, or a broken one, is refused;
- nothing is written until the first page of data is in hand, and the state is saved before
  the output is first opened, so a crash at any moment leaves a resumable pair.
"""

from __future__ import annotations

import contextlib
import json
import sys
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from gorgias_export.api.client import GorgiasClient, Params
from gorgias_export.errors import StateConflict, UsageError
from gorgias_export.exports.conversations import (
    ConversationExport,
    ExportStatus,
    Mirror,
    StatusCallback,
)
from gorgias_export.exports.filtered import FilteredConversationExport
from gorgias_export.exports.per_ticket import (
    ConversationStage,
    FilteredPerTicketExport,
    PerTicketExport,
)
from gorgias_export.exports.progress import BadProgress, ExportProgress
from gorgias_export.jobs.output_paths import (
    check_output_path,
    check_parent,
    sqlite_output,
    starting_progress,
)
from gorgias_export.jobs.state import (
    default_state_path,
    ensure_replaceable_state,
    export_lock,
    index_path_for,
    save_state,
    staging_path_for,
)
from gorgias_export.output.mirror import TABLES, ConversationMirror
from gorgias_export.output.sqlite_store import SqliteStore
from gorgias_export.output.ticket_index import TicketIndex
from gorgias_export.output.writers import JsonlEncoder, RowEncoder, RowSink, Sink, make_encoder
from gorgias_export.rows import (
    CONVERSATION_COLUMNS,
    CONVERSATION_COLUMNS_VERSION,
    CONVERSATION_CSV_KINDS,
)
from gorgias_export.timeutil import format_utc


@dataclass(frozen=True)
class TicketsJob:
    """What the user asked for."""

    output: str  # a path, or "-" for stdout
    fmt: str  # "csv" | "jsonl" | "sqlite"
    state_path: Path | None = None
    fresh: bool = False
    since: datetime | None = None
    until: datetime | None = None
    # Filtered exports (--customer-id, --ticket-id, ...): the /tickets parameter sets to walk.
    listings: tuple[Params, ...] = ()
    per: str = "message"  # "ticket": one JSON line per ticket, messages nested (per_ticket.py)


@dataclass(frozen=True)
class JobResult:
    status: ExportStatus
    output: str
    total_rows: int  # rows in the file, over every run
    completed_runs: int


def run_tickets_job(
    client: GorgiasClient, job: TicketsJob, on_status: StatusCallback | None = None
) -> JobResult:
    try:
        if job.fmt == "sqlite":
            return _run_to_sqlite(client, job, on_status)
        if job.output == "-":
            return _run_to_stdout(client, job, on_status)
        return _run_to_file(client, job, on_status)
    finally:
        client.close()  # pages asked for ahead and not needed stop retrying


def _run_to_stdout(
    client: GorgiasClient, job: TicketsJob, on_status: StatusCallback | None
) -> JobResult:
    # No resume on stdout: there is no file to cut back. The index lives in a temporary folder.
    progress = ExportProgress()
    sink = RowSink(_encoder(job), None, stream=sys.stdout.buffer)
    with tempfile.TemporaryDirectory(prefix="gorgias-export-") as scratch:
        index = TicketIndex(Path(scratch) / "tickets.sqlite")
        try:
            with _staging(job, Path(scratch) / "staging.sqlite") as stage:
                export = _conversation_export(
                    client, index, sink, progress, lambda p: None, job, on_status, stage=stage
                )
                status = export.run()
        finally:
            index.close()
            sink.close()
    return JobResult(status, "stdout", progress.rows_written, progress.completed_runs)


def _run_to_file(
    client: GorgiasClient, job: TicketsJob, on_status: StatusCallback | None
) -> JobResult:
    # Resolved, so that ../x.csv, a symlink and the plain path are the same export.
    output = Path(job.output).resolve()
    check_output_path(output)
    state_path = (job.state_path or default_state_path(output)).resolve()
    check_parent(state_path, "--state")
    if state_path == output:
        raise UsageError("--state must not be the --out file; choose another path for it.")
    identity = _identity(client, job, output)
    # The output's lock stops two runs on one file even with different --state files; an
    # explicit --state gets its own lock too, since two outputs could name the same one.
    with contextlib.ExitStack() as locks:
        locks.enter_context(export_lock(output))
        if job.state_path is not None:
            locks.enter_context(export_lock(state_path))
        if job.fresh:
            ensure_replaceable_state(state_path)
        progress = starting_progress(
            state_path,
            identity,
            output,
            job.fresh,
            ExportProgress.from_json,
            ExportProgress,
            lambda p: p.output_bytes,
        )

        def checkpoint(current: ExportProgress) -> None:
            save_state(state_path, identity, current.to_json())

        # Saved just before the output is first opened, so a crash during the first page leaves
        # a state that matches the file. A snapshot of the start, not the live progress: by
        # then the live one already counts rows that are queued but not yet in the file.
        at_start = json.loads(json.dumps(progress.to_json()))
        sink = RowSink(
            _encoder(job),
            str(output),
            offset=progress.output_bytes,
            before_first_open=lambda: save_state(state_path, identity, at_start),
        )
        index = TicketIndex(index_path_for(state_path))
        try:
            with _staging(job, staging_path_for(state_path)) as stage:
                export = _conversation_export(
                    client, index, sink, progress, checkpoint, job, on_status, stage=stage
                )
                status = export.run()
        finally:
            index.close()
            sink.close()
    return JobResult(status, str(output), progress.rows_written, progress.completed_runs)


def _conversation_export(
    client: GorgiasClient,
    index: TicketIndex,
    sink: Sink,
    progress: ExportProgress,
    checkpoint: Callable[[ExportProgress], None],
    job: TicketsJob,
    on_status: StatusCallback | None,
    mirror: Mirror | None = None,
    stage: ConversationStage | None = None,
) -> ConversationExport:
    if stage is not None:
        kind = FilteredPerTicketExport if job.listings else PerTicketExport
        extra = {"listings": job.listings} if job.listings else {}
        return kind(
            client,
            index,
            sink,
            progress,
            checkpoint,
            job.since,
            job.until,
            on_status,
            stage=stage,
            **extra,
        )
    if job.listings:
        return FilteredConversationExport(
            client,
            index,
            sink,
            progress,
            checkpoint,
            job.since,
            job.until,
            on_status,
            mirror=mirror,
            listings=job.listings,
        )
    return ConversationExport(
        client, index, sink, progress, checkpoint, job.since, job.until, on_status, mirror=mirror
    )


SQLITE_STATE_KEY = "tickets"


def _run_to_sqlite(
    client: GorgiasClient, job: TicketsJob, on_status: StatusCallback | None
) -> JobResult:
    """The same export into a database: rows, raw tickets and messages, and the state, with
    each page committed in one transaction (mirror.py, sqlite_store.py)."""
    output = sqlite_output(job.output, job.state_path, "tickets.db")
    # Not the path: the state travels inside the file, so a copied or moved database goes on.
    identity = {k: v for k, v in _identity(client, job, output).items() if k != "output"}
    with export_lock(output):
        store = SqliteStore(output)
        index = TicketIndex(index_path_for(default_state_path(output)))
        try:
            progress = _starting_sqlite_progress(store, identity, output, job.fresh)
            # --fresh empties the tables inside the first page's transaction: a run that fails
            # before it (a wrong key) leaves the database as it was.
            reset = (lambda: store.reset(SQLITE_STATE_KEY, TABLES)) if job.fresh else None
            mirror = ConversationMirror(store, before_first_write=reset)

            def checkpoint(current: ExportProgress) -> None:
                store.save_state(SQLITE_STATE_KEY, identity, current.to_json())

            export = _conversation_export(
                client, index, mirror, progress, checkpoint, job, on_status, mirror=mirror
            )
            status = export.run()
            total = store.row_count("conversations")
        finally:
            index.close()
            store.close()
    return JobResult(status, str(output), total, progress.completed_runs)


def _starting_sqlite_progress(
    store: SqliteStore, identity: dict[str, Any], output: Path, fresh: bool
) -> ExportProgress:
    if store.has_state("messages"):  # even with --fresh: that command's table would be lost
        raise StateConflict(
            f"{output} holds the messages command's table, which the tickets mirror would "
            "overwrite; give tickets another --out."
        )
    if fresh:
        return ExportProgress()
    saved = store.load_state(SQLITE_STATE_KEY, identity)
    if saved is None:
        if any(store.row_count(table) for table in TABLES):
            raise StateConflict(
                f"{output} already has rows in its {', '.join(TABLES)} tables but no saved "
                "progress for this export; choose another --out, or rerun with --fresh to "
                "replace them."
            )
        return ExportProgress()
    try:
        return ExportProgress.from_json(saved.progress)
    except BadProgress:
        raise StateConflict(
            f"The saved state in {output} is corrupt; rerun with --fresh to start over."
        ) from None


def _encoder(job: TicketsJob) -> RowEncoder:
    if job.per == "ticket":
        return JsonlEncoder()  # whole tickets, their messages nested
    return make_encoder(job.fmt, CONVERSATION_COLUMNS, CONVERSATION_CSV_KINDS)


@contextlib.contextmanager
def _staging(job: TicketsJob, path: Path) -> Iterator[ConversationStage | None]:
    if job.per != "ticket":
        yield None
        return
    stage = ConversationStage(path)
    try:
        yield stage
    finally:
        stage.close()


def _identity(client: GorgiasClient, job: TicketsJob, output: Path) -> dict[str, Any]:
    """What makes two runs the same export; a state saved under another identity is refused."""
    filters = {"filters": [[[k, str(v)] for k, v in params] for params in job.listings]}
    return {
        # Absent unless used, so the states of plain exports stay as they were.
        **(filters if job.listings else {}),
        **({"per": job.per} if job.per != "message" else {}),
        "command": "tickets",
        "output": str(output),
        "format": job.fmt,
        "since": format_utc(job.since) if job.since else None,
        "until": format_utc(job.until) if job.until else None,
        "api": client.settings.base_url,
        "columns_version": CONVERSATION_COLUMNS_VERSION,
    }
