"""`archive`: a complete offline backup in one resumable command.

The steps, each resumable or idempotent on its own, so rerunning the command after any
interruption finishes the archive, and rerunning it later brings it up to date:

1. the data: `all --format sqlite` into `DIR/data/gorgias.db` (the same run_all, its own state
   inside the database: an interrupted run resumes inside the entity it was in);
2. the JSONL: every table of that database as `DIR/data/jsonl/<table>.jsonl` (no request);
3. the attachment files: the `attachments` job, with DIR as its --out-dir;
4. the site: `DIR/index.html` and a page per ticket, written again only where something changed.

One lock, `DIR/archive.lock`, keeps two archive runs off one directory.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from gorgias_export.api.client import GorgiasClient
from gorgias_export.errors import ConfigError
from gorgias_export.exports.status import StatusCallback
from gorgias_export.jobs.all import DATABASE_NAME, AllJob, AllResult, prepare_dir, run_all
from gorgias_export.jobs.attachments import AttachmentsJob, open_files_target
from gorgias_export.jobs.lifecycle import JobResult, run_job
from gorgias_export.jobs.state import export_lock

if TYPE_CHECKING:
    from gorgias_export.archive.site import SiteResult

DATA_DIR = "data"
JSONL_DIR = "jsonl"


@dataclass(frozen=True)
class ArchiveJob:
    out_dir: str


@dataclass
class ArchiveResult:
    data: AllResult
    jsonl_rows: dict[str, int]
    files: JobResult
    site: SiteResult


def archive_ready() -> None:
    """The site needs nh3 (an optional extra): refuse before any request, not after the export."""
    if importlib.util.find_spec("nh3") is None:
        raise ConfigError(
            "The archive's site needs nh3, the HTML sanitiser: "
            "pip install 'gorgias-export[archive]', then run again."
        )


def run_archive(client: GorgiasClient, job: ArchiveJob, on_status: StatusCallback) -> ArchiveResult:
    archive_ready()
    # Imported here: nh3 is an optional extra, and the other commands must not need it.
    from gorgias_export.archive.jsonl_dump import dump_tables
    from gorgias_export.archive.site import build_site
    from gorgias_export.archive.site_files import refuse_foreign_site

    out_dir = Path(job.out_dir).resolve()
    prepare_dir(out_dir)
    data_dir = out_dir / DATA_DIR
    with export_lock(out_dir / "archive"):
        refuse_foreign_site(out_dir)  # before any request: never replace what we did not write
        data = run_all(client, AllJob(str(data_dir), "sqlite"), on_status)
        database = data_dir / DATABASE_NAME
        jsonl_rows = dump_tables(database, data_dir / JSONL_DIR)
        # The files, through their own lifecycle and state (DIR/attachments.state.json), into
        # DIR/files and DIR/recordings with DIR/manifest.jsonl, which build_site links to.
        files_job = AttachmentsJob(out_dir)
        files_target = open_files_target(files_job, client.settings.base_url)
        files = run_job(client, files_job, files_target, on_status)
        site = build_site(out_dir, database)
    return ArchiveResult(data, jsonl_rows, files, site)
