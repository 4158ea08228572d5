"""Which files in DIR are the site's, and writing them without following a planted link.

The archive only replaces what it wrote itself:

- before any request, a DIR that holds `index.html` or `tickets/` but no `site-state.sqlite`
  (the site's own record) is refused: those files are someone else's;
- `index.html` and a ticket page that the site state does not list are replaced only if they
  begin as the archive's pages do (a run killed between writing a page and recording it);
  anything else is refused, never overwritten.

Directories under DIR are made one component at a time and must be real directories (the
attachments' FileStore check), and temporary files are created with O_EXCL | O_NOFOLLOW, so no
symbolic link planted in DIR sends a write elsewhere.
"""

from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path

from gorgias_export.errors import OutputError, StateConflict
from gorgias_export.output.file_store import FileStore

STATE_NAME = "site-state.sqlite"
INDEX_NAME = "index.html"
PAGES_DIR = "tickets"
# The first bytes of every page and of the index the archive writes (site_pages._page).
OWN_HEAD = b'<!DOCTYPE html>\n<html><head><meta charset="utf-8">\n<meta http-equiv="Content-'


def refuse_foreign_site(out_dir: Path) -> None:
    """Before any request: refuse a site in DIR that no archive run wrote."""
    for name in (STATE_NAME, INDEX_NAME, PAGES_DIR, "data", "files", "recordings"):
        path = out_dir / name
        if path.is_symlink():
            raise StateConflict(
                f"{path} is a symbolic link; the archive writes only inside --out-dir: "
                "remove the link, then run again."
            )
    has_state = (out_dir / STATE_NAME).is_file()
    for name in (INDEX_NAME, PAGES_DIR):
        path = out_dir / name
        if os.path.lexists(path) and not has_state:
            raise StateConflict(
                f"{path} was not written by an archive (there is no {STATE_NAME} beside it); "
                "move it away or choose another --out-dir."
            )
    refuse_unowned(out_dir / INDEX_NAME, known=False)


def refuse_unowned(path: Path, known: bool) -> None:
    """`path` may be replaced: absent, listed in the site state (`known`), or one of our pages."""
    try:
        info = os.lstat(path)
    except (FileNotFoundError, NotADirectoryError):
        return
    if not stat.S_ISREG(info.st_mode):
        raise StateConflict(f"{path} is not a regular file; move it away, then run again.")
    if known:
        return
    try:
        with open(path, "rb") as handle:
            head = handle.read(len(OWN_HEAD))
    except OSError as exc:
        raise OutputError(f"Could not read {path} ({exc.strerror}).") from None
    if head != OWN_HEAD:
        raise StateConflict(
            f"{path} was not written by the archive, so it is left alone; "
            "move it away, then run again."
        )


def make_parents(out_dir: Path, path: Path) -> None:
    """The directories of `path` inside `out_dir`, each a real one (never a link)."""
    FileStore(out_dir).make_parents(path)


def open_temporary(path: Path) -> int:
    """A new, empty `path` for writing; a stale one (a killed run's) is removed first, a link
    there is refused."""
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        info = None
    if info is not None:
        if not stat.S_ISREG(info.st_mode):
            raise OutputError(
                f"{path} exists and is not a regular file (or is a link); move it away, "
                "then run again."
            )
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    return os.open(path, flags, 0o600)
