"""An .xlsx output: rows kept in a SQLite store beside the workbook, the workbook written from it.

An .xlsx file is a zip: it cannot be appended to, nor cut back to a checkpoint. So the rows go
where they can be, a store `<out>.rows.sqlite` (upserted by key, the state committed in the same
transaction, exactly as a SQLite output: `DatabaseTarget`), and at the end of each run the whole
workbook is written from the store to `<out>.partial`, then renamed over `<out>`. A `kill -9` at
any moment leaves the old workbook or the new one, never part of one; a rerun resumes in the
store and writes the workbook again.

The workbook itself is never trusted blindly: the state keeps the fingerprint of each workbook
it published (ownership.py's, which covers a zip's central directory, so any change to a sheet),
and a rerun refuses (exit 7) a workbook that is not one of them: edited and saved in a
spreadsheet, or another file put there. With no state, an existing workbook is replaced only with
--fresh, if it carries our document property, or with --overwrite.
"""

from __future__ import annotations

import contextlib
import os
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gorgias_export.errors import OutputError, StateConflict
from gorgias_export.jobs.ownership import fingerprint
from gorgias_export.jobs.targets import DatabaseState, DatabaseTarget, partial_path
from gorgias_export.output.sqlite_store import SqliteStore
from gorgias_export.output.workbook import MARKER_PROPERTY, write_workbook
from gorgias_export.output.writers import fsync_directory
from gorgias_export.output.xlsx_scratch import scratch_path

if TYPE_CHECKING:
    from gorgias_export.jobs.lifecycle import Job, Progress

WORKBOOK_KEY = "workbooks"  # in the saved progress: fingerprints of the workbooks we published


def rows_store_path(workbook: Path) -> Path:
    return workbook.with_name(workbook.name + ".rows.sqlite")


class WorkbookState:
    """The state in the store, plus the fingerprints of the workbooks this export published
    (saved with every checkpoint)."""

    def __init__(self, inner: DatabaseState) -> None:
        self.description = inner.description
        self._inner = inner
        self.known: list[dict[str, Any]] = []
        self.found = False  # whether a saved state was loaded
        self._last: dict[str, Any] | None = None

    def load(self) -> dict[str, Any] | None:
        saved = self._inner.load()
        if saved is not None:
            self.found = True
            known = saved.pop(WORKBOOK_KEY, [])
            self.known = (
                [c for c in known if isinstance(c, dict)] if isinstance(known, list) else []
            )
            self._last = saved
        return saved

    def save(self, progress: dict[str, Any]) -> None:
        self._last = progress
        self._inner.save({**progress, WORKBOOK_KEY: self.known})

    def save_again(self) -> None:
        """Save the last progress again, with the fingerprints as they are now."""
        if self._last is not None:
            self.save(self._last)


def matches(path: Path, check: dict[str, Any]) -> bool:
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        return False
    return fingerprint(path, size, False) == check


def looks_like_workbook(path: Path) -> bool:
    """Whether `path` is a workbook gorgias-export wrote (our custom document property)."""
    try:
        with zipfile.ZipFile(path) as archive:
            custom = archive.read("docProps/custom.xml")
    except (OSError, KeyError, zipfile.BadZipFile):
        return False
    return f'name="{MARKER_PROPERTY}"'.encode() in custom


class XlsxTarget(DatabaseTarget):
    """Rows upserted into the store beside `workbook`; the workbook written at each run's end.

    `fresh`: start over (the store's rows emptied at the first checkpoint), replacing an existing
    workbook if it looks like ours, or whatever it is with `force` (--overwrite)."""

    def __init__(
        self,
        workbook: Path,
        store: SqliteStore,
        state: WorkbookState,
        *,
        fresh: bool,
        force: bool,
        locked: bool = True,
    ) -> None:
        lock = workbook if locked else None
        super().__init__(
            store, state, fresh=fresh, lock=lock, side_prefix=workbook, owns_store=True
        )
        self.workbook = workbook
        self.label = str(workbook)
        self._workbook_state = state
        self._fresh_workbook = fresh
        self._force = force

    def start(self, job: Job) -> Progress:
        if self._fresh_workbook:
            self._accept_for_fresh(job)
            return super().start(job)
        progress = super().start(job)  # refuses rows without a state, another export's state
        self._refuse_unknown_workbook(job)
        return progress

    def _accept_for_fresh(self, job: Job) -> None:
        """--fresh replaces a workbook that looks like ours (any with --overwrite); it is then
        ours: its fingerprint goes in the state, so an interrupted fresh run can go on."""
        book = self.workbook
        if not _non_empty(book):
            return
        if not (self._force or looks_like_workbook(book)):
            raise StateConflict(
                f"{book} exists and does not look like a gorgias-export {job.name} workbook, so "
                "--fresh left it as it is; choose another --out, move it away, or add "
                "--overwrite to replace it."
            )
        self._workbook_state.known = [fingerprint(book, book.stat().st_size, False)]

    def _refuse_unknown_workbook(self, job: Job) -> None:
        book, state = self.workbook, self._workbook_state
        if not _non_empty(book):
            return
        if not state.found:
            if looks_like_workbook(book):
                raise StateConflict(
                    f"{book} already exists and {rows_store_path(book).name} holds no saved "
                    f"progress of this {job.name} export to continue; choose another --out, or "
                    "rerun with --fresh to write it again from the start."
                )
            raise StateConflict(
                f"{book} already exists and is not a gorgias-export {job.name} workbook, so it "
                "is left as it is; choose another --out, or move it away."
            )
        matched = [check for check in state.known if matches(book, check)]
        if not matched:
            raise StateConflict(
                f"{book} is not the workbook gorgias-export wrote there (it was edited and saved, "
                "or another file was put in its place), so it was left as it is; move it away "
                "and rerun to write it again from the saved rows."
            )
        state.known = matched[:1]

    def publish(self, job: Job) -> None:
        """Write the whole workbook from the store to `<out>.partial`, then rename it over
        `<out>`. The state knows the new workbook's fingerprint before the rename, and still
        the old one's: whichever a crash leaves in place is accepted by the rerun."""
        state = self._workbook_state
        partial = partial_path(self.workbook)
        scratch = scratch_path(self.workbook)  # <out>.xlsxtmp/, whatever the partial's name
        write_workbook(partial, job.sheet(self.store), owner=job.name, scratch=scratch)
        new = fingerprint(partial, partial.stat().st_size, False)
        state.known = [*state.known[:1], new]
        state.save_again()
        try:
            os.replace(partial, self.workbook)
        except OSError as exc:
            with contextlib.suppress(OSError):
                partial.unlink()
            raise OutputError(
                f"Could not move {partial} over {self.workbook} "
                f"({exc.strerror or exc.__class__.__name__}); rerun to write it again."
            ) from None
        fsync_directory(self.workbook.parent)
        state.known = [new]
        state.save_again()


def _non_empty(path: Path) -> bool:
    try:
        return path.stat().st_size > 0
    except FileNotFoundError:
        return False


def xlsx_target(
    job: Job, workbook: Path, fresh: bool, force: bool, api: str, *, locked: bool = True
) -> XlsxTarget:
    """`locked=False`: the caller holds the workbook's lock already (`all` holds every output's
    for its whole run); a second lock on it from this process would refuse the run."""
    store = SqliteStore(rows_store_path(workbook), flag="--out (its .rows.sqlite store)")
    state = WorkbookState(DatabaseState(store, job.name, job.identity(api)))
    return XlsxTarget(workbook, store, state, fresh=fresh, force=force, locked=locked)
