"""`all`: every entity into one directory, with one state for the whole run.

A loop over the one lifecycle (lifecycle.run_job): each entity is a job, its target a file in
the directory (or a table of one database), its state a part of the run's state. The entities
run one after the other (small configuration lists first, conversations last). The state,
`DIR/gorgias-export.state.json` (inside `DIR/gorgias.db` for SQLite), holds each entity's
progress and which ones this run has finished: an interrupted `all` resumes inside the entity
it was in and skips the ones already done; once every entity is done, the next `all` is an
incremental run of each.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from gorgias_export.api.client import GorgiasClient
from gorgias_export.errors import OutputError, StateConflict
from gorgias_export.exports.status import StatusCallback
from gorgias_export.jobs.entities import ENTITY_COLUMNS_VERSION, EntityJob
from gorgias_export.jobs.lifecycle import Job, ensure_utf8_path, run_job
from gorgias_export.jobs.ownership import looks_like_output
from gorgias_export.jobs.state import RunState, ensure_replaceable_state, export_lock, load_state
from gorgias_export.jobs.state import save_state as save_state_file
from gorgias_export.jobs.targets import DatabaseTarget, FileTarget, Target, refuse_unowned
from gorgias_export.jobs.tickets import TicketsJob
from gorgias_export.jobs.xlsx_target import xlsx_target
from gorgias_export.output.sqlite_store import SqliteStore
from gorgias_export.resources import ENTITY_BY_NAME
from gorgias_export.rows import CONVERSATION_COLUMNS_VERSION

# Quick configuration lists first, so a long run has them early; then conversations. Last, the
# endpoints the public documentation describes least (their shapes, parameters and whether every
# account has them are unsure): if the real API refuses one, everything else is already saved,
# and the rerun that follows a fix reads only what is left.
ALL_ORDER = (
    "account",
    "tags",
    "users",
    "teams",
    "views",
    "custom-fields",
    "integrations",
    "macros",
    "rules",
    "customers",
    "satisfaction-surveys",
    "events",
    "messages",
    "tickets",
    "account-settings",
    "jobs",
    "voice-calls",
    "voice-call-events",
    "voice-call-recordings",
)
STATE_NAME = "gorgias-export.state.json"
DATABASE_NAME = "gorgias.db"
# The conversation export's mirror fills `messages` (every message, raw) along with `tickets`
# and `conversations`: reading the message listing a second time would add nothing.
SQLITE_ORDER = tuple(name for name in ALL_ORDER if name != "messages")


@dataclass(frozen=True)
class AllJob:
    out_dir: str
    fmt: str  # "csv" | "jsonl" | "sqlite" | "xlsx"
    fresh: bool = False
    overwrite: bool = False  # --overwrite: --fresh replaces even files that do not look ours
    reconcile: bool = False  # --reconcile: tickets and customers list every id this run


@dataclass
class EntityOutcome:
    name: str
    output: str
    rows: int  # written by this run
    requests: int
    skipped: bool = False  # finished by an earlier, interrupted run


@dataclass
class AllResult:
    outcomes: list[EntityOutcome] = field(default_factory=list)
    completed_runs: int = 0


def job_for(name: str, fmt: str, reconcile: bool = False) -> Job:
    if name == "tickets":
        return TicketsJob(fmt, reconcile=reconcile)
    return EntityJob(ENTITY_BY_NAME[name], fmt, reconcile=reconcile)


def run_all(client: GorgiasClient, job: AllJob, on_status: StatusCallback) -> AllResult:
    out_dir = Path(job.out_dir).resolve()
    prepare_dir(out_dir)
    identity = {
        "command": "all",
        "out_dir": str(out_dir),
        "format": job.fmt,
        "api": client.settings.base_url,
        "columns_version": [CONVERSATION_COLUMNS_VERSION, ENTITY_COLUMNS_VERSION],
    }
    sessions = _database_run if job.fmt == "sqlite" else _files_run
    with sessions(out_dir, identity, job.fresh, job.overwrite) as (state, order, target_for):
        return _each_entity(client, job, state, order, target_for, on_status)


def _each_entity(
    client: GorgiasClient,
    job: AllJob,
    state: RunState,
    order: tuple[str, ...],
    target_for: Callable[[str], Target],
    on_status: StatusCallback,
) -> AllResult:
    """Run the entities not done yet in this run, in order; then start a new run."""
    result = AllResult()
    for step, name in enumerate(order, 1):
        target = target_for(name)
        if name in state.done:
            result.outcomes.append(EntityOutcome(name, target.label, 0, 0, skipped=True))
            continue
        before = client.stats.requests
        entity_job = job_for(name, job.fmt, job.reconcile)
        outcome = run_job(client, entity_job, target, _at_step(on_status, step, order))
        requests = client.stats.requests - before
        result.outcomes.append(EntityOutcome(name, target.label, outcome.status.rows, requests))
        state.done.append(name)
        if name in state.overwrite:
            state.overwrite.remove(name)
        state.save()
    state.completed_runs += 1
    state.done = []
    state.overwrite = []
    state.save()
    result.completed_runs = state.completed_runs
    return result


def _at_step(on_status: StatusCallback, step: int, order: tuple[str, ...]) -> StatusCallback:
    """Progress events that say which entity of the run they are about: `customers (3/15)`."""
    return lambda status: on_status(replace(status, step=(step, len(order))))


_Session = Iterator[tuple[RunState, tuple[str, ...], Callable[[str], Target]]]


@contextlib.contextmanager
def _files_run(out_dir: Path, identity: dict[str, Any], fresh: bool, overwrite: bool) -> _Session:
    """A file per entity, `DIR/<entity>.<format>`; the run's state in one state file."""
    state_path = out_dir / STATE_NAME
    fmt = identity["format"]
    outputs = {name: out_dir / f"{name}.{fmt}" for name in ALL_ORDER}
    with contextlib.ExitStack() as locks:
        locks.enter_context(export_lock(state_path))
        # Every output's lock for the whole run, not each at its turn: a single command
        # started meanwhile on one of them is refused at once, instead of this run later.
        for path in outputs.values():
            locks.enter_context(export_lock(path))
        if fresh:
            ensure_replaceable_state(state_path)
        saved = None if fresh else load_state(state_path, identity)
        state = RunState(
            f"The state file {state_path}",
            saved.progress if saved else None,
            lambda document: save_state_file(state_path, identity, document),
        )
        if fresh:
            state.overwrite = list(ALL_ORDER)
        if fmt != "xlsx":  # a workbook's own target refuses what is not its own (start, below)
            _refuse_unknown_files(state, outputs, fmt, overwrite)

        def target_for(name: str) -> Target:
            if fmt == "xlsx":
                # Each workbook's rows and progress are in its own store, as for a single
                # command; the run's state only says which entities this run has done.
                job = job_for(name, fmt)
                fresh_one = name in state.overwrite
                api = identity["api"]
                return xlsx_target(job, outputs[name], fresh_one, overwrite, api, locked=False)
            return FileTarget(
                outputs[name],
                state.part(name),
                overwrite=name in state.overwrite,
                force=overwrite,
                locks=(),  # held by this run already (above)
                flag="--out-dir",
                side_prefix=out_dir / "gorgias-export",
                state_dir=out_dir,
            )

        for name in ALL_ORDER:  # a changed file is refused before any request, not at its turn
            if name not in state.done:
                early = target_for(name)
                with early.session():  # (which closes a workbook's store again)
                    early.start(job_for(name, fmt))
        yield state, ALL_ORDER, target_for


@contextlib.contextmanager
def _database_run(
    out_dir: Path, identity: dict[str, Any], fresh: bool, overwrite: bool
) -> _Session:
    """One database, `DIR/gorgias.db`, a table per entity; the run's state inside it."""
    database = out_dir / DATABASE_NAME
    identity = {k: v for k, v in identity.items() if k != "out_dir"}
    jobs = [job_for(name, "sqlite") for name in SQLITE_ORDER]
    tables = list(dict.fromkeys(table for job in reversed(jobs) for table in job.tables))
    with export_lock(database):
        store = SqliteStore(database, flag="--out-dir")
        try:
            if fresh:
                store.reset("all", tables)  # committed with the first checkpoint, or never
                saved = None
            else:
                saved = store.load_state("all", identity)
                if saved is None and any(store.row_count(table) for table in tables):
                    raise StateConflict(
                        f"{database} already has exported rows but no saved progress for this "
                        "`all`; choose another --out-dir, or rerun with --fresh to replace them."
                    )
            state = RunState(
                f"The saved state in {database}",
                saved.progress if saved else None,
                lambda document: store.save_state("all", identity, document),
            )

            def target_for(name: str) -> Target:
                return DatabaseTarget(
                    store, state.part(name), checked=False, side_prefix=out_dir / "gorgias"
                )

            yield state, SQLITE_ORDER, target_for
        finally:
            store.close()


def prepare_dir(out_dir: Path) -> None:
    ensure_utf8_path(out_dir, "--out-dir")
    if out_dir.exists() and not out_dir.is_dir():
        raise OutputError(f"--out-dir {out_dir} is a file; give a directory.")
    try:
        out_dir.mkdir(exist_ok=True)
    except OSError as exc:
        raise OutputError(
            f"Could not create --out-dir {out_dir} ({exc.strerror or exc.__class__.__name__}); "
            "create it first or choose another directory."
        ) from None


def _refuse_unknown_files(
    state: RunState, outputs: dict[str, Path], fmt: str, overwrite: bool
) -> None:
    """Refuse at once a file this `all` has no progress for (written by another command, say),
    or, with --fresh, one that does not look like ours (unless --overwrite), rather than when
    its turn comes, after the entities before it."""
    for name, output in outputs.items():
        if name in state.overwrite:
            refuse_unowned(output, job_for(name, fmt), True, overwrite, "--out-dir")
            continue
        if name in state.parts:
            continue
        if output.exists() and output.stat().st_size > 0:
            if not looks_like_output(output, job_for(name, fmt).file_header()):
                raise StateConflict(
                    f"{output} exists and is not a gorgias-export {name} {fmt} file, so it is "
                    "left as it is; move it away, or choose another --out-dir."
                )
            raise StateConflict(
                f"{output} exists but this `all` has no progress for it (another command may "
                "have written it); move it away, or rerun with --fresh to overwrite every file "
                "in --out-dir."
            )
