"""The `attachments` loop: the account-wide listings in, files and manifest rows out, checkpoints.

Two walks, one after the other, each newest first down to a floor (`--since`, or on a rerun the
last run's newest minus an overlap): the message listing (every message's `attachments`), then
the call recordings (recordings get their URL after the call, so their overlap is a week, as for
the `voice-call-recordings` export). For each page, its files are downloaded a few at a time
(`WORKERS` threads; direct downloads do not count against the API's bucket, private ones cost
one paced API request each), then its manifest rows are appended to both manifests and synced,
then the state saved: the rule of every export (checkpoints.py). A stop before the save re-reads
that page; files already in place are hashed again, not downloaded. Ids done near the
watermarks are kept, so the overlap never writes a row twice.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from gorgias_export.api.client import GorgiasClient
from gorgias_export.api.download import FileFetcher, api_download_path
from gorgias_export.api.prefetch import Chain
from gorgias_export.api.walk import ListingWalk, below, stays_above
from gorgias_export.entity_types import INCREMENTAL_OVERLAP, VOICE_LOOKBACK
from gorgias_export.exports.file_progress import FilesProgress, FilesRun
from gorgias_export.exports.progress import WalkPosition
from gorgias_export.exports.status import Status, StatusCallback
from gorgias_export.output.file_store import FileStore
from gorgias_export.output.safe_names import numbered_name, safe_name
from gorgias_export.output.writers import RowSink
from gorgias_export.timeutil import format_utc, shift, sort_key

log = logging.getLogger("gorgias_export")

MANIFEST_COLUMNS = (
    "ticket_id",
    "message_id",
    "name",
    "content_type",
    "size",
    "sha256",
    "path",
    "status",
    "url",
    "kind",
    "call_id",
    "recording_id",
)
WORKERS = 4
Item = dict[str, Any]


@dataclass(frozen=True)
class Phase:
    path: str
    prefix: str  # of the ids kept to de-duplicate: "m" (messages), "r" (recordings)
    overlap: timedelta


PHASES = (
    Phase("/messages", "m", INCREMENTAL_OVERLAP),
    Phase("/phone/voice-call-recordings", "r", VOICE_LOOKBACK),
)


@dataclass(frozen=True)
class Task:
    """One file to fetch, and what its manifest row says of it whatever happens."""

    row: dict[str, Any]
    relative: tuple[str, ...]  # its final path under DIR
    part: str  # its temporary name
    url: str | None
    api_path: str | None


@dataclass
class FilesStatus(Status):
    items_read: int = 0
    new_rows: int = 0
    files: int = 0  # saved (downloaded, or found complete in place)
    bytes: int = 0
    missing: int = 0  # gone, forbidden or too large

    @property
    def rows(self) -> int:
        return self.new_rows

    @property
    def subject(self) -> str:
        return "attachments"

    def figures(self) -> list[tuple[int, str, str]]:
        return [
            (self.files, "files", "files"),
            (self.bytes // 2**20, "MB", "MB"),
            (self.missing, "missing", "miss"),
        ]


def _int_id(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


def message_tasks(message: Item) -> Iterator[Task]:
    """A message's attachments: `files/<ticket id>/<message id>/<n>-<safe name>`."""
    ticket_id, message_id = _int_id(message.get("ticket_id")), _int_id(message.get("id"))
    attachments = message.get("attachments")
    if ticket_id is None or message_id is None or not isinstance(attachments, list):
        return
    for n, attachment in enumerate(attachments, start=1):
        if not isinstance(attachment, dict):
            continue
        url = attachment.get("url") if isinstance(attachment.get("url"), str) else None
        name = attachment.get("name")
        file_name = numbered_name(n, name)
        yield Task(
            row={
                "ticket_id": ticket_id,
                "message_id": message_id,
                "name": name if isinstance(name, str) else None,
                "content_type": attachment.get("content_type"),
                "url": url,
                "kind": "attachment",
            },
            relative=("files", str(ticket_id), str(message_id), file_name),
            part=f"m{message_id}-{n}",
            url=url,
            api_path=api_download_path(url) if url else None,
        )


def recording_tasks(recording: Item) -> Iterator[Task]:
    """A call's recording: `recordings/<call id>/<recording id>-<safe name>`; one the account
    keeps private has no URL, and is a `forbidden` row."""
    recording_id, call_id = _int_id(recording.get("id")), _int_id(recording.get("call_id"))
    if recording_id is None or call_id is None:
        return
    url = recording.get("url") if isinstance(recording.get("url"), str) else None
    name = safe_name(url.rsplit("/", 1)[-1].split("?")[0] if url else "", "recording")
    yield Task(
        row={
            "name": name,
            "url": url,
            "kind": "recording",
            "call_id": call_id,
            "recording_id": recording_id,
        },
        relative=("recordings", str(call_id), f"{recording_id}-{name}"),
        part=f"r{recording_id}",
        url=url,
        api_path=api_download_path(url) if url else None,
    )


class FilesExport:
    """One run of `attachments`, resumed from `progress`, saved via `checkpoint`."""

    def __init__(
        self,
        client: GorgiasClient,
        store: FileStore,
        fetcher: FileFetcher,
        sinks: tuple[RowSink, RowSink],  # manifest.csv, manifest.jsonl
        progress: FilesProgress,
        checkpoint: Callable[[FilesProgress], None],
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        on_status: StatusCallback | None = None,
    ) -> None:
        self.client = client
        self.store = store
        self.fetcher = fetcher
        self.csv, self.jsonl = sinks
        self.progress = progress
        self._save = checkpoint
        self.since = format_utc(since) if since else None
        self.until = format_utc(until) if until else None  # exclusive
        self._on_status = on_status or (lambda status: None)
        self._saved = (progress.csv_bytes, progress.output_bytes)
        self._requests_before = client.stats.requests
        self.status = FilesStatus(
            phase="attachments",
            requests=0,
            rate_limited=0,
            retries=0,
            allowed_rate=client.pacer.allowed_rate,
            fraction=None,
            complete=False,
        )

    def run(self) -> FilesStatus:
        """Fetch until done; on any failure both manifests are cut back to the last checkpoint."""
        p = self.progress
        if p.run is None:
            p.run = self._plan()
        self.store.prepare()
        pool = ThreadPoolExecutor(WORKERS, thread_name_prefix="gorgias-download")
        try:
            while p.run.phase < len(PHASES):
                self._walk(p.run, PHASES[p.run.phase], pool)
                p.run.phase += 1
                p.run.walk = WalkPosition()
            self._finish(p.run)
        except BaseException:
            # Downloads not begun are dropped; those in flight end now (their sockets are
            # shut), so the pool's threads do not hold the exit. Not waited for: a request
            # asleep in a retry ends when the client closes.
            self.fetcher.stop()
            pool.shutdown(wait=False, cancel_futures=True)
            self.csv.cut_back(self._saved[0])
            self.jsonl.cut_back(self._saved[1])
            raise
        pool.shutdown()
        return self._status(complete=True)

    def _plan(self) -> FilesRun:
        lowers: list[str | None] = []
        for phase, watermark in zip(PHASES, self.progress.watermarks, strict=True):
            lower = shift(watermark, -phase.overlap) if watermark else None
            if self.since and (lower is None or self.since > lower):
                lower = self.since
            lowers.append(lower)
        return FilesRun(lowers=lowers, started_at=format_utc(datetime.now().astimezone()))

    def _walk(self, run: FilesRun, phase: Phase, pool: ThreadPoolExecutor) -> None:
        floor = run.lowers[run.phase]
        walk = ListingWalk(self.client, phase.path, "created_datetime", True, run.walk)
        chain = Chain(walk, prefetch=stays_above(floor))
        tasks_of = message_tasks if phase.prefix == "m" else recording_tasks
        while not walk.done:
            page = chain.take()
            self.status.items_read += len(page.items)
            tasks: list[Task] = []
            for item in page.items:
                created = sort_key(item.get("created_datetime"))
                if (floor and created < floor) or (self.until and created >= self.until):
                    continue
                done = f"{phase.prefix}:{item.get('id')}"
                if done in run.recent or done in self.progress.seen:
                    continue
                tasks.extend(tasks_of(item))
                run.recent[done] = created
                newest = run.newest[run.phase]
                if newest is None or created > newest:
                    run.newest[run.phase] = created
            for row in pool.map(self._fetch, tasks):
                self._write(row)
            walk.advance(page, finished=below(page, floor))
            self._checkpoint(phase)

    def _fetch(self, task: Task) -> dict[str, Any]:
        row = {**task.row, "size": None, "sha256": None, "path": None}
        final = self.store.final(task.relative)
        relative = "/".join(task.relative)
        found = self.store.existing(final)
        if found is not None:  # renamed into place by a run stopped before its checkpoint
            return {**row, "size": found[0], "sha256": found[1], "path": relative, "status": "ok"}
        part = self.store.part(task.part)
        try:
            fetched = self.fetcher.fetch(task.url, task.api_path, part)
            if fetched.status != "ok":
                part.discard()
                return {**row, "status": fetched.status, "size": fetched.size}
            self.store.make_parents(final)
            part.commit(final)
        except BaseException:
            part.discard()
            raise
        # The API's content_type only, never the server's header: a file found in place
        # (above) has no header, and a rerun must write the row a clean run writes.
        return {
            **row,
            "size": part.size,
            "sha256": part.sha256,
            "path": relative,
            "status": "ok",
        }

    def _write(self, row: dict[str, Any]) -> None:
        self.csv.write_row(row)
        self.jsonl.write_row(row)
        self.progress.rows_written += 1
        self.status.new_rows += 1
        if row["status"] == "ok":
            self.status.files += 1
            self.status.bytes += int(row["size"] or 0)
        else:
            self.status.missing += 1

    def _checkpoint(self, phase: Phase) -> None:
        run = self.progress.run
        assert run is not None
        newest = run.newest[run.phase]
        cutoff = (shift(newest, -phase.overlap) or "") if newest else ""
        mine = f"{phase.prefix}:"
        run.recent = {k: v for k, v in run.recent.items() if not k.startswith(mine) or v >= cutoff}
        self._sync_and_save()
        self._on_status(self._status())

    def _sync_and_save(self) -> None:
        """Both manifests' rows first, then the state that counts them (checkpoints.py). The
        JSONL first: its first opening saves the state that vouches for both files, which must
        be on disk before the CSV gets any row (else a rerun would find a CSV no state covers)."""
        p = self.progress
        p.output_bytes = self.jsonl.sync()
        p.csv_bytes = self.csv.sync()
        synced = p.csv_bytes, p.output_bytes
        try:
            self._save(p)
        except Exception:
            raise
        except BaseException:
            self._saved = synced  # see Checkpointing: the new state may be on disk already
            raise
        self._saved = synced

    def _finish(self, run: FilesRun) -> None:
        p = self.progress
        seen = {**p.seen, **run.recent}
        for index, phase in enumerate(PHASES):
            newest = max(filter(None, (p.watermarks[index], run.newest[index])), default=None)
            p.watermarks[index] = min(newest, run.started_at) if newest else None
            cutoff = shift(p.watermarks[index], -phase.overlap) or ""
            mine = f"{phase.prefix}:"
            seen = {k: v for k, v in seen.items() if not k.startswith(mine) or v >= cutoff}
        p.seen = seen
        p.completed_runs += 1
        p.run = None
        self._sync_and_save()
        self._on_status(self._status(complete=True))

    def _status(self, complete: bool = False) -> FilesStatus:
        stats, pacer = self.client.stats, self.client.pacer
        status = self.status
        status.requests = status.done = stats.requests - self._requests_before
        status.sent = stats.requests
        status.rate_limited, status.retries = stats.rate_limited, stats.retries
        status.allowed_rate, status.limit_known = pacer.allowed_rate, pacer.limit_known
        status.burst, status.room = pacer.limit or 0, pacer.room()
        status.fraction = 1.0 if complete else None
        status.complete = complete
        return FilesStatus(**vars(status))
