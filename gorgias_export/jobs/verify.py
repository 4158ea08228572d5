"""`verify PATH`: find which export PATH is, from the state beside it, and check it against the
account (exports/verify.py) without downloading it again.

PATH is one of ours when a state vouches for it: `<PATH>.state.json` (or `--state`), the
`gorgias-export.state.json` of an `all` directory, or the state row inside a SQLite mirror. The
state says the format, the account, and how far the export got; anything else is refused with
one line, and nothing is written anywhere (the comparison's scratch database is a temporary
file, deleted at the end).
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gorgias_export.api.client import GorgiasClient
from gorgias_export.errors import OutputError, StateConflict, UsageError
from gorgias_export.exports.progress import BadProgress, ExportProgress
from gorgias_export.exports.verify import ExportUnderTest, VerifyReport, compare
from gorgias_export.jobs.all import DATABASE_NAME, STATE_NAME
from gorgias_export.jobs.state import STATE_FORMAT_VERSION, default_state_path
from gorgias_export.jobs.xlsx_target import WORKBOOK_KEY, rows_store_path
from gorgias_export.output.export_readers import (
    READERS,
    ReadNotes,
    open_database,
    read_deletions_log,
)
from gorgias_export.output.sqlite_store import SQLITE_HEADER, STATE_TABLE
from gorgias_export.output.verify_scratch import VerifyScratch


@dataclass(frozen=True)
class FoundState:
    """What the state of an export says: which export (identity) and how far (progress)."""

    identity: dict[str, Any]
    progress: Any
    where: str  # "the state file X", for messages


def find_export(path_text: str, state_path: Path | None = None) -> ExportUnderTest:
    """Which export `path_text` is, from its state; refused, with one line, if none vouches
    for it or it is not one verify can check. No settings or network needed."""
    path = Path(path_text).resolve()
    if not path.is_file():
        raise OutputError(f"{path} does not exist or is not a file; give the path of an export.")
    workbook = path.suffix.lower() == ".xlsx"
    sqlite = not workbook and _is_sqlite(path)
    if (sqlite or workbook) and state_path is not None:
        raise UsageError(
            "--state does not apply to a SQLite mirror or an .xlsx workbook: their state is in "
            "the database (for a workbook, <out>.rows.sqlite)."
        )
    if workbook:
        found = _workbook_state(path)
    else:
        found = _sqlite_state(path) if sqlite else _file_state(path, state_path)
    identity = found.identity
    command = identity.get("command")
    if command != "tickets":
        raise UsageError(
            f"{path} is the {command} command's export; verify checks the exports of tickets."
        )
    if identity.get("filters") or identity.get("since") or identity.get("until"):
        raise UsageError(
            f"{path} holds part of the account (exported with a filter, --since or --until); "
            "verify checks whole-account exports only."
        )
    fmt, per = str(identity.get("format")), str(identity.get("per", "message"))
    if (fmt, per) not in READERS:
        raise UsageError(f"verify cannot read {fmt} exports yet ({path}).")
    try:
        progress = ExportProgress.from_json(found.progress)
    except BadProgress:
        raise _corrupt(found.where, path) from None
    return ExportUnderTest(path, fmt, per, progress, str(identity.get("api")))


def verify_export(client: GorgiasClient, export: ExportUnderTest) -> VerifyReport:
    """Read the export and compare it with the account `client` reads."""
    api = client.settings.base_url
    if export.api != api:
        raise StateConflict(
            f"{export.path} was exported from {export.api}, but the settings point at {api}; "
            "verify it with that account's settings."
        )
    with VerifyScratch() as scratch:
        notes = ReadNotes()
        READERS[(export.fmt, export.per)](export.path, scratch, notes)
        # The mirror and a workbook's store remove rows themselves; files log removals.
        if export.fmt not in ("sqlite", "xlsx"):
            read_deletions_log(export.path, scratch)
        return compare(client, export, scratch, notes)


def _file_state(path: Path, state_path: Path | None) -> FoundState:
    """A file's state: --state, `<PATH>.state.json`, or its `all` directory's state."""
    own = (state_path or default_state_path(path)).resolve()
    if own.is_file():
        identity, progress = _read_document(own, path)
        if identity.get("command") == "all":
            raise _not_ours(path)
        if identity.get("output") != str(path):
            raise StateConflict(
                f"The state file {own} belongs to another output ({identity.get('output')}), "
                f"so it says nothing of {path}."
            )
        return FoundState(identity, progress, f"The state file {own}")
    directory_state = path.with_name(STATE_NAME)
    if state_path is None and directory_state.is_file():
        identity, progress = _read_document(directory_state, path)
        fmt = identity.get("format")
        if identity.get("command") == "all" and path.name == f"tickets.{fmt}":
            return _all_part(identity, progress, f"The state file {directory_state}")
    raise _not_ours(path)


def _sqlite_state(path: Path) -> FoundState:
    """A SQLite mirror's state row: `tickets`'s own, or the `tickets` part of `all`'s."""
    rows = _state_rows(path)
    where = f"The saved state in {path}"
    if "tickets" in rows:
        return FoundState(*_parsed(rows["tickets"], where, path), where)
    if "all" in rows and path.name == DATABASE_NAME:
        identity, progress = _parsed(rows["all"], where, path)
        return _all_part({**identity, "format": "sqlite"}, progress, where)
    raise _not_ours(path)


def _workbook_state(path: Path) -> FoundState:
    """An .xlsx workbook's state: the state row of its store, `<PATH>.rows.sqlite` (the same
    for a workbook of an `all --format xlsx` directory). The rows are read from the workbook
    itself: the store only says which export it is and how far it got."""
    store = rows_store_path(path)
    if not store.is_file():
        raise _not_ours(path)
    rows = _state_rows(store)
    where = f"The saved state in {store}"
    # `tickets --per ticket`'s summary keeps its state under its table's name.
    name = next((n for n in ("tickets", "ticket_summary") if n in rows), None)
    if name is None:
        raise _not_ours(path)
    identity, progress = _parsed(rows[name], where, path)
    if isinstance(progress, dict):  # the fingerprints of the workbooks it published
        progress = {k: v for k, v in progress.items() if k != WORKBOOK_KEY}
    return FoundState(identity, progress, where)


def _all_part(identity: dict[str, Any], progress: Any, where: str) -> FoundState:
    """The tickets export inside an `all` run: its identity is all's, its progress a part."""
    part = progress.get("parts", {}).get("tickets") if isinstance(progress, dict) else None
    if part is None:
        raise StateConflict(
            f"{where} has no tickets export yet (the `all` run did not reach it); rerun `all`."
        )
    return FoundState({**identity, "command": "tickets"}, part, where)


def _read_document(state: Path, path: Path) -> tuple[dict[str, Any], Any]:
    where = f"The state file {state}"
    try:
        document = json.loads(state.read_bytes())
        parts = (document["format_version"], document["export"], document["progress"])
    except OSError as exc:
        raise OutputError(
            f"Could not read {state} ({exc.strerror or exc.__class__.__name__})."
        ) from None
    except (ValueError, KeyError, TypeError):
        raise _corrupt(where, path) from None
    return _checked(*parts, where, path)


def _parsed(row: tuple[Any, Any, Any], where: str, path: Path) -> tuple[dict[str, Any], Any]:
    """(identity, progress) from a state row's (format_version, identity, progress)."""
    try:
        identity, progress = json.loads(row[1]), json.loads(row[2])
    except (ValueError, TypeError):
        raise _corrupt(where, path) from None
    return _checked(row[0], identity, progress, where, path)


def _checked(
    version: Any, identity: Any, progress: Any, where: str, path: Path
) -> tuple[dict[str, Any], Any]:
    if not isinstance(identity, dict):
        raise _corrupt(where, path)
    if not isinstance(version, int) or version > STATE_FORMAT_VERSION:
        raise StateConflict(f"{where} was written by a newer gorgias-export; upgrade to verify it.")
    return identity, progress


def _corrupt(where: str, path: Path) -> StateConflict:
    return StateConflict(f"{where} is corrupt, so {path} cannot be verified.")


def _state_rows(path: Path) -> dict[str, tuple[Any, Any, Any]]:
    """The state rows of a database, by export name; read-only, and none if it has no table."""
    try:
        db = open_database(path)
        try:
            tables = db.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (STATE_TABLE,)
            ).fetchone()
            if tables is None:
                return {}
            query = f"SELECT export, format_version, identity, progress FROM {STATE_TABLE}"
            return {str(row[0]): (row[1], row[2], row[3]) for row in db.execute(query)}
        finally:
            db.close()
    except sqlite3.Error as exc:
        raise OutputError(f"Could not read {path} as a SQLite database ({exc}).") from None


def _is_sqlite(path: Path) -> bool:
    try:
        with path.open("rb") as handle:
            return handle.read(len(SQLITE_HEADER)) == SQLITE_HEADER
    except OSError as exc:
        raise OutputError(
            f"Could not read {path} ({exc.strerror or exc.__class__.__name__})."
        ) from None


def _not_ours(path: Path) -> StateConflict:
    return StateConflict(
        f"{path} is not a gorgias-export tickets export (no state beside it vouches for it); "
        "give the --out of a tickets run, or --state if it kept its state elsewhere."
    )
