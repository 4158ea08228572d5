"""The fetch loop for one entity (customers, events, tags, ...): pages in, rows out, checkpoints.

Driven by the entity's row in resources.py. Each page's rows are synced, then the position is
saved, exactly as for conversations (conversations.py): a crash loses at most the page in
flight, and the rerun cuts the output back to the saved length. Rows are de-duplicated by id
and version (see `Incremental`), so overlaps between runs and re-read pages never write a row
twice.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any, Protocol

from gorgias_export.api.client import GorgiasClient, Params
from gorgias_export.api.prefetch import Chain
from gorgias_export.api.walk import ListingWalk, below, stays_above
from gorgias_export.entity_types import INCREMENTAL_OVERLAP, Entity, Incremental, Listing
from gorgias_export.errors import ApiError
from gorgias_export.exports.checkpoints import Checkpointing
from gorgias_export.exports.progress import EntityProgress, EntityRun, WalkPosition
from gorgias_export.exports.status import EntityStatus, StatusCallback
from gorgias_export.output.writers import Sink
from gorgias_export.timeutil import format_utc, shift, sort_key

Item = dict[str, Any]
log = logging.getLogger("gorgias_export")


class Snapshot(Protocol):
    """How a full read replaces the previous one: a file is swapped, a table pruned."""

    def begin(self, run_number: int) -> None: ...
    def seal(self, run_number: int) -> None: ...  # inside the final checkpoint
    def publish(self) -> None: ...  # after the final checkpoint says the snapshot is complete


RowShaper = Callable[[Item, Listing], dict[str, Any]]
Checkpoint = Callable[[EntityProgress], None]


def _fingerprint(item: Item) -> str:
    """A short digest of an item's whole content: a survey whose score changed differs."""
    text = json.dumps(item, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.blake2b(text.encode("utf-8", "replace"), digest_size=8).hexdigest()


class EntityExport(Checkpointing):
    """One run of one entity's export, resumed from `progress` and saved via `checkpoint`."""

    def __init__(
        self,
        client: GorgiasClient,
        entity: Entity,
        sink: Sink,
        shape: RowShaper,
        progress: EntityProgress,
        checkpoint: Checkpoint,
        *,
        filters: Params = (),
        since: datetime | None = None,
        until: datetime | None = None,
        snapshot: Snapshot | None = None,
        on_status: StatusCallback | None = None,
        now: Callable[[], datetime] | None = None,
    ) -> None:
        self.client = client
        self.entity = entity
        self.sink = sink
        self._shape = shape
        self.progress = progress
        self._save = checkpoint
        self.filters = list(filters)
        self.since = format_utc(since) if since else None
        self.until = format_utc(until) if until else None
        self._snapshot = snapshot
        self._on_status = on_status or (lambda status: None)
        self._now = now or (lambda: datetime.now().astimezone())
        self.rows = 0
        self.items_read = 0
        self._requests_before = client.stats.requests
        self._saved_bytes = progress.output_bytes
        mode = entity.incremental
        self._time_field = "updated_datetime" if mode is Incremental.UPDATED else "created_datetime"
        self._window = entity.lookback or INCREMENTAL_OVERLAP

    # -- the run ---------------------------------------------------------------------------

    def run(self) -> EntityStatus:
        """Export until done; on any failure the output is cut back to the last checkpoint."""
        if self.progress.run is None:
            self.progress.run = self._plan_run()
        if self._snapshot is not None and self.progress.run.plan == "full":
            self._snapshot.begin(self.progress.completed_runs + 1)
        try:
            started_over = False
            while True:
                try:
                    self._read_everything(self.progress.run)
                    break
                except _StartOver:
                    if started_over:
                        # The API refuses cursors it gave in this very run: starting over
                        # again would read the same pages forever.
                        raise ApiError(
                            f"The API refused its own cursor on {self.entity.path} again after "
                            "a restart from the start; stopping instead of looping."
                        ) from None
                    started_over = True
                    self._start_over()
            self._finish(self.progress.run)
        except BaseException:
            self.sink.cut_back(self._saved_bytes)
            raise
        return self.status(complete=True)

    def _read_everything(self, run: EntityRun) -> None:
        if run.finishing:
            return
        if self.entity.single_object:
            self._single_object(run)
            return
        if self.entity.any_shape:
            self._any_shape(run)
            return
        while run.listing < len(self.entity.listings):
            self._walk_listing(run, self.entity.listings[run.listing])
            run.listing += 1
            run.walk = WalkPosition()

    def _start_over(self) -> None:
        """A full read that keeps no ids lost its cursor: the snapshot is begun again."""
        log.warning(
            "The saved cursor of %s was refused; reading it again from the start.", self.entity.path
        )
        self.sink.cut_back(0)
        self.progress.output_bytes = self._saved_bytes = 0
        self.progress.run = EntityRun("full", None, format_utc(self._now()))
        self._sync_and_save()  # the state now vouches for the emptied snapshot

    def _plan_run(self) -> EntityRun:
        started = format_utc(self._now())
        p = self.progress
        if self.entity.incremental is Incremental.FULL:
            return EntityRun("full", None, started)
        if p.completed_runs == 0 or p.watermark is None:
            return EntityRun("backfill", self.since, started)
        lower = shift(p.watermark, -self._window)
        if self.since and (lower is None or self.since > lower):
            lower = self.since
        return EntityRun("window", lower, started)

    def _walk_listing(self, run: EntityRun, listing: Listing) -> None:
        mode = self.entity.incremental
        field, descending = self.entity.order_field, False
        params: list[tuple[str, str | int]] = [*listing.params, *self.filters]
        if mode is Incremental.SERVER_SINCE:
            field = "created_datetime"
            if run.lower:
                params.append(("created_datetime[gte]", run.lower))
            if self.until:
                params.append(("created_datetime[lt]", self.until))
        elif run.plan == "window":
            field, descending = self._time_field, True
        elif run.plan == "backfill":
            field = "created_datetime"
        walk = ListingWalk(
            self.client,
            self.entity.path,
            field,
            descending,
            run.walk,
            filters=params,
            skip_by_key=run.plan != "full",
        )
        floor = run.lower if descending else None
        chain = Chain(walk, prefetch=stays_above(floor))
        while not walk.done:
            page = chain.take()
            if walk.recoveries and not self.entity.keeps_ids:
                raise _StartOver  # the walk started over and nothing tells what was written
            self.items_read += len(page.items)
            for item in page.items:
                self._consider(run, item, listing)
            walk.advance(page, finished=below(page, floor))
            self._checkpoint()

    def _single_object(self, run: EntityRun) -> None:
        if run.walk.done:  # written and saved before an interruption: not again
            return
        item = self.client.get_json(self.entity.path, self.filters)
        self.items_read += 1
        self._consider(run, item, Listing())
        run.walk.done = True
        self._checkpoint()

    def _any_shape(self, run: EntityRun) -> None:
        """Every item of an endpoint that answers a list envelope, a bare array or one object;
        a short list, so it is read whole (cursors followed) and checkpointed once."""
        if run.walk.done:
            return
        cursors: set[str] = set()
        params = list(self.filters)
        while True:
            payload = self.client.get_any_json(self.entity.path, params)
            items, next_cursor, listing = _items_of(payload, self.entity)
            self.items_read += len(items)
            for item in items:
                self._consider(run, item, listing)
            if next_cursor is None or next_cursor in cursors:  # a repeated cursor would loop
                break
            cursors.add(next_cursor)
            params = [*self.filters, ("cursor", next_cursor)]
        run.walk.done = True
        self._checkpoint()

    # -- items to rows ---------------------------------------------------------------------

    def _consider(self, run: EntityRun, item: Item, listing: Listing) -> None:
        """Write `item` unless this version of it is already in the output."""
        when = sort_key(item.get(self._time_field))
        if run.plan == "window" and run.lower and when < run.lower:
            return  # older than the window: an earlier run has it
        raw_identity = item.get(self.entity.key) if self.entity.keeps_ids else None
        identity = str(raw_identity)
        version = self._version(item)
        mark = f"{when} {version}"
        earlier = run.recent.get(identity)
        if earlier is None and run.plan != "full":
            earlier = self.progress.seen.get(identity)
        if raw_identity is None:
            earlier = None  # no id (an endpoint `get` reads): nothing to de-duplicate by
        if earlier is not None and earlier.partition(" ")[2] == version:
            return
        if run.plan != "full" and (run.newest is None or when > run.newest):
            run.newest = when
        self.sink.write_row(self._shape(item, listing))
        self.rows += 1
        self.progress.rows_written += 1
        if raw_identity is not None:
            run.recent[identity] = mark

    def _version(self, item: Item) -> str:
        mode = self.entity.incremental
        if mode is Incremental.UPDATED:
            return sort_key(item.get("updated_datetime"))
        if mode is Incremental.LOOKBACK:
            return _fingerprint(item)
        return ""

    # -- checkpoints -----------------------------------------------------------------------

    def _cutoff(self, run: EntityRun) -> str:
        """Ids of rows older than this cannot come back in the next run's window."""
        newest = self._watermark(run)
        return shift(newest, -self._window) or ""

    def _watermark(self, run: EntityRun) -> str | None:
        newest = max(filter(None, (self.progress.watermark, run.newest)), default=None)
        if newest:
            # Never past the run's start: a row updated after this run read it has a later
            # time than that start, and one row dated in the future (a bad clock upstream) must
            # not hide every row created before that date from the next runs.
            newest = min(newest, run.started_at)
        return newest

    def _checkpoint(self) -> None:
        run = self.progress.run
        assert run is not None
        if run.plan != "full":
            cutoff = self._cutoff(run)
            run.recent = {k: v for k, v in run.recent.items() if v >= cutoff}
        self._sync_and_save()
        self._on_status(self.status())

    def _finish(self, run: EntityRun) -> None:
        p = self.progress
        if run.plan != "full":
            p.watermark = self._watermark(run)
            cutoff = self._cutoff(run)
            merged = {**p.seen, **run.recent}
            p.seen = {k: v for k, v in merged.items() if v >= cutoff}
        snapshot = self._snapshot if run.plan == "full" else None
        if snapshot is not None and not run.finishing:
            snapshot.seal(p.completed_runs + 1)
            run.finishing = True
            self._sync_and_save()
        if snapshot is not None:
            snapshot.publish()
        p.completed_runs += 1
        p.run = None
        if snapshot is not None:
            # The sink's file was moved into place (or a resume never opened it): nothing more
            # goes to it, so only the state is saved.
            self._save(p)
        else:
            self._sync_and_save()
        self._on_status(self.status(complete=True))

    def status(self, complete: bool = False) -> EntityStatus:
        stats, pacer = self.client.stats, self.client.pacer
        return EntityStatus(
            phase=self.entity.name,
            requests=stats.requests - self._requests_before,
            rate_limited=stats.rate_limited,
            retries=stats.retries,
            allowed_rate=pacer.allowed_rate,
            fraction=1.0 if complete else None,  # listings do not say their length
            complete=complete,
            limit_known=pacer.limit_known,
            burst=pacer.limit or 0,
            room=pacer.room(),
            done=stats.requests - self._requests_before,
            sent=stats.requests,
            entity=self.entity.name,
            new_rows=self.rows,
            items_read=self.items_read,
        )


def _items_of(payload: Any, entity: Entity) -> tuple[list[Item], str | None, Listing]:
    """The items of an answer of any shape, its next cursor, and the listing they imply: one
    object without the entity's key gets the entity's name as its key, so that a table (keyed
    by it) keeps it too."""
    if isinstance(payload, list):
        return [item for item in payload if isinstance(item, dict)], None, Listing()
    data = payload.get("data")
    if isinstance(data, list):
        meta = payload.get("meta")
        cursor = meta.get("next_cursor") if isinstance(meta, dict) else None
        items = [item for item in data if isinstance(item, dict)]
        return items, cursor if isinstance(cursor, str) and cursor else None, Listing()
    key = entity.key
    implied = () if payload.get(key) is not None else ((key, entity.name),)
    return [payload], None, Listing(implied=implied)


class _StartOver(Exception):
    """Internal: begin this full read again from an empty snapshot."""
