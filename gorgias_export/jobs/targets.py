"""Where an export writes, and the rules that keep what is already there safe.

Two kinds of target, each with its state beside it:
- `FileTarget`: rows appended to a file (or printed to stdout, which has no resume). Its state
  is a state file, or a part of an `all` run's state. A file with no state that vouches for it
  is never overwritten (unless --fresh), nor one shorter than its state says: someone changed it.
- `DatabaseTarget`: rows upserted into SQLite tables, the state in the same database, committed
  with each page. Tables with rows but no state are never emptied (unless --fresh), nor tables
  another export keeps there.

Nothing is written until the first page of data is in hand, and a file's state is saved just
before the file is first opened, so a crash at any moment leaves a resumable pair.
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gorgias_export.errors import OutputError, StateConflict
from gorgias_export.exports.progress import BadProgress, FutureTime
from gorgias_export.fastjson import dumps_text, loads
from gorgias_export.jobs.ownership import (
    CHECK_KEY,
    Repairable,
    fingerprint,
    looks_like_output,
    unrepairable,
    verify,
    verify_beginning,
)
from gorgias_export.jobs.repair import repair_output
from gorgias_export.jobs.state import StateSlot, export_lock
from gorgias_export.output.sqlite_store import SqliteStore
from gorgias_export.output.writers import RowEncoder, RowSink, fsync_directory

if TYPE_CHECKING:
    from gorgias_export.jobs.lifecycle import Job, Progress


def partial_path(output: Path) -> Path:
    """Where a full read (a snapshot) is written before it replaces the output."""
    return output.with_name(output.name + ".partial")


def side_file(prefix: Path, name: str) -> Path:
    """A database kept beside an export: `<prefix>.<name>.sqlite` (its ticket index, say)."""
    return prefix.with_name(f"{prefix.name}.{name}.sqlite")


def parse_progress(job: Job, saved: Any, description: str) -> Progress:
    try:
        return job.parse_progress(saved)
    except FutureTime as future:
        # Not trusted, and not clamped: nothing tells where the real watermark was, and a
        # guess above it would skip rows for good. Once the clock passes it, it is a time past.
        raise StateConflict(
            f"{description} holds {future.name} {future.value}, later than this run's start "
            f"({future.now}): the clock was set back since it was saved, or it was edited, and "
            "trusting it would skip rows, so nothing was changed; fix the clock and rerun (or "
            "rerun once that time has passed), or rerun with --fresh to export again."
        ) from None
    except BadProgress as bad:
        # Its own words: a value that is well typed but cannot be right (a future watermark)
        # is named, so that whoever edited the file can see which.
        raise StateConflict(
            f"{description} is corrupt ({bad}); rerun with --fresh to start over."
        ) from None


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
                fsync_directory(self.output.parent)  # the new snapshot's name, made durable
            except OSError as exc:
                raise OutputError(
                    f"Could not move {self.partial} over {self.output} "
                    f"({exc.strerror or exc.__class__.__name__}); rerun to finish."
                ) from None


class OutputState:
    """A file target's state slot: each save adds the fingerprint of the output's bytes it
    vouches for (ownership.py), so that a rerun can tell its file from a changed one."""

    def __init__(self, inner: StateSlot, checked_file: Any, directory: Path | None) -> None:
        self.description = inner.description
        self._inner = inner
        self._checked_file = checked_file  # progress (JSON) -> the file its bytes are in, or None
        self._directory = directory  # the state file's

    def load(self) -> dict[str, Any] | None:
        return self._inner.load()

    def save(self, progress: dict[str, Any], opening: bool = False) -> None:
        """`opening`: saved just before the output is opened, so rows may follow it even if
        no run is in flight."""
        path = self._checked_file(progress)
        if path is not None:
            open_end = opening or progress.get("run") is not None
            check = fingerprint(path, int(progress.get("output_bytes", 0)), open_end)
            progress = {**progress, CHECK_KEY: check}
        self._inner.save(progress)
        if opening and self._directory is not None:
            # A finished export's state says no bytes follow it. The rename of this one, which
            # says some may, must not be lost to a power cut while the rows it allows survive:
            # then the rerun would refuse them as added by someone else. Once a run.
            fsync_directory(self._directory)


class FileTarget:
    """Rows to `output`, resumable through `state`; with no output, to stdout.

    `overwrite`: an existing file without state may be replaced (--fresh), if it looks like one
    of our outputs, or whatever it holds with `force` (--overwrite). `repair` (--repair): a file
    changed only after the bytes its state vouches for is set aside, not refused (repair.py);
    None where the command has no --repair (the refusal then does not offer it).
    """

    def __init__(
        self,
        output: Path | None,
        state: StateSlot,
        *,
        overwrite: bool = False,
        force: bool = False,
        locks: Sequence[Path] = (),
        flag: str = "--out",
        side_prefix: Path | None = None,
        state_dir: Path | None = None,
        repair: bool | None = None,
    ) -> None:
        self.output = output
        self._repair = repair
        self.state: StateSlot = (
            state if output is None else OutputState(state, self._checked, state_dir)
        )
        self._overwrite = overwrite
        self._force = force
        self._snapshots = False  # known at start()
        self._locks = locks
        self._flag = flag
        self._side_prefix = side_prefix
        self.label = str(output) if output is not None else "stdout"

    @contextlib.contextmanager
    def session(self) -> Iterator[None]:
        """The locks, held for the whole run; for stdout, a scratch folder for side files."""
        with contextlib.ExitStack() as stack:
            for path in self._locks:
                stack.enter_context(export_lock(path))
            if self._side_prefix is None:
                scratch = stack.enter_context(tempfile.TemporaryDirectory(prefix="gorgias-export-"))
                self._side_prefix = Path(scratch) / "export"
            yield

    def side_file(self, name: str) -> Path:
        assert self._side_prefix is not None, "side files exist only inside session()"
        return side_file(self._side_prefix, name)

    def _checked(self, progress: dict[str, Any]) -> Path | None:
        """The file whose first `output_bytes` bytes a state vouches for: the output, or a
        snapshot's `.partial` while it is written, or once published the output it became
        (none while it is being moved into place; at the save before a new one is opened, the
        output's first 0 bytes, with rows allowed to follow: that output is no longer vouched
        for, as the run replaces it)."""
        assert self.output is not None
        run = progress.get("run")
        if not self._snapshots or run is None:
            return self.output
        if isinstance(run, dict) and not run.get("finishing"):
            return partial_path(self.output)
        return None

    def start(self, job: Job) -> Progress:
        """The saved progress of this export, or a new one; refuses what is not ours."""
        output = self.output
        self._snapshots = job.snapshots
        saved = self.state.load()
        if output is None:
            return job.new_progress()
        if saved is None:
            refuse_unowned(output, job, self._overwrite, self._force, self._flag)
            return job.new_progress()
        progress = parse_progress(job, saved, self.state.description)
        # The file the saved byte length refers to: a snapshot is written beside the output.
        written = partial_path(output) if job.snapshots else output
        size = written.stat().st_size if written.exists() else 0
        needed = job.saved_bytes(progress)
        if size < needed and self._repair:
            raise unrepairable(written, f"it is shorter ({size:,} bytes) than its saved progress")
        if size < needed:
            raise StateConflict(
                f"{written} is shorter than its saved progress ({size} of {needed} bytes), so "
                "it was changed outside gorgias-export and was left as it is; put back the file "
                "as exported and rerun, or move it away and rerun with --fresh to start over."
            )
        checked = self._checked(saved)
        check = saved.get(CHECK_KEY)
        if checked is not None and check is not None and checked.exists():
            # A published snapshot is replaced whole by the next full read: one edited since,
            # or put there by someone else, is refused, as an output appended to would be.
            self._verify(checked, check, progress.output_bytes)
        elif check is None and not job.snapshots:  # a state saved by 0.1.0
            verify_beginning(output, job.file_header(), _what(job))
        return progress

    def _verify(self, path: Path, check: Any, length: int) -> None:
        try:
            verify(path, check, length, self.state.description, self._repair)
        except Repairable:
            if not self._repair:
                raise
            repair_output(path, length)

    def rows_file(
        self, encoder: RowEncoder, progress: Progress, snapshot: bool = False
    ) -> tuple[RowSink, FileSnapshot | None]:
        """The sink of the rows: the output, or for a full read its `.partial` snapshot.

        The state is saved just before the file is first opened, as it is now: a crash during
        the first page then leaves a state that matches the file. A snapshot resumed after its
        finishing save is only moved into place: its sink never opens.
        """
        if self.output is None:
            return RowSink(encoder, None, stream=sys.stdout.buffer), None
        if snapshot and progress.run is None:
            progress.output_bytes = 0  # a new snapshot starts empty
        # A copy: the live progress will count rows queued but not yet in the file.
        at_start = loads(dumps_text(progress.to_json()))
        path = partial_path(self.output) if snapshot else self.output
        sink = RowSink(
            encoder,
            str(path),
            offset=progress.output_bytes,
            before_first_open=lambda: self._save_opening(at_start),
        )
        return sink, FileSnapshot(self.output) if snapshot else None

    def _save_opening(self, progress: dict[str, Any]) -> None:
        assert isinstance(self.state, OutputState)
        self.state.save(progress, opening=True)

    def total_rows(self, job: Job, progress: Progress) -> int:
        return progress.rows_written

    def publish(self, job: Job) -> None:
        """After a complete run: nothing more (the rows are in place)."""


def refuse_unowned(output: Path, job: Job, overwrite: bool, force: bool, flag: str) -> None:
    """Refuse an existing, non-empty output that no state of ours vouches for: always without
    --fresh (`overwrite`), and with it unless it looks like one of our outputs or --overwrite
    (`force`) says to replace it anyway. `--fresh` is only suggested for a file that looks ours."""
    try:
        size = output.stat().st_size
    except FileNotFoundError:
        return
    if size == 0 or (overwrite and force):
        return
    ours = looks_like_output(output, job.file_header())
    if overwrite and ours:
        return
    what = _what(job)
    if overwrite:
        raise StateConflict(
            f"{output} exists and does not look like {what}, so --fresh left it as it is; "
            f"choose another {flag}, move it away, or add --overwrite to replace it."
        )
    if ours:
        raise StateConflict(
            f"{output} already exists and has no saved progress to continue; choose another "
            f"{flag}, or rerun with --fresh to write it again from the start."
        )
    raise StateConflict(
        f"{output} already exists and is not {what}, so it is left as it is; choose another "
        f"{flag}, or move it away."
    )


def _what(job: Job) -> str:
    return f"a gorgias-export {job.name} {job.fmt} file"


class DatabaseState:
    """An export's state as a row of the database it writes, committed with each page."""

    def __init__(self, store: SqliteStore, key: str, identity: dict[str, Any]) -> None:
        self.description = f"The saved state in {store.path}"
        self._store = store
        self._key = key
        self._identity = identity

    def load(self) -> dict[str, Any] | None:
        saved = self._store.load_state(self._key, self._identity)
        return saved.progress if saved is not None else None

    def save(self, progress: dict[str, Any]) -> None:
        self._store.save_state(self._key, self._identity, progress)


class DatabaseTarget:
    """Rows upserted into tables of `store`, the state in the same database.

    `checked`: refuse tables this export has no state for (a single command; `all` checks the
    whole database once instead). `fresh`: empty this export's tables, in the first page's
    transaction, so that a run that fails before it leaves the database as it was.
    """

    def __init__(
        self,
        store: SqliteStore,
        state: StateSlot,
        *,
        fresh: bool = False,
        checked: bool = True,
        lock: Path | None = None,
        side_prefix: Path,
        owns_store: bool = False,
    ) -> None:
        self.store = store
        self.state = state
        self._fresh = fresh
        self._checked = checked
        self._lock = lock
        self._side_prefix = side_prefix
        self._owns_store = owns_store
        self.label = str(store.path)

    @contextlib.contextmanager
    def session(self) -> Iterator[None]:
        with contextlib.ExitStack() as stack:
            if self._lock is not None:
                stack.enter_context(export_lock(self._lock))
            if self._owns_store:
                stack.callback(self.store.close)
            yield

    def side_file(self, name: str) -> Path:
        return side_file(self._side_prefix, name)

    def start(self, job: Job) -> Progress:
        store = self.store
        if self._checked:
            conflict = job.shared_tables_conflict(store)
            if conflict is not None:
                raise StateConflict(conflict)
        if self._fresh:
            store.reset(job.name, job.tables)  # committed with the first page, or never
            return job.new_progress()
        saved = self.state.load()
        if saved is None:
            if self._checked and any(store.row_count(table) for table in job.tables):
                tables = ", ".join(job.tables)
                if len(job.tables) > 1:
                    tables = f"its {tables} tables"
                raise StateConflict(
                    f"{store.path} already has rows in {tables} but no saved progress for this "
                    "export; choose another --out, or rerun with --fresh to replace them."
                )
            return job.new_progress()
        return parse_progress(job, saved, self.state.description)

    def total_rows(self, job: Job, progress: Progress) -> int:
        return self.store.row_count(job.tables[-1])  # the table of the export's rows

    def publish(self, job: Job) -> None:
        """After a complete run: nothing more (the rows are committed; an .xlsx target writes
        its workbook here)."""


Target = FileTarget | DatabaseTarget
