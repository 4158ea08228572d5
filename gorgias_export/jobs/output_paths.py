"""The safety rules every file export shares: where it may write, and what it may overwrite."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from gorgias_export.errors import OutputError, StateConflict, UsageError
from gorgias_export.exports.progress import BadProgress
from gorgias_export.jobs.state import load_state

P = TypeVar("P")


def check_output_path(output: Path, example: str = "tickets.csv") -> None:
    if output.is_dir():
        raise OutputError(
            f"--out {output} is a directory; give a file path such as {output}/{example}."
        )
    check_parent(output, "--out")


def sqlite_output(out: str, state_path: Path | None, example: str) -> Path:
    """The database file of a SQLite export, checked like any --out; its state lives inside."""
    if out == "-":
        raise UsageError("SQLite output needs a file: give --out a path such as mirror.db.")
    if state_path is not None:
        raise UsageError(
            "--state does not apply to SQLite output: the state lives in the database."
        )
    output = Path(out).resolve()
    check_output_path(output, example)
    return output


def check_parent(path: Path, flag: str) -> None:
    parent = path.parent
    if not parent.exists():
        raise OutputError(f"The directory of {flag} {path} does not exist; create it first.")
    if not parent.is_dir():
        raise OutputError(f"{flag} {path} is inside {parent}, which is not a directory.")


def starting_progress(
    state_path: Path,
    identity: dict[str, Any],
    output: Path,
    fresh: bool,
    parse: Callable[[dict[str, Any]], P],
    empty: Callable[[], P],
    saved_bytes: Callable[[P], int],
    written: Path | None = None,
) -> P:
    """The saved progress of this export (from its state file), or a new one."""
    saved = None if fresh else load_state(state_path, identity)
    return progress_or_refuse(
        saved.progress if saved else None,
        state_path,
        output,
        fresh,
        parse,
        empty,
        saved_bytes,
        written,
    )


def progress_or_refuse(
    saved: dict[str, Any] | None,
    state_path: Path,
    output: Path,
    fresh: bool,
    parse: Callable[[dict[str, Any]], P],
    empty: Callable[[], P],
    saved_bytes: Callable[[P], int],
    written: Path | None = None,
    flag: str = "--out",
) -> P:
    """`saved` parsed, or a new progress; refuses to overwrite a file that has no state, a
    corrupt state, or a file shorter than its state says.

    `written` is the file the saved byte length refers to, when it is not `output` (a snapshot
    being written beside it)."""
    if saved is None:
        if not fresh and output.exists() and output.stat().st_size > 0:
            raise StateConflict(
                f"{output} already exists and has no saved progress to continue; choose another "
                f"{flag}, or rerun with --fresh to overwrite it."
            )
        return empty()
    try:
        progress = parse(saved)
    except BadProgress:
        raise StateConflict(
            f"The state file {state_path} is corrupt; rerun with --fresh to start over."
        ) from None
    target = written or output
    size = target.stat().st_size if target.exists() else 0
    if size < saved_bytes(progress):
        raise StateConflict(
            f"{target} is shorter than its saved progress ({size} of {saved_bytes(progress)} "
            "bytes), so it was changed outside gorgias-export; rerun with --fresh to start over."
        )
    return progress


def parse_or_refuse(
    saved: dict[str, Any] | None, where: Path, parse: Callable[[dict[str, Any]], P], empty: P
) -> P:
    """Saved progress with no file to check (a SQLite table): parsed, or refused if corrupt."""
    if saved is None:
        return empty
    try:
        return parse(saved)
    except BadProgress:
        raise StateConflict(
            f"The saved state in {where} is corrupt; rerun with --fresh to start over."
        ) from None
