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
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from gorgias_export.client import GorgiasClient, Params
from gorgias_export.errors import UsageError
from gorgias_export.export import ConversationExport, ExportStatus, StatusCallback
from gorgias_export.filtered_export import FilteredConversationExport
from gorgias_export.output_paths import check_output_path, check_parent, starting_progress
from gorgias_export.progress_model import ExportProgress
from gorgias_export.rows import (
    CONVERSATION_COLUMNS,
    CONVERSATION_COLUMNS_VERSION,
    CONVERSATION_CSV_KINDS,
)
from gorgias_export.state import (
    default_state_path,
    ensure_replaceable_state,
    export_lock,
    index_path_for,
    save_state,
)
from gorgias_export.ticket_index import TicketIndex
from gorgias_export.timeutil import format_utc
from gorgias_export.writers import RowSink, make_encoder


@dataclass(frozen=True)
class TicketsJob:
    """What the user asked for."""

    output: str  # a path, or "-" for stdout
    fmt: str  # "csv" | "jsonl"
    state_path: Path | None = None
    fresh: bool = False
    since: datetime | None = None
    until: datetime | None = None
    # Filtered exports (--customer-id, --ticket-id, ...): the /tickets parameter sets to walk.
    listings: tuple[Params, ...] = ()


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
    sink = RowSink(
        make_encoder(job.fmt, CONVERSATION_COLUMNS, CONVERSATION_CSV_KINDS),
        None,
        stream=sys.stdout.buffer,
    )
    with tempfile.TemporaryDirectory(prefix="gorgias-export-") as scratch:
        index = TicketIndex(Path(scratch) / "tickets.sqlite")
        try:
            export = _conversation_export(
                client, index, sink, progress, lambda p: None, job, on_status
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
            make_encoder(job.fmt, CONVERSATION_COLUMNS, CONVERSATION_CSV_KINDS),
            str(output),
            offset=progress.output_bytes,
            before_first_open=lambda: save_state(state_path, identity, at_start),
        )
        index = TicketIndex(index_path_for(state_path))
        try:
            export = _conversation_export(client, index, sink, progress, checkpoint, job, on_status)
            status = export.run()
        finally:
            index.close()
            sink.close()
    return JobResult(status, str(output), progress.rows_written, progress.completed_runs)


def _conversation_export(
    client: GorgiasClient,
    index: TicketIndex,
    sink: RowSink,
    progress: ExportProgress,
    checkpoint: Callable[[ExportProgress], None],
    job: TicketsJob,
    on_status: StatusCallback | None,
) -> ConversationExport:
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
            listings=job.listings,
        )
    return ConversationExport(
        client, index, sink, progress, checkpoint, job.since, job.until, on_status
    )


def _identity(client: GorgiasClient, job: TicketsJob, output: Path) -> dict[str, Any]:
    """What makes two runs the same export; a state saved under another identity is refused."""
    filters = {"filters": [[[k, str(v)] for k, v in params] for params in job.listings]}
    return {
        **(filters if job.listings else {}),  # absent, so unfiltered states stay as they were
        "command": "tickets",
        "output": str(output),
        "format": job.fmt,
        "since": format_utc(job.since) if job.since else None,
        "until": format_utc(job.until) if job.until else None,
        "api": client.settings.base_url,
        "columns_version": CONVERSATION_COLUMNS_VERSION,
    }
