"""Whether an output file is still ours, before a rerun cuts it back, appends to it or replaces it.

A state vouches for an output's first `output_bytes` bytes. With each save, a file target adds
to the progress a fingerprint of them (`output_check`): the length, a hash of the first 16 KiB
and one of the 16 KiB just before the length, and whether rows may follow (a run in flight, or
the file about to be opened for one). Before a rerun touches the file, it is checked:

- the first bytes differ: another file was put there, or it was edited or re-saved (a
  spreadsheet's "CSV UTF-8" save adds a byte-order mark, named as such);
- the bytes just before the checkpoint differ: it was edited;
- it is longer than a *finished* export: someone appended to it;
- longer than an export in flight, with the same first `output_bytes` bytes: the torn tail of a
  crash, cut back as always.

A snapshot's fingerprint is of its `.partial` while it is written, then of the published output,
which the next full read would replace whole: that too is refused once changed.

A refusal changes nothing. A state saved before fingerprints existed (0.1.0) is checked by its
length, as then, and by how the file begins (`verify_beginning`), and gets its fingerprint at its
next save.

`looks_like_output` is the cheaper question `--fresh` asks of a file it would overwrite with no
state of ours to check against: does it begin as one of our outputs (the CSV header of this
export, or a JSON object on the first line)? If not, it is replaced only with `--overwrite`.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from gorgias_export.errors import OutputError, StateConflict

CHECK_KEY = "output_check"
# 16 KiB each end: the header and the last rows written, for two small reads per checkpoint
# (64 KiB cost 2% of a 100k-message export's CPU, hashing; this a quarter of that).
WINDOW = 16 * 1024
BOM = b"\xef\xbb\xbf"


def fingerprint(path: Path, length: int, open_end: bool) -> dict[str, Any]:
    """What the state says of `path`'s first `length` bytes; `open_end`: rows may follow."""
    head, tail = _windows(path, length, 0)
    return {"length": length, "head": _digest(head), "tail": _digest(tail), "open": open_end}


class Repairable(StateConflict):
    """A finished export's file with bytes after its end that we did not write, every byte up to
    that end still ours: `--repair` can set it aside and go on (repair.py)."""


def unrepairable(path: Path, why: str) -> StateConflict:
    """--repair's refusal: the bytes the state vouches for are not all there as written."""
    return StateConflict(
        f"--repair left {path} as it is: {why}, so there is no verified part to keep and nothing "
        "to repair; put back the file as exported and rerun, or move it away and rerun with "
        "--fresh to export again."
    )


def verify(
    path: Path, check: Any, length: int, description: str, repair: bool | None = None
) -> None:
    """Refuse (StateConflict, nothing changed) a file that is not the one `check` describes.
    `repair`: None for a command without --repair, whose refusal of bytes added after a finished
    export gives the way out by hand; else that refusal is `Repairable`, and True (--repair
    given) makes the other refusals say why --repair cannot help."""
    if not _well_formed(check) or check["length"] != length:
        raise StateConflict(f"{description} is corrupt; rerun with --fresh to start over.")
    size = _size(path)
    if repair:
        why = _unverified(path, check, length, size)
        if why is not None:
            raise unrepairable(path, why)
    if size < length:  # (a file the state counts in full says so first, in the caller)
        raise StateConflict(
            f"{path} is shorter than gorgias-export wrote it ({size:,} of {length:,} bytes), "
            "so it was changed and was left as it is; put back the file as exported and rerun, "
            "or move it away and rerun with --fresh to export again."
        )
    head, tail = _windows(path, length, 0)
    redo = "put back the file as exported and rerun, or move it away and rerun with --fresh"
    if _digest(head) != check["head"]:
        if head.startswith(BOM) and _digest(_windows(path, length, len(BOM))[0]) == check["head"]:
            raise StateConflict(
                f'{path} now begins with a byte-order mark, as a spreadsheet\'s "CSV UTF-8" '
                "save adds, so it is not the file gorgias-export wrote and was left as it is; "
                f"remove those 3 bytes, or {redo} to export again."
            )
        raise StateConflict(
            f"{path} does not begin with the bytes gorgias-export wrote there (another file "
            "was put in its place, or it was edited or re-saved), so it was left as it is; "
            f"{redo} to export again."
        )
    if _digest(tail) != check["tail"]:
        raise StateConflict(
            f"{path} was changed before byte {length:,}, where its saved progress ends (edited "
            f"or re-saved), so it was left as it is; {redo} to export again."
        )
    if size > length and not check["open"]:
        raise _added_after_end(path, size, length, offer_repair=repair is not None)


def _added_after_end(path: Path, size: int, length: int, offer_repair: bool) -> StateConflict:
    """The refusal of bytes after a finished export's end; --repair is offered only by the
    commands that take it (`all`, `get` and `attachments` do not: it would be a usage error)."""
    found = (
        f"{path} has {size - length:,} bytes after byte {length:,}, where the finished export "
        "ends, that gorgias-export did not write, so it was left as it is; "
    )
    by_hand = (
        f"move those bytes to another file (`truncate -s {length} FILE` then drops them here) "
        "and rerun."
    )
    if not offer_repair:
        return StateConflict(found + by_hand)
    return Repairable(
        f"{found}rerun with --repair to keep the changed file as {path.name}.changed-<time> "
        f"and go on, or {by_hand}"
    )


def _unverified(path: Path, check: dict[str, Any], length: int, size: int) -> str | None:
    """Why the first `length` bytes of `path` are not the ones `check` vouches for, or None."""
    if size < length:
        return f"it is shorter ({size:,} bytes) than the {length:,} bytes exported"
    head, tail = _windows(path, length, 0)
    if _digest(head) != check["head"]:
        if head.startswith(BOM):
            return "it now begins with a byte-order mark (a spreadsheet's re-save rewrites it all)"
        return "it does not begin with the bytes gorgias-export wrote (another file, or an edit)"
    if _digest(tail) != check["tail"]:
        return f"it was changed before byte {length:,}, where its saved progress ends"
    return None


def verify_beginning(path: Path, header: bytes, what: str) -> None:
    """For a state without a fingerprint (0.1.0's), checked by its length: refuse at least a
    file that does not begin like ours (another file put there, or a re-save that added a BOM)."""
    if _size(path) == 0 or looks_like_output(path, header):
        return
    redo = "put back the file as exported and rerun, or move it away and rerun with --fresh"
    if _windows(path, len(BOM), 0)[0] == BOM:
        raise StateConflict(
            f'{path} now begins with a byte-order mark, as a spreadsheet\'s "CSV UTF-8" save '
            f"adds, so it is not the file gorgias-export wrote and was left as it is; remove "
            f"those 3 bytes, or {redo} to export again."
        )
    raise StateConflict(
        f"{path} does not begin like {what} (another file was put in its place, or it was "
        f"edited or re-saved), so it was left as it is; {redo} to export again."
    )


def looks_like_output(path: Path, header: bytes) -> bool:
    """Whether `path` begins as one of our outputs: `header` (a CSV export's), or for JSONL
    (no header) a JSON object on the first line."""
    try:
        with path.open("rb") as handle:
            head = handle.read(WINDOW)
    except OSError as exc:
        raise OutputError(
            f"Could not read {path} ({exc.strerror or exc.__class__.__name__})."
        ) from None
    if header:
        return head[: len(header)] == header[: len(head)]
    if head.startswith(BOM):  # which json.loads would skip: we never write one
        return False
    line, newline, _ = head.partition(b"\n")
    if not newline:  # a first line longer than the window, or torn by a crash
        return line.startswith(b"{")
    try:
        return isinstance(json.loads(line), dict)
    except ValueError:
        return False


def _well_formed(check: Any) -> bool:
    return (
        isinstance(check, dict)
        and type(check.get("length")) is int
        and isinstance(check.get("head"), str)
        and isinstance(check.get("tail"), str)
        and isinstance(check.get("open"), bool)
    )


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:32]


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


def _windows(path: Path, length: int, shift: int) -> tuple[bytes, bytes]:
    """The first WINDOW bytes of the first `length`, and the last WINDOW of them; all read
    `shift` bytes further on."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return b"", b""
    except OSError as exc:
        raise OutputError(
            f"Could not read {path} ({exc.strerror or exc.__class__.__name__})."
        ) from None
    try:
        head = os.pread(fd, min(length, WINDOW), shift)
        start = max(0, length - WINDOW)
        tail = os.pread(fd, length - start, start + shift)
    finally:
        os.close(fd)
    return head, tail
