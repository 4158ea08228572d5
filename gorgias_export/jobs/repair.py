"""`--repair`: a finished export's output changed after its checkpoint is set aside, not
re-downloaded.

When a rerun finds bytes after the end of a *finished* export that it did not write (lines a
user appended, a tail edited after the checkpoint) while the bytes up to that end still verify
(ownership.py: their length, and their first and last 16 KiB), the file as it is now is kept
under a clearly named sibling, `<out>.changed-<UTC time>`, and those first bytes are put back
at `<out>`, from where the export goes on as always. For an *interrupted* export the bytes after
its last checkpoint are the crashed run's unsaved rows: they are cut back as without --repair.

The steps, each safe to be killed after (a rerun with --repair finishes it, exactly once):
1. the changed file is copied whole to a temporary of ours (created with O_EXCL under a name no
   one else uses, `<out>.gorgias-repair-<random>.tmp`, with the output's mode), synced, renamed
   to the sibling name, the directory synced. An independent copy, not a second name for the
   same file: a later `--fresh`, or the `truncate` the refusal suggests, cannot reach it. A
   rerun finds a sibling with the same size and hash and reuses it: one side copy, never two;
2. the verified bytes are copied from it to another such temporary, synced;
3. that temporary is renamed over `<out>` and the directory synced: `<out>` is now what the
   state vouches for, with the mode the user's file had, and the sibling alone holds the
   changed file.
A temporary of ours left by a kill is removed once the side copy is safe, and only when its
name is exactly ours and its bytes are a prefix of the side copy's (nothing lost with it). No
other file is ever deleted or overwritten: a user's own `<out>.repair` stays as it is.
"""

from __future__ import annotations

import contextlib
import glob
import hashlib
import io
import logging
import os
import re
import secrets
import stat
from datetime import UTC, datetime
from pathlib import Path

from gorgias_export.errors import OutputError, UsageError
from gorgias_export.output.writers import fsync_directory

log = logging.getLogger("gorgias_export")

SIDE_INFIX = ".changed-"
TEMP_INFIX = ".gorgias-repair-"
_CHUNK = 1 << 20
_REPAIRABLE_FORMATS = ("csv", "jsonl")


def refuse_misplaced_repair(repair: bool | None, fmt: str, fresh: bool) -> None:
    """Usage errors for --repair where it would be ignored or would drop the user's bytes:
    `fmt` is the output's format, or "stdout"."""
    if not repair:
        return
    if fresh:
        raise UsageError(
            "--repair keeps the bytes added to an output and --fresh replaces the output with "
            "a new export: give one or the other."
        )
    if fmt not in _REPAIRABLE_FORMATS:
        raise UsageError(
            "--repair works on CSV and JSONL files, not on stdout, SQLite or .xlsx output."
        )


def repair_output(path: Path, length: int) -> Path:
    """Set the changed `path` aside and put its first `length` bytes (verified) back in its
    place; returns where the changed file now is."""
    try:
        mode = stat.S_IMODE(os.stat(path).st_mode)
        side = _set_aside(path, mode)
        _remove_our_leftovers(path, side)
        copy = _prefix_copy(side, path, length, mode)
        try:
            _put_back(path, copy)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(copy)  # only if the rename did not happen: a temporary of ours
    except OSError as exc:
        raise OutputError(
            f"Could not repair {path} ({exc.strerror or exc.__class__.__name__}); nothing of it "
            "was lost: rerun with --repair to finish."
        ) from None
    log.warning(
        "Moved the changed %s to %s, kept as it was, and put back its first %s bytes (their "
        "length and first and last 16 KiB checked against the saved progress); going on from "
        "there.",
        path,
        side,
        f"{length:,}",
    )
    return side


def _set_aside(path: Path, mode: int) -> Path:
    """Step 1: the changed file copied whole to its sibling name (an earlier repair's identical
    copy reused)."""
    size = os.stat(path).st_size
    digest: str | None = None
    for earlier in sorted(path.parent.glob(f"{glob.escape(path.name)}{SIDE_INFIX}*")):
        with contextlib.suppress(OSError):
            found = os.lstat(earlier)
            if not stat.S_ISREG(found.st_mode) or found.st_size != size:
                continue
            digest = digest or _hash(path)
            if _hash(earlier) == digest:
                return earlier
    copy = _copy_to_temporary(path, size, mode)
    try:
        side = _free_name(path)
        _name_side(copy, side)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(copy)  # only if it was not renamed
    fsync_directory(path.parent)
    return side


def _name_side(copy: Path, side: Path) -> None:
    try:
        # A link never replaces: a file someone made at `side` since it was free is kept (the
        # repair then stops, exit 6, and a rerun picks another name). The copy's own name goes
        # in the caller's `finally`.
        os.link(copy, side)
    except FileExistsError:
        raise
    except OSError:  # a file system without hard links: `side` was free a moment ago
        os.replace(copy, side)


def _prefix_copy(side: Path, path: Path, length: int, mode: int) -> Path:
    """Step 2: the first `length` bytes of the set-aside file, in a new synced temporary."""
    return _copy_to_temporary(side, length, mode, named_after=path)


def _put_back(path: Path, copy: Path) -> None:
    """Step 3: the verified bytes take the output's name in one rename."""
    os.replace(copy, path)
    fsync_directory(path.parent)


def _copy_to_temporary(
    source: Path, length: int, mode: int, named_after: Path | None = None
) -> Path:
    """The first `length` bytes of `source` in a new file of ours, synced, with `mode`; removed
    again if the copy fails."""
    base = named_after or source
    temporary = base.with_name(f"{base.name}{TEMP_INFIX}{secrets.token_hex(8)}.tmp")
    with _new_file(temporary) as target:
        try:
            with source.open("rb") as reader:
                left = length
                while left:
                    chunk = reader.read(min(_CHUNK, left))
                    if not chunk:
                        raise OSError(f"{source} is shorter than {length} bytes")
                    target.write(chunk)
                    left -= len(chunk)
            target.flush()
            os.fchmod(target.fileno(), mode)
            os.fsync(target.fileno())
        except BaseException:
            os.unlink(temporary)
            raise
    return temporary


def _remove_our_leftovers(path: Path, side: Path) -> None:
    """Temporaries a killed repair left: exactly our name, and bytes that the side copy holds
    (a prefix of it), so removing them loses nothing. Anything else is left alone."""
    ours = re.compile(re.escape(path.name + TEMP_INFIX) + r"[0-9a-f]{16}\.tmp")
    removed = False
    for leftover in path.parent.glob(f"{glob.escape(path.name + TEMP_INFIX)}*.tmp"):
        with contextlib.suppress(OSError):
            found = os.lstat(leftover)
            if (
                ours.fullmatch(leftover.name)
                and stat.S_ISREG(found.st_mode)
                and _is_prefix_of(leftover, side)
            ):
                os.unlink(leftover)
                removed = True
    if removed:
        fsync_directory(path.parent)


def _is_prefix_of(short: Path, long: Path) -> bool:
    with short.open("rb") as first, long.open("rb") as second:
        while chunk := first.read(_CHUNK):
            if second.read(len(chunk)) != chunk:
                return False
    return True


def _hash(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as reader:
        while chunk := reader.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _new_file(path: Path) -> io.BufferedWriter:
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    return os.fdopen(os.open(path, flags, 0o600), "wb")


def _free_name(path: Path) -> Path:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    side = path.with_name(f"{path.name}{SIDE_INFIX}{stamp}")
    number = 1
    while side.exists() or side.is_symlink():
        number += 1
        side = path.with_name(f"{path.name}{SIDE_INFIX}{stamp}-{number}")
    return side
