"""An entity job (customers, events, tags, ... or any endpoint `get` reads): its rows' shape in
each format, its identity, and its loop into a file, stdout or a table.

A full read (configuration lists) replaces the previous one: in a file through `<out>.partial`
and an atomic rename, in a table by dropping the rows the new read did not list.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from gorgias_export.api.client import GorgiasClient, Params
from gorgias_export.entity_types import EXTRA_COLUMN, Entity, Incremental, Listing
from gorgias_export.errors import ApiError, ExportError, UsageError
from gorgias_export.exports.entities import EntityExport, RowShaper, Snapshot
from gorgias_export.exports.progress import EntityProgress
from gorgias_export.exports.status import EntityStatus, StatusCallback
from gorgias_export.fastjson import loads
from gorgias_export.jobs.removal_targets import removal_pass, start_removals
from gorgias_export.jobs.targets import DatabaseTarget, Target, partial_path
from gorgias_export.output.sqlite_store import SqliteStore
from gorgias_export.output.table_sink import TableSink, TableSnapshot
from gorgias_export.output.workbook import Sheet
from gorgias_export.output.writers import CsvEncoder, JsonlEncoder, RowEncoder, Sink
from gorgias_export.rows import entity_row
from gorgias_export.timeutil import format_utc

# Bump when an entity's columns change, so a resume never appends rows of another shape.
ENTITY_COLUMNS_VERSION = 1


def encoder_for(entity: Entity, fmt: str) -> RowEncoder:
    return CsvEncoder(entity.csv_columns) if fmt == "csv" else JsonlEncoder()


def shaper_for(entity: Entity, fmt: str) -> RowShaper:
    """JSONL keeps each item exactly as the API sent it; CSV and SQLite get flat columns."""
    if fmt == "jsonl":
        return lambda item, listing: item

    def flat(item: dict[str, Any], listing: Listing) -> dict[str, Any]:
        return entity_row(item, entity.columns, dict(listing.implied))

    return flat


def table_name(entity: Entity) -> str:
    return entity.name.replace("-", "_")


def entity_table(store: SqliteStore, entity: Entity, typed: bool = False) -> TableSink:
    """The entity's table; `typed` (an .xlsx workbook's store): every value as JSON, so that
    the workbook gets back exactly what the API sent (a boolean, not 1)."""
    json_columns = [c for c in entity.csv_columns if c != entity.key] if typed else [EXTRA_COLUMN]
    return TableSink(
        store, table_name(entity), entity.csv_columns, key=entity.key, json_columns=json_columns
    )


@dataclass(frozen=True)
class EntityJob:
    """What the user asked for."""

    entity: Entity
    fmt: str  # "csv" | "jsonl" | "sqlite" | "xlsx"
    filters: Params = field(default_factory=tuple)
    since: datetime | None = None
    until: datetime | None = None  # exclusive
    reconcile: bool = False  # --reconcile (customers): list every id this run; not in identity

    @property
    def name(self) -> str:
        return self.entity.name

    @property
    def snapshots(self) -> bool:
        return self.entity.incremental is Incremental.FULL

    @property
    def tables(self) -> tuple[str, ...]:
        return (table_name(self.entity),)

    def identity(self, api: str) -> dict[str, Any]:
        """What makes two runs the same export; a state saved under another one is refused.
        (A file target adds the output's path.)"""
        return {
            "command": self.entity.name,
            "path": self.entity.path,  # `get` reads any path: another one is another export
            "format": self.fmt,
            "filters": [[name, str(value)] for name, value in self.filters],
            "since": format_utc(self.since) if self.since else None,
            "until": format_utc(self.until) if self.until else None,
            "api": api,
            "columns_version": ENTITY_COLUMNS_VERSION,
        }

    def new_progress(self) -> EntityProgress:
        return EntityProgress()

    def parse_progress(self, saved: Any) -> EntityProgress:
        return EntityProgress.from_json(saved)

    def saved_bytes(self, progress: EntityProgress) -> int:
        """How long the file the state describes must be at least: a finished snapshot is
        already in place (or about to be), and a new one starts empty."""
        if not self.snapshots:
            return progress.output_bytes
        run = progress.run
        return progress.output_bytes if run is not None and not run.finishing else 0

    def file_header(self) -> bytes:
        return encoder_for(self.entity, self.fmt).header()

    def shared_tables_conflict(self, store: SqliteStore) -> str | None:
        if self.entity.name == "messages" and store.row_count("conversations"):
            return (
                f"{store.path} holds the tickets command's mirror, whose messages table already "
                "has every message; query it there, or give messages another --out."
            )
        return None

    def refused_state(self, output: Path, state: Path) -> str | None:
        if state in (output, partial_path(output)):  # a full read writes <out>.partial first
            return (
                "--state must not be the --out file or its .partial snapshot; choose another path."
            )
        return None

    def sheet(self, store: SqliteStore) -> Sheet:
        """The workbook of an .xlsx export: one row per id (the current version), by id."""
        columns = self.entity.csv_columns
        key = self.entity.key
        json_at = [i for i, c in enumerate(columns) if c != key]

        def rows() -> Iterator[list[Any]]:
            for row in store.select(table_name(self.entity), columns, (key,)):
                values = list(row)
                for index in json_at:
                    if values[index] is not None:
                        values[index] = loads(values[index])
                yield values

        return Sheet(self.entity.name, tuple(columns), rows())

    def run(
        self,
        client: GorgiasClient,
        target: Target,
        progress: EntityProgress,
        checkpoint: Callable[[EntityProgress], None],
        on_status: StatusCallback,
    ) -> EntityStatus:
        snapshot: Snapshot | None
        sink: Sink
        if isinstance(target, DatabaseTarget):
            table = entity_table(target.store, self.entity, typed=self.fmt == "xlsx")
            sink, snapshot = table, TableSnapshot(table) if self.snapshots else None
        else:
            sink, snapshot = target.rows_file(
                encoder_for(self.entity, self.fmt), progress, self.snapshots
            )
        removes = self.entity.name == "customers"  # the one entity whose deletions show in events
        if removes:
            start_removals(progress)
        try:
            export = EntityExport(
                client,
                self.entity,
                sink,
                shaper_for(self.entity, self.fmt),
                progress,
                checkpoint,
                filters=self.filters,
                since=self.since,
                until=self.until,
                snapshot=snapshot,
                on_status=on_status,
            )
            status = export.run()
            if removes:
                self._removals(client, target, progress, checkpoint)
            return status
        except UsageError as refused:
            better = self._refusal(str(refused))
            if better is None:
                raise
            raise better from refused
        finally:
            sink.close()

    def _removals(
        self,
        client: GorgiasClient,
        target: Target,
        progress: EntityProgress,
        checkpoint: Callable[[EntityProgress], None],
    ) -> None:
        """Deleted and merged customers leave the table, or are logged beside the file."""
        found = removal_pass(
            client, "customer", target, progress, checkpoint, reconcile=self.reconcile
        )
        if found is not None:
            found.run()

    def _refusal(self, refusal: str) -> ExportError | None:
        """A better error than "check the filter flags" for a 400, where we know more."""
        given = {name for name, _ in self.filters}
        if self.entity.name == "events" and "object_type" in given and "object_id" not in given:
            # One live source says the API requires object_id with object_type; others do not.
            return UsageError(
                "The API refused --object-type without --object-id (400 on GET /events); add "
                "--object-id ID for one object's events, or drop --object-type and filter the "
                "output on its object_type column."
            )
        if not given:
            # No flag of the user's was sent, so what the API refused is the listing's own
            # parameters (order_by, limit), which the public documentation does not confirm for
            # every endpoint (one connector sends no order_by to the voice endpoints).
            detail = refusal[refusal.find("(") + 1 : refusal.rfind(")")]
            return ApiError(
                f"The API refused how gorgias-export lists {self.entity.path} ({detail}), not a "
                "flag of yours; please report it with this message (in `all`, everything before "
                "it is saved)."
            )
        return None


def is_list_endpoint(client: GorgiasClient, path: str, params: Params) -> bool:
    """Whether `path` answers with a list envelope (one request): `get` also takes an object
    endpoint such as /account, which it writes as one line."""
    payload = client.get_json(path, params)
    data = payload.get("data")
    return payload.get("object") == "list" or isinstance(data, list)
