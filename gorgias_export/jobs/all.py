"""`all`: every entity into one directory, with one state for the whole run.

The entities run one after the other (small configuration lists first, conversations last).
One state file, `DIR/gorgias-export.state.json`, holds each entity's progress and which ones
this run has finished: an interrupted `all` resumes inside the entity it was in and skips the
ones already done; once every entity is done, the next `all` is an incremental run of each.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gorgias_export.api.client import GorgiasClient
from gorgias_export.cli.display import Status
from gorgias_export.errors import OutputError, StateConflict
from gorgias_export.exports.conversations import ConversationExport
from gorgias_export.exports.progress import EntityProgress, ExportProgress
from gorgias_export.jobs import entities as entity_job
from gorgias_export.jobs.output_paths import parse_or_refuse, progress_or_refuse
from gorgias_export.jobs.state import ensure_replaceable_state, export_lock, load_state, save_state
from gorgias_export.output.mirror import TABLES, ConversationMirror
from gorgias_export.output.sqlite_store import SqliteStore
from gorgias_export.output.ticket_index import TicketIndex
from gorgias_export.output.writers import RowSink, make_encoder
from gorgias_export.resources import ENTITY_BY_NAME, Incremental
from gorgias_export.rows import (
    CONVERSATION_COLUMNS,
    CONVERSATION_COLUMNS_VERSION,
    CONVERSATION_CSV_KINDS,
)

# Quick configuration lists first, so a long run has them early; conversations last.
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
)
STATE_NAME = "gorgias-export.state.json"


@dataclass(frozen=True)
class AllJob:
    out_dir: str
    fmt: str  # "csv" | "jsonl" | "sqlite"
    fresh: bool = False


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


class _AllState:
    """The one state document: each entity's progress, and which ones this run has done."""

    def __init__(
        self,
        path: Path,
        identity: dict[str, Any],
        saved: dict[str, Any] | None,
        saver: Callable[[dict[str, Any]], None] | None = None,
    ):
        self.path = path  # the state file, or the database that holds the state
        self.identity = identity
        self._saver = saver or (lambda document: save_state(path, identity, document))
        saved = saved or {}
        try:
            self.completed_runs = int(saved.get("completed_runs", 0))
            self.done = [str(name) for name in saved.get("done", [])]
            # After --fresh: the entities whose old files this run may still overwrite, so that
            # an interrupted --fresh run can be continued without --fresh.
            self.overwrite = [str(name) for name in saved.get("overwrite", [])]
            self.parts = dict(saved.get("parts", {}))
        except (TypeError, ValueError):
            raise StateConflict(
                f"The state file {path} is corrupt; rerun with --fresh to start over."
            ) from None

    def save(self) -> None:
        document = {
            "completed_runs": self.completed_runs,
            "done": self.done,
            "parts": self.parts,
            "overwrite": self.overwrite,
        }
        self._saver(document)

    def save_part(self, name: str, progress: dict[str, Any]) -> None:
        self.parts[name] = progress
        self.save()


def run_all_job(
    client: GorgiasClient, job: AllJob, on_status: Callable[[Status], None] | None = None
) -> AllResult:
    try:
        return _run(client, job, on_status or (lambda status: None))
    finally:
        client.close()


def _prepare_dir(out_dir: Path) -> None:
    if out_dir.exists() and not out_dir.is_dir():
        raise OutputError(f"--out-dir {out_dir} is a file; give a directory.")
    try:
        out_dir.mkdir(exist_ok=True)
    except OSError as exc:
        raise OutputError(
            f"Could not create --out-dir {out_dir} ({exc.strerror or exc.__class__.__name__}); "
            "create it first or choose another directory."
        ) from None


def _identity(client: GorgiasClient, job: AllJob, out_dir: Path) -> dict[str, Any]:
    return {
        "command": "all",
        "out_dir": str(out_dir),
        "format": job.fmt,
        "api": client.settings.base_url,
        "columns_version": [CONVERSATION_COLUMNS_VERSION, entity_job.ENTITY_COLUMNS_VERSION],
    }


def _run(client: GorgiasClient, job: AllJob, on_status: Callable[[Status], None]) -> AllResult:
    out_dir = Path(job.out_dir).resolve()
    _prepare_dir(out_dir)
    if job.fmt == "sqlite":
        return _run_sqlite(client, job, out_dir, on_status)
    state_path = out_dir / STATE_NAME
    identity = _identity(client, job, out_dir)
    with export_lock(state_path):
        if job.fresh:
            ensure_replaceable_state(state_path)
        saved = None if job.fresh else load_state(state_path, identity)
        state = _AllState(state_path, identity, saved.progress if saved else None)
        if job.fresh:
            state.overwrite = list(ALL_ORDER)
        output_of = {name: out_dir / f"{name}.{job.fmt}" for name in ALL_ORDER}
        _refuse_unknown_files(state, output_of)

        def export_one(name: str, output: Path) -> int:
            with export_lock(output):
                if name == "tickets":
                    return _conversations(client, job, output, state, on_status)
                return _entity(client, job, name, output, state, on_status)

        return _each_entity(client, state, ALL_ORDER, output_of.__getitem__, export_one)


def _refuse_unknown_files(state: _AllState, output_of: dict[str, Path]) -> None:
    """Refuse at once a file this `all` has no progress for (written by another command, say),
    rather than when its turn comes, after the entities before it."""
    for name, output in output_of.items():
        if name in state.parts or name in state.overwrite:
            continue
        if output.exists() and output.stat().st_size > 0:
            raise StateConflict(
                f"{output} exists but this `all` has no progress for it (another command may "
                "have written it); move it away, or rerun with --fresh to overwrite every file "
                "in --out-dir."
            )


def _each_entity(
    client: GorgiasClient,
    state: _AllState,
    order: tuple[str, ...],
    output_of: Callable[[str], Path],
    export_one: Callable[[str, Path], int],
) -> AllResult:
    """Run the entities not done yet in this run, in order; then start a new run."""
    result = AllResult()
    for name in order:
        output = output_of(name)
        if name in state.done:
            result.outcomes.append(EntityOutcome(name, str(output), 0, 0, skipped=True))
            continue
        before = client.stats.requests
        rows = export_one(name, output)
        result.outcomes.append(
            EntityOutcome(name, str(output), rows, client.stats.requests - before)
        )
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


# -- SQLite: one database, a table per entity, the state inside it ---------------------------

DATABASE_NAME = "gorgias.db"
# The conversation export's mirror fills `messages` (every message, raw) along with `tickets`
# and `conversations`: reading the message listing a second time would add nothing.
SQLITE_ORDER = tuple(name for name in ALL_ORDER if name != "messages")


def _run_sqlite(
    client: GorgiasClient, job: AllJob, out_dir: Path, on_status: Callable[[Status], None]
) -> AllResult:
    database = out_dir / DATABASE_NAME
    identity = {k: v for k, v in _identity(client, job, out_dir).items() if k != "out_dir"}
    tables = [*TABLES, *(entity_job.table_name(ENTITY_BY_NAME[n]) for n in SQLITE_ORDER[:-1])]
    with export_lock(database):
        store = SqliteStore(database, flag="--out-dir")
        try:
            if job.fresh:
                store.reset("all", tables)  # committed with the first checkpoint, or never
                saved = None
            else:
                saved = store.load_state("all", identity)
                if saved is None and any(store.row_count(table) for table in tables):
                    raise StateConflict(
                        f"{database} already has exported rows but no saved progress for this "
                        "`all`; choose another --out-dir, or rerun with --fresh to replace them."
                    )
            state = _AllState(
                database,
                identity,
                saved.progress if saved else None,
                saver=lambda document: store.save_state("all", identity, document),
            )

            def export_one(name: str, output: Path) -> int:
                if name == "tickets":
                    return _sqlite_conversations(client, store, state, on_status)
                return _sqlite_entity(client, store, name, state, on_status)

            return _each_entity(client, state, SQLITE_ORDER, lambda name: database, export_one)
        finally:
            store.close()


def _sqlite_entity(
    client: GorgiasClient,
    store: SqliteStore,
    name: str,
    state: _AllState,
    on_status: Callable[[Status], None],
) -> int:
    entity = ENTITY_BY_NAME[name]
    progress = parse_or_refuse(
        state.parts.get(name), state.path, EntityProgress.from_json, EntityProgress()
    )
    table = entity_job.entity_table(store, entity)
    full = entity.incremental is Incremental.FULL
    export = entity_job.entity_export(
        client,
        entity,
        "sqlite",
        table,
        progress,
        lambda current: state.save_part(name, current.to_json()),
        snapshot=entity_job.TableSnapshot(table) if full else None,
        on_status=on_status,
    )
    return export.run().rows


def _sqlite_conversations(
    client: GorgiasClient, store: SqliteStore, state: _AllState, on_status: Callable[[Status], None]
) -> int:
    progress = parse_or_refuse(
        state.parts.get("tickets"), state.path, ExportProgress.from_json, ExportProgress()
    )
    mirror = ConversationMirror(store)
    index = TicketIndex(state.path.with_name("gorgias.ticket-index.sqlite"))
    try:
        export = ConversationExport(
            client,
            index,
            mirror,
            progress,
            lambda current: state.save_part("tickets", current.to_json()),
            on_status=on_status,
            mirror=mirror,
        )
        return export.run().rows
    finally:
        index.close()


def _entity(
    client: GorgiasClient,
    job: AllJob,
    name: str,
    output: Path,
    state: _AllState,
    on_status: Callable[[Status], None],
) -> int:
    entity = ENTITY_BY_NAME[name]
    snapshots = entity.incremental is Incremental.FULL
    partial = entity_job.partial_path(output)
    progress: EntityProgress = progress_or_refuse(
        state.parts.get(name),
        state.path,
        output,
        name in state.overwrite,
        EntityProgress.from_json,
        EntityProgress,
        lambda p: entity_job.bytes_to_check(p, snapshots),
        written=partial if snapshots else None,
        flag="--out-dir",
    )
    sink, snapshot = entity_job.open_entity_file(
        entity, job.fmt, output, progress, lambda at_start: state.save_part(name, at_start)
    )
    try:
        export = entity_job.entity_export(
            client,
            entity,
            job.fmt,
            sink,
            progress,
            lambda current: state.save_part(name, current.to_json()),
            snapshot=snapshot,
            on_status=on_status,
        )
        return export.run().rows
    finally:
        sink.close()


def _conversations(
    client: GorgiasClient,
    job: AllJob,
    output: Path,
    state: _AllState,
    on_status: Callable[[Status], None],
) -> int:
    progress: ExportProgress = progress_or_refuse(
        state.parts.get("tickets"),
        state.path,
        output,
        "tickets" in state.overwrite,
        ExportProgress.from_json,
        ExportProgress,
        lambda p: p.output_bytes,
        flag="--out-dir",
    )
    at_start = json.loads(json.dumps(progress.to_json()))
    sink = RowSink(
        make_encoder(job.fmt, CONVERSATION_COLUMNS, CONVERSATION_CSV_KINDS),
        str(output),
        offset=progress.output_bytes,
        before_first_open=lambda: state.save_part("tickets", at_start),
    )
    index = TicketIndex(state.path.with_name("gorgias-export.ticket-index.sqlite"))
    try:
        export = ConversationExport(
            client,
            index,
            sink,
            progress,
            lambda current: state.save_part("tickets", current.to_json()),
            on_status=on_status,
        )
        return export.run().rows
    finally:
        index.close()
        sink.close()
