"""The one lifecycle every run goes through: lock → state → target → the loop → close.

    with target.session():                 # locks (and scratch space), held to the end
        progress = target.start(job)       # load the state, check it is this export's, refuse
                                           # outputs it does not vouch for
        job.run(client, target, progress, checkpoint, on_status)
                                           # the export loop, checkpointing into the
                                           # target's state, progress events to on_status

A job says *what* to export (conversations, an entity); a target says *where* (a file or
stdout, a SQLite database) and keeps the state beside it. Single commands build one of each
(`open_target`); `all` runs the same function once per entity (all.py).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from gorgias_export.api.client import GorgiasClient
from gorgias_export.errors import OutputError, StateConflict, UsageError
from gorgias_export.exports.status import Status, StatusCallback
from gorgias_export.jobs.repair import refuse_misplaced_repair
from gorgias_export.jobs.state import NoState, StateFile, default_state_path
from gorgias_export.jobs.targets import (
    DatabaseState,
    DatabaseTarget,
    FileTarget,
    Target,
)
from gorgias_export.jobs.xlsx_target import xlsx_target
from gorgias_export.output.sqlite_store import SqliteStore
from gorgias_export.output.workbook import Sheet


class Progress(Protocol):
    """How far an export got, as saved in its state."""

    output_bytes: int
    rows_written: int
    completed_runs: int

    @property
    def run(self) -> Any: ...

    def to_json(self) -> dict[str, Any]: ...


class Job(Protocol):
    """What to export: what every target needs to know of it, and its loop."""

    @property
    def name(self) -> str:
        """The command; the key of its state in a database or in `all`."""

    @property
    def fmt(self) -> str:
        """csv | jsonl | sqlite | xlsx"""

    @property
    def snapshots(self) -> bool:
        """Whether each run rewrites the whole output (configuration lists)."""

    @property
    def tables(self) -> tuple[str, ...]:
        """In SQLite: the tables it fills, the rows' table last."""

    def identity(self, api: str) -> dict[str, Any]: ...
    def new_progress(self) -> Progress: ...
    def parse_progress(self, saved: Any) -> Progress: ...
    def saved_bytes(self, progress: Any) -> int: ...
    def file_header(self) -> bytes:
        """How its output file begins (a CSV header; nothing for JSONL)."""
        ...

    def shared_tables_conflict(self, store: SqliteStore) -> str | None: ...
    def sheet(self, store: SqliteStore) -> Sheet:
        """What an .xlsx workbook shows of the rows kept in `store`."""
        ...

    def refused_state(self, output: Path, state: Path) -> str | None:
        """Why `state` cannot hold this export's state (it is a file the export writes)."""
        ...

    def run(
        self,
        client: GorgiasClient,
        target: Target,
        progress: Any,
        checkpoint: Callable[[Any], None],
        on_status: StatusCallback,
    ) -> Status: ...


@dataclass(frozen=True)
class JobResult:
    status: Status
    output: str  # where the rows went: a path, or "stdout"
    total_rows: int  # rows in the output over every run
    completed_runs: int


def run_job(
    client: GorgiasClient, job: Job, target: Target, on_status: StatusCallback | None = None
) -> JobResult:
    """Run one export into one target, from wherever its state says it got to."""
    with target.session():
        progress = target.start(job)

        def checkpoint(current: Progress) -> None:
            target.state.save(current.to_json())

        status = job.run(client, target, progress, checkpoint, on_status or _ignore)
        target.publish(job)  # an .xlsx workbook is written whole from its store; else nothing
        total = target.total_rows(job, progress)
    return JobResult(status, target.label, total, progress.completed_runs)


def _ignore(status: Status) -> None:
    pass


def open_target(
    job: Job,
    out: str,
    state_path: Path | None,
    fresh: bool,
    api: str,
    example: str,
    overwrite: bool = False,
    repair: bool | None = None,
) -> Target:
    """The target of a single command: stdout (`-`, without --state or --fresh), a SQLite
    database, or a file. `overwrite` (--overwrite): --fresh may replace any file. `repair`
    (--repair): a finished export's file changed after its checkpoint is set aside instead of
    refused; None for a command that does not take --repair."""
    refuse_misplaced_repair(repair, job.fmt if out != "-" else "stdout", fresh)
    if out == "-":
        if job.fmt == "sqlite":
            raise UsageError("SQLite output needs a file: give --out a path such as mirror.db.")
        if job.fmt == "xlsx":
            raise UsageError("An .xlsx workbook needs a file: give --out a path such as x.xlsx.")
        return FileTarget(None, NoState())
    # Resolved, so that ../x.csv, a symlink and the plain path are the same export.
    output = resolved(Path(out), "--out")
    check_output_path(output, example)
    if job.fmt in ("sqlite", "xlsx"):
        if state_path is not None:
            raise UsageError(
                f"--state does not apply to {_STORE_OF[job.fmt]}: the state lives in the database."
            )
        if job.fmt == "xlsx":
            return xlsx_target(job, output, fresh, overwrite, api)
        return _database_target(job, output, fresh, api)
    state = resolved(state_path or default_state_path(output), "--state")
    check_parent(state, "--state")
    refused = job.refused_state(output, state)
    if refused is not None:
        raise UsageError(refused)
    identity = {**job.identity(api), "output": str(output)}
    # The output's lock stops two runs on one file even with different --state files; the
    # state's, two outputs naming one state (a default one too, named by another's --state).
    locks = [output, state]
    return FileTarget(
        output,
        StateFile(state, identity, fresh),
        overwrite=fresh,
        force=overwrite,
        locks=locks,
        side_prefix=state.with_name(state.name.removesuffix(".state.json")),
        state_dir=state.parent,
        repair=repair,
    )


_STORE_OF = {
    "sqlite": "SQLite output",
    "xlsx": ".xlsx output (its rows are kept in <out>.rows.sqlite)",
}


def _database_target(job: Job, output: Path, fresh: bool, api: str) -> DatabaseTarget:
    store = SqliteStore(output)
    # Not the path: the state travels inside the file, so a copied or moved database goes on.
    state = DatabaseState(store, job.name, job.identity(api))
    return DatabaseTarget(
        store, state, fresh=fresh, lock=output, side_prefix=output, owns_store=True
    )


def resolved(path: Path, flag: str) -> Path:
    """`path` with its links followed, refusing a link to nothing: following it would create
    the file (and the state, index and lock files named after it) wherever the link points."""
    if path.is_symlink() and not path.exists():
        raise StateConflict(
            f"{path} is a link to {os.readlink(path)}, which does not exist, so nothing is "
            f"written through it; remove the link, or give {flag} the real path."
        )
    return path.resolve()


def check_output_path(output: Path, example: str) -> None:
    if output.is_dir():
        raise OutputError(
            f"--out {output} is a directory; give a file path such as {output}/{example}."
        )
    if output.exists() and not output.is_file():
        # A device (/dev/null), a pipe or a socket: no resumable export can live there, and
        # its state, index and lock files would be created beside it (in /dev, as root).
        raise UsageError(
            f"--out {output} is not a regular file (a device or a pipe); give a file path, or "
            "--out - to print the rows to stdout."
        )
    check_parent(output, "--out")


def check_parent(path: Path, flag: str) -> None:
    ensure_utf8_path(path, flag)
    parent = path.parent
    if not parent.exists():
        raise OutputError(f"The directory of {flag} {path} does not exist; create it first.")
    if not parent.is_dir():
        raise OutputError(f"{flag} {path} is inside {parent}, which is not a directory.")


def ensure_utf8_path(path: Path, flag: str) -> None:
    """A path whose bytes are not UTF-8 cannot be kept in a state file (JSON is text): refused
    before anything is created, rather than failing at the first save."""
    try:
        str(path).encode("utf-8")
    except UnicodeEncodeError:
        raise UsageError(
            f"{flag} {str(path)!a} is not a valid UTF-8 path; choose one that is."
        ) from None
