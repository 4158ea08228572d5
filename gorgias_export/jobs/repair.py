"""`--repair`: an output changed after its checkpoint is set aside, not re-downloaded.

When a rerun finds bytes after the end of a finished export that it did not write (lines a user
appended, a tail edited after the checkpoint) while every byte up to that end still verifies
(ownership.py), nothing of the export is lost: the file as it is now is kept under a clearly
named sibling, `<out>.changed-<UTC time>`, and the verified bytes are put back at `<out>`, from
where the export goes on as always. No byte of the user's is dropped or rewritten.

The steps, each safe to be killed after (a rerun with --repair finishes it, exactly once):
1. the changed file gets its second name, the sibling: a hard link (the same bytes, not even
   copied), or where links are not allowed a copy written under a temporary name, synced, then
   renamed; the directory is synced. A rerun finds the sibling that is the same file and reuses it.
2. the verified bytes are copied from it to `<out>.repair` (created 0600), synced;
3. `<out>.repair` is renamed over `<out>` and the directory synced: `<out>` is now the export as
   the state vouches for it, and the sibling alone holds the changed file.
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
from datetime import UTC, datetime
from pathlib import Path

from gorgias_export.errors import OutputError
from gorgias_export.output.writers import fsync_directory

SIDE_INFIX = ".changed-"
_CHUNK = 1 << 20


def repair_output(path: Path, length: int) -> Path:
    """Set the changed `path` aside and put its first `length` bytes (verified) back in its
    place; returns where the changed file now is."""
    try:
        side = _set_aside(path)
        _put_back(path, _prefix_copy(side, path, length))
    except OSError as exc:
        raise OutputError(
            f"Could not repair {path} ({exc.strerror or exc.__class__.__name__}); nothing of it "
            "was lost: rerun with --repair to finish."
        ) from None
    return side


def _set_aside(path: Path) -> Path:
    """Step 1: the changed file under its sibling name (reused if an earlier repair got as far)."""
    for earlier in sorted(path.parent.glob(f"{_glob_escape(path.name)}{SIDE_INFIX}*")):
        with contextlib.suppress(OSError):
            if earlier.is_file() and os.path.samefile(earlier, path):
                return earlier
    side = _free_name(path)
    try:
        os.link(path, side, follow_symlinks=False)
    except OSError:  # a file system without hard links: a copy, whole before it is named
        partial = side.with_name(side.name + ".tmp")
        with contextlib.suppress(FileNotFoundError):
            os.unlink(partial)
        with path.open("rb") as source, _new_file(partial) as target:
            shutil.copyfileobj(source, target, _CHUNK)
            target.flush()
            os.fsync(target.fileno())
        os.replace(partial, side)
    fsync_directory(path.parent)
    return side


def _prefix_copy(side: Path, path: Path, length: int) -> Path:
    """Step 2: the first `length` bytes of the set-aside file, in a new synced file."""
    copy = path.with_name(path.name + ".repair")
    with contextlib.suppress(FileNotFoundError):
        os.unlink(copy)  # a leftover of a killed repair, never written through
    with side.open("rb") as source, _new_file(copy) as target:
        left = length
        while left:
            chunk = source.read(min(_CHUNK, left))
            if not chunk:
                raise OSError(f"{side} is shorter than {length} bytes")
            target.write(chunk)
            left -= len(chunk)
        target.flush()
        os.fsync(target.fileno())
    return copy


def _put_back(path: Path, copy: Path) -> None:
    """Step 3: the verified bytes take the output's name in one rename."""
    os.replace(copy, path)
    fsync_directory(path.parent)


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


def _glob_escape(name: str) -> str:
    return "".join(f"[{c}]" if c in "*?[" else c for c in name)
