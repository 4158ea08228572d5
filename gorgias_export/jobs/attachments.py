"""`attachments`: the files of every message and call recording into one directory.

Through the one lifecycle (lifecycle.run_job), with a file target whose output is
`DIR/manifest.jsonl` and whose state is `DIR/attachments.state.json`: the lock, the ownership
checks and the fingerprint of the JSONL manifest are every export's. `DIR/manifest.csv` is the
same rows as CSV; its length and its own fingerprint (ownership.py, `csv_check`) are saved in the
same state at each save, so a rerun refuses an edited or appended CSV as it does the JSONL,
before cutting it back to its saved length.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from gorgias_export.api.client import GorgiasClient
from gorgias_export.api.download import FileFetcher
from gorgias_export.errors import StateConflict, UsageError
from gorgias_export.exports.attachments import MANIFEST_COLUMNS, FilesExport, FilesStatus
from gorgias_export.exports.file_progress import FilesProgress
from gorgias_export.exports.status import StatusCallback
from gorgias_export.jobs.all import prepare_dir
from gorgias_export.jobs.ownership import CHECK_KEY, fingerprint, looks_like_output, verify
from gorgias_export.jobs.state import StateFile, StateSlot
from gorgias_export.jobs.targets import FileTarget, Target
from gorgias_export.output.file_store import FileStore
from gorgias_export.output.sqlite_store import SqliteStore
from gorgias_export.output.workbook import Sheet
from gorgias_export.output.writers import CsvEncoder, JsonlEncoder, RowSink
from gorgias_export.timeutil import format_utc

MANIFEST_VERSION = 1
STATE_NAME = "attachments.state.json"
CSV_CHECK_KEY = "csv_check"  # in the saved progress: manifest.csv's fingerprint
# The state lives in DIR and speaks of DIR, wherever it is: a copied or moved DIR resumes. The
# states saved before this name it; those names are not compared.
MOVABLE = frozenset({"out_dir", "output"})
DEFAULT_MAX_SIZE = 1024**3  # 1 GiB: far past any attachment Gorgias takes


@dataclass(frozen=True)
class AttachmentsJob:
    out_dir: Path  # resolved
    max_size: int = DEFAULT_MAX_SIZE
    since: datetime | None = None
    until: datetime | None = None  # exclusive
    fresh: bool = False
    overwrite: bool = False

    name = "attachments"
    fmt = "jsonl"
    snapshots = False
    tables: tuple[str, ...] = ()

    @property
    def csv_manifest(self) -> Path:
        return self.out_dir / "manifest.csv"

    def identity(self, api: str) -> dict[str, Any]:
        return {
            "command": self.name,
            "since": format_utc(self.since) if self.since else None,
            "until": format_utc(self.until) if self.until else None,
            "api": api,
            "manifest_version": MANIFEST_VERSION,
        }

    def new_progress(self) -> FilesProgress:
        return FilesProgress()

    def parse_progress(self, saved: Any) -> FilesProgress:
        return FilesProgress.from_json(saved)

    def saved_bytes(self, progress: FilesProgress) -> int:
        return progress.output_bytes

    def file_header(self) -> bytes:
        return b""

    def shared_tables_conflict(self, store: SqliteStore) -> str | None:
        return None

    def refused_state(self, output: Path, state: Path) -> str | None:
        return None

    def sheet(self, store: SqliteStore) -> Sheet:
        """Never asked: the manifest is always JSONL and CSV, never a workbook."""
        raise UsageError("attachments writes its manifest as CSV and JSONL, not .xlsx.")

    def run(
        self,
        client: GorgiasClient,
        target: Target,
        progress: FilesProgress,
        checkpoint: Callable[[FilesProgress], None],
        on_status: StatusCallback,
    ) -> FilesStatus:
        assert isinstance(target, FileTarget)
        csv_encoder = CsvEncoder(MANIFEST_COLUMNS)
        self._check_csv(progress, csv_encoder.header(), target.state.load())
        jsonl, _ = target.rows_file(JsonlEncoder(MANIFEST_COLUMNS), progress)
        csv = RowSink(csv_encoder, str(self.csv_manifest), offset=progress.csv_bytes)
        try:
            export = FilesExport(
                client,
                FileStore(self.out_dir),
                FileFetcher(client, self.max_size),
                (csv, jsonl),
                progress,
                checkpoint,
                since=self.since,
                until=self.until,
                on_status=on_status,
            )
            return export.run()
        finally:
            csv.close()
            jsonl.close()

    def _check_csv(
        self, progress: FilesProgress, header: bytes, saved: dict[str, Any] | None
    ) -> None:
        """The CSV manifest is cut back to its saved length at its first write: refuse one that
        is not the one the state vouches for, or one no state of ours vouches for (as the target
        does for the JSONL). `saved`: the state loaded (even one saved before any row, which
        vouches for none)."""
        path = self.csv_manifest
        size = path.stat().st_size if path.exists() else 0
        if saved is None:
            ours = looks_like_output(path, header) if size else True
            if size and not (self.fresh and (ours or self.overwrite)):
                raise StateConflict(
                    f"{path} exists and this export has no saved progress for it; move it "
                    "away, or rerun with --fresh to write the manifests again."
                )
            return
        check = saved.get(CSV_CHECK_KEY)
        if check is not None:
            verify(path, check, progress.csv_bytes, f"The CSV manifest's check in {STATE_NAME}")
            return
        # A state saved before the CSV had a fingerprint: its length, as then.
        if size < progress.csv_bytes:
            raise StateConflict(
                f"{path} is shorter than its saved progress ({size} of {progress.csv_bytes} "
                "bytes), so it was changed outside gorgias-export; put it back as exported, or "
                "rerun with --fresh to write the manifests again."
            )


def open_files_target(job: AttachmentsJob, api: str) -> FileTarget:
    """The target of `attachments`: DIR/manifest.jsonl, its state DIR/attachments.state.json."""
    out_dir = job.out_dir
    prepare_dir(out_dir)
    output = out_dir / "manifest.jsonl"
    state = out_dir / STATE_NAME
    return FileTarget(
        output,
        CsvChecked(
            StateFile(state, job.identity(api), job.fresh, ignored=MOVABLE),
            job.csv_manifest,
        ),
        overwrite=job.fresh,
        force=job.overwrite,
        locks=[output],
        flag="--out-dir",
        side_prefix=out_dir / "attachments",
        state_dir=out_dir,
    )


class CsvChecked:
    """A state slot whose every save also holds manifest.csv's fingerprint, open to more rows
    exactly when the JSONL's is (the target decides that: a run in flight, or about to open)."""

    def __init__(self, inner: StateSlot, csv: Path) -> None:
        self.description = inner.description
        self._inner = inner
        self._csv = csv

    def load(self) -> dict[str, Any] | None:
        return self._inner.load()

    def save(self, progress: dict[str, Any]) -> None:
        jsonl_check = progress.get(CHECK_KEY)
        if isinstance(jsonl_check, dict) and isinstance(jsonl_check.get("open"), bool):
            open_end = jsonl_check["open"]
        else:
            open_end = progress.get("run") is not None
        length = int(progress.get("csv_bytes", 0))
        check = fingerprint(self._csv, length, open_end)
        self._inner.save({**progress, CSV_CHECK_KEY: check})
