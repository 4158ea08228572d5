"""The directory of XlsxWriter's temporary files: `<out>.xlsxtmp/`, beside the workbook.

In constant-memory mode XlsxWriter writes each sheet's rows to temporary files (`mkstemp`, named
`tmp` and 8 letters, digits or `_`) and deletes them when the workbook is closed; a killed run
leaves them. They go in a directory of their own, on the output's disk (they are as big as the
sheet; /tmp may be small), so the next write can clear a killed run's leftovers without looking
at anything else in the output's directory: only files named as XlsxWriter names them, in that
directory. The directory is removed after the write, if nothing else is in it.
"""

from __future__ import annotations

import contextlib
import os
import re
import stat
from collections.abc import Iterator
from pathlib import Path

from gorgias_export.errors import OutputError

SUFFIX = ".xlsxtmp"
# tempfile.mkstemp's default names: "tmp" and 8 characters of _RandomNameSequence.
_XLSXWRITER_NAME = re.compile(r"tmp[a-z0-9_]{8}")


def scratch_path(workbook: Path) -> Path:
    return workbook.with_name(workbook.name + SUFFIX)


@contextlib.contextmanager
def scratch_dir(directory: Path) -> Iterator[Path]:
    """`directory`, emptied of a killed run's temporary files, for one write; then removed."""
    try:
        directory.mkdir(exist_ok=True)
        if not stat.S_ISDIR(directory.lstat().st_mode):  # a link or a file planted there
            raise FileExistsError(0, "not a directory")
    except OSError as exc:
        raise OutputError(
            f"Could not use {directory} for the workbook's temporary files "
            f"({exc.strerror or exc.__class__.__name__}); move it away and rerun."
        ) from None
    _clear(directory)
    try:
        yield directory
    finally:
        _clear(directory)
        with contextlib.suppress(OSError):  # not empty: something not ours is kept
            directory.rmdir()


def _clear(directory: Path) -> None:
    with contextlib.suppress(OSError), os.scandir(directory) as entries:
        for entry in entries:
            if _XLSXWRITER_NAME.fullmatch(entry.name) and entry.is_file(follow_symlinks=False):
                with contextlib.suppress(OSError):
                    os.unlink(entry.path)
