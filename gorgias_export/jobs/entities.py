"""One entity export job: its output file (or stdout), state, lock, and the run itself.

Same rules as the conversation export (job.py): an existing output without matching state is
never overwritten, a foreign or broken state is refused, and the state is saved before the
output is first opened. A full read (configuration objects) writes its snapshot beside the
output, as `<out>.partial`, and moves it over the output only once it is complete: the
previous snapshot stays readable until then.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from gorgias_export.api.client import GorgiasClient, Params
from gorgias_export.errors import OutputError, StateConflict, UsageError
from gorgias_export.exports.entities import EntityExport, EntityStatus, RowShaper, Snapshot
from gorgias_export.exports.progress import EntityProgress
from gorgias_export.jobs.output_paths import (
    check_output_path,
    check_parent,
    parse_or_refuse,
    sqlite_output,
    starting_progress,
)
from gorgias_export.jobs.state import (
    default_state_path,
    ensure_replaceable_state,
    export_lock,
    save_state,
)
from gorgias_export.output.sqlite_store import SqliteStore, TableSink
from gorgias_export.output.writers import CsvEncoder, JsonlEncoder, RowEncoder, RowSink, Sink
from gorgias_export.resources import EXTRA_COLUMN, Entity, Incremental, Listing
from gorgias_export.rows import entity_row
from gorgias_export.timeutil import format_utc

# Bump when an entity's columns change, so a resume never appends rows of another shape.
ENTITY_COLUMNS_VERSION = 1


@dataclass(frozen=True)
class EntityJob:
    """What the user asked for."""

    entity: Entity
    output: str  # a path, or "-" for stdout
    fmt: str  # "csv" | "jsonl"
    filters: Params = field(default_factory=tuple)
    state_path: Path | None = None
    fresh: bool = False
    since: datetime | None = None
    until: datetime | None = None  # exclusive


@dataclass(frozen=True)
class EntityResult:
    status: EntityStatus
    output: str
    total_rows: int
    completed_runs: int


def encoder_for(entity: Entity, fmt: str) -> RowEncoder:
    return CsvEncoder(entity.csv_columns) if fmt == "csv" else JsonlEncoder()


def shaper_for(entity: Entity, fmt: str) -> RowShaper:
    """JSONL keeps each item exactly as the API sent it; CSV and SQLite get flat columns."""
    if fmt == "jsonl":
        return lambda item, listing: item

    def flat(item: dict[str, Any], listing: Listing) -> dict[str, Any]:
        return entity_row(item, entity.columns, dict(listing.implied))

    return flat


def run_entity_job(
    client: GorgiasClient,
    job: EntityJob,
    on_status: Callable[[EntityStatus], None] | None = None,
) -> EntityResult:
    try:
        if job.fmt == "sqlite":
            return _run_to_sqlite(client, job, on_status)
        if job.output == "-":
            return _run_to_stdout(client, job, on_status)
        return _run_to_file(client, job, on_status)
    finally:
        client.close()


def entity_export(
    client: GorgiasClient,
    entity: Entity,
    fmt: str,
    sink: Sink,
    progress: EntityProgress,
    checkpoint: Callable[[EntityProgress], None],
    *,
    snapshot: Snapshot | None = None,
    on_status: Callable[[EntityStatus], None] | None = None,
    filters: Params = (),
    since: datetime | None = None,
    until: datetime | None = None,
) -> EntityExport:
    """The export loop of one entity into `sink`, its rows shaped for `fmt` (also for `all`)."""
    return EntityExport(
        client,
        entity,
        sink,
        shaper_for(entity, fmt),
        progress,
        checkpoint,
        filters=filters,
        since=since,
        until=until,
        snapshot=snapshot,
        on_status=on_status,
    )


def _export(
    client: GorgiasClient,
    job: EntityJob,
    sink: Sink,
    progress: EntityProgress,
    checkpoint: Callable[[EntityProgress], None],
    on_status: Callable[[EntityStatus], None] | None,
    snapshot: Snapshot | None = None,
) -> EntityExport:
    return entity_export(
        client,
        job.entity,
        job.fmt,
        sink,
        progress,
        checkpoint,
        snapshot=snapshot,
        on_status=on_status,
        filters=job.filters,
        since=job.since,
        until=job.until,
    )


def _run_to_stdout(
    client: GorgiasClient, job: EntityJob, on_status: Callable[[EntityStatus], None] | None
) -> EntityResult:
    progress = EntityProgress()
    sink = RowSink(encoder_for(job.entity, job.fmt), None, stream=sys.stdout.buffer)
    try:
        status = _export(client, job, sink, progress, lambda p: None, on_status).run()
    finally:
        sink.close()
    return EntityResult(status, "stdout", progress.rows_written, progress.completed_runs)


def identity_for(client: GorgiasClient, job: EntityJob, output: Path) -> dict[str, Any]:
    """What makes two runs the same export; a state saved under another identity is refused."""
    return {
        "command": job.entity.name,
        "path": job.entity.path,  # `get` reads any path: another one is another export
        "output": str(output),
        "format": job.fmt,
        "filters": [[name, str(value)] for name, value in job.filters],
        "since": format_utc(job.since) if job.since else None,
        "until": format_utc(job.until) if job.until else None,
        "api": client.settings.base_url,
        "columns_version": ENTITY_COLUMNS_VERSION,
    }


def partial_path(output: Path) -> Path:
    return output.with_name(output.name + ".partial")


class FileSnapshot:
    """A full read written to `<out>.partial`, then renamed over `<out>` in one step."""

    def __init__(self, output: Path) -> None:
        self.output = output
        self.partial = partial_path(output)

    def begin(self, run_number: int) -> None:
        pass

    def seal(self, run_number: int) -> None:
        pass

    def publish(self) -> None:
        if self.partial.exists():  # else a crash came after the rename: it is done already
            try:
                os.replace(self.partial, self.output)
            except OSError as exc:
                raise OutputError(
                    f"Could not move {self.partial} over {self.output} "
                    f"({exc.strerror or exc.__class__.__name__}); rerun to finish."
                ) from None


def bytes_to_check(progress: EntityProgress, snapshots: bool) -> int:
    """How long the file the state describes must be at least: a finished snapshot is
    already in place (or about to be), and a new one starts empty."""
    if not snapshots:
        return progress.output_bytes
    run = progress.run
    return progress.output_bytes if run is not None and not run.finishing else 0


def open_entity_file(
    entity: Entity,
    fmt: str,
    output: Path,
    progress: EntityProgress,
    save_at_start: Callable[[dict[str, Any]], None],
) -> tuple[RowSink, FileSnapshot | None]:
    """The sink of an entity's rows: the output, or for a full read its `.partial` snapshot.

    `save_at_start` gets the progress as it is now, to save just before the file is first
    opened (a crash during the first page then leaves a state that matches the file). A
    snapshot resumed after its finishing save is only moved into place: its sink never opens.
    """
    snapshots = entity.incremental is Incremental.FULL
    if snapshots and progress.run is None:
        progress.output_bytes = 0  # a new snapshot starts empty
    at_start = json.loads(json.dumps(progress.to_json()))
    sink = RowSink(
        encoder_for(entity, fmt),
        str(partial_path(output) if snapshots else output),
        offset=progress.output_bytes,
        before_first_open=lambda: save_at_start(at_start),
    )
    return sink, FileSnapshot(output) if snapshots else None


def _run_to_file(
    client: GorgiasClient, job: EntityJob, on_status: Callable[[EntityStatus], None] | None
) -> EntityResult:
    output = Path(job.output).resolve()
    check_output_path(output, f"{job.entity.name}.{job.fmt}")
    state_path = (job.state_path or default_state_path(output)).resolve()
    check_parent(state_path, "--state")
    if state_path in (output, partial_path(output)):
        raise UsageError(
            "--state must not be the --out file or its .partial snapshot; choose another path."
        )
    snapshots = job.entity.incremental is Incremental.FULL
    identity = identity_for(client, job, output)
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
            EntityProgress.from_json,
            EntityProgress,
            lambda p: bytes_to_check(p, snapshots),
            written=partial_path(output) if snapshots else None,
        )

        def checkpoint(current: EntityProgress) -> None:
            save_state(state_path, identity, current.to_json())

        sink, snapshot = open_entity_file(
            job.entity,
            job.fmt,
            output,
            progress,
            lambda at_start: save_state(state_path, identity, at_start),
        )
        try:
            status = _export(client, job, sink, progress, checkpoint, on_status, snapshot).run()
        finally:
            sink.close()
    return EntityResult(status, str(output), progress.rows_written, progress.completed_runs)


def is_list_endpoint(client: GorgiasClient, path: str, params: Params) -> bool:
    """Whether `path` answers with a list envelope (one request): `get` also takes an object
    endpoint such as /account, which it writes as one line."""
    payload = client.get_json(path, params)
    data = payload.get("data")
    return payload.get("object") == "list" or isinstance(data, list)


# -- SQLite: a table per entity, upserted by key, with the state in the same database ---------


def table_name(entity: Entity) -> str:
    return entity.name.replace("-", "_")


def entity_table(store: SqliteStore, entity: Entity) -> TableSink:
    return store.table_sink(
        table_name(entity), entity.csv_columns, key=entity.key, json_columns=(EXTRA_COLUMN,)
    )


class TableSnapshot:
    """A full read into a table: rows are stamped with the run, and the final checkpoint drops
    the rows this run did not list (deleted upstream), in the same transaction."""

    def __init__(self, table: TableSink) -> None:
        self.table = table

    def begin(self, run_number: int) -> None:
        self.table.stamp_run(run_number)

    def seal(self, run_number: int) -> None:
        self.table.prune_before_run(run_number)

    def publish(self) -> None:
        pass


def sqlite_progress(
    store: SqliteStore, key: str, identity: dict[str, Any], output: Path, tables: list[str]
) -> EntityProgress:
    """The saved progress under `key`, or a new one; refuses tables filled by someone else."""
    saved = store.load_state(key, identity)
    if saved is None and "messages" in tables and store.row_count("conversations"):
        raise StateConflict(
            f"{output} holds the tickets command's mirror, whose messages table already has "
            "every message; query it there, or give messages another --out."
        )
    if saved is None and any(store.row_count(table) for table in tables):
        raise StateConflict(
            f"{output} already has rows in {', '.join(tables)} but no saved progress for "
            "this export; choose another --out, or rerun with --fresh to replace them."
        )
    return parse_or_refuse(
        saved.progress if saved else None, output, EntityProgress.from_json, EntityProgress()
    )


def _run_to_sqlite(
    client: GorgiasClient, job: EntityJob, on_status: Callable[[EntityStatus], None] | None
) -> EntityResult:
    output = sqlite_output(job.output, job.state_path, f"{job.entity.name}.db")
    # Not the path: the state travels inside the file, so a copied database goes on.
    identity = {k: v for k, v in identity_for(client, job, output).items() if k != "output"}
    key = job.entity.name
    table = table_name(job.entity)
    with export_lock(output):
        store = SqliteStore(output)
        try:
            if job.fresh:
                store.reset(key, [table])  # committed with the first page, or not at all
                progress = EntityProgress()
            else:
                progress = sqlite_progress(store, key, identity, output, [table])
            sink = entity_table(store, job.entity)
            full = job.entity.incremental is Incremental.FULL
            status = _export(
                client,
                job,
                sink,
                progress,
                lambda current: store.save_state(key, identity, current.to_json()),
                on_status,
                TableSnapshot(sink) if full else None,
            ).run()
            total = store.row_count(table)
        finally:
            store.close()
    return EntityResult(status, str(output), total, progress.completed_runs)
