"""stdout and stderr that are not there: closed at start (`>&-`), or closed by their reader.

Python sets `sys.stdout` (or `sys.stderr`) to None when its descriptor was closed before the
process started, and the first write or `isatty()` then failed as an internal error (exit 1).
Instead, a closed stdout is a stand-in whose writes fail as a broken pipe would, which the CLI
reports as one line (exit 6) when something had to be printed, and which a run that prints
nothing to stdout (an export to a file) never notices. A closed stderr discards what is written:
nothing can be said there, and the exit status still says how the run ended.
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
from typing import Any


class _ClosedBinary(io.RawIOBase):
    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        raise BrokenPipeError("stdout is closed")


class _ClosedStdout(io.TextIOBase):
    """What `sys.stdout` is when file descriptor 1 was closed: every write is a broken pipe."""

    def __init__(self) -> None:
        self.buffer = _ClosedBinary()

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        raise BrokenPipeError("stdout is closed")

    def isatty(self) -> bool:
        return False


class _DiscardingStderr(io.TextIOBase):
    """What `sys.stderr` is when file descriptor 2 was closed: nowhere to say anything."""

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        return len(text)

    def isatty(self) -> bool:
        return False


def stand_in_for_closed_streams() -> None:
    """Replace a stdout or stderr that was closed before the start (see the module's doc)."""
    if sys.stdout is None:
        sys.stdout = _ClosedStdout()
    if sys.stderr is None:
        sys.stderr = _DiscardingStderr()


def silence_stdout() -> None:
    """After a broken pipe: Python's own flush of stdout at exit must not complain again."""
    with contextlib.suppress(OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 1)
        os.close(devnull)
