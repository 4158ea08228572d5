"""The downloaded files in DIR: written under a temporary name, then renamed into place whole.

Every download goes to `DIR/.tmp/<name>.part`, hashed (SHA-256) on the way; once complete it is
fsync'd and renamed to its final name, and the directory fsync'd. A `kill -9`, a full disk or a
failed download at any moment therefore leaves at most a `.part` file in `DIR/.tmp`, which the
next run deletes, never a partial file under a final name. A file found under its final name
was renamed there complete, by an earlier run that stopped before its manifest row was saved: it
is hashed again and kept, not downloaded again.

Final paths are built from ids and safe names only (safe_names.py) and checked once more here:
one component at a time, each directory created by us or already a real directory inside DIR
(never a symbolic link someone planted), so no name can write outside DIR.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import stat
from pathlib import Path

from gorgias_export.errors import OutputError
from gorgias_export.output.writers import fsync_directory

TMP_DIR = ".tmp"
PART_SUFFIX = ".part"
_READ = 1024 * 1024


def _failed(path: Path, exc: OSError) -> OutputError:
    reason = exc.strerror or exc.__class__.__name__
    return OutputError(
        f"Could not write {path} ({reason}); fix the directory or free some space, then rerun "
        "to continue."
    )


class PartFile:
    """One download in progress: `DIR/.tmp/<name>.part`, hashed as it is written."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None
        self._hash = hashlib.sha256()
        self.size = 0

    def start(self) -> None:
        """Open it empty (again, when a download is retried)."""
        self._close()
        flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0)
        try:
            self._fd = os.open(self.path, flags, 0o644)
        except OSError as exc:
            raise _failed(self.path, exc) from None
        self._hash = hashlib.sha256()
        self.size = 0

    def write(self, chunk: bytes) -> None:
        assert self._fd is not None, "start() first"
        view = memoryview(chunk)
        try:
            while view:
                view = view[os.write(self._fd, view) :]
        except OSError as exc:
            self.discard()
            raise _failed(self.path, exc) from None
        self._hash.update(chunk)
        self.size += len(chunk)

    @property
    def sha256(self) -> str:
        return self._hash.hexdigest()

    def commit(self, final: Path) -> None:
        """Make it durable and give it its final name."""
        assert self._fd is not None, "nothing written"
        try:
            os.fsync(self._fd)
            self._close()
            os.replace(self.path, final)
        except OSError as exc:
            self.discard()
            raise _failed(final, exc) from None
        fsync_directory(final.parent)

    def discard(self) -> None:
        self._close()
        with contextlib.suppress(OSError):
            os.unlink(self.path)

    def _close(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            with contextlib.suppress(OSError):
                os.close(fd)


class FileStore:
    """The files of one `attachments` directory."""

    def __init__(self, root: Path) -> None:
        self.root = root  # resolved
        self.tmp = root / TMP_DIR

    def prepare(self) -> None:
        """Create the temporary directory; delete the `.part` files a stopped run left there."""
        self._directory(self.tmp)
        try:
            leftovers = [
                entry for entry in os.scandir(self.tmp) if entry.name.endswith(PART_SUFFIX)
            ]
        except OSError as exc:
            raise _failed(self.tmp, exc) from None
        for entry in leftovers:
            with contextlib.suppress(OSError):
                os.unlink(entry.path)

    def part(self, name: str) -> PartFile:
        return PartFile(self.tmp / f"{name}{PART_SUFFIX}")

    def final(self, relative: tuple[str, ...]) -> Path:
        """The final path of `relative` (components from ids and safe names); refuses anything
        that would land outside the root. Its directories are made by `make_parents`."""
        for component in relative:
            if component in ("", ".", "..") or "/" in component or "\x00" in component:
                raise OutputError(f"Refusing the unsafe file name {component!r}.")
        return self.root.joinpath(*relative)

    def make_parents(self, final: Path) -> None:
        """Create the directories of `final`, one at a time, each a real one inside the root."""
        directory = self.root
        for component in final.relative_to(self.root).parts[:-1]:
            directory = directory / component
            self._directory(directory)

    def existing(self, path: Path) -> tuple[int, str] | None:
        """(size, sha256) of a file already at its final name; None if there is none."""
        try:
            info = os.lstat(path)
        except (FileNotFoundError, NotADirectoryError):
            return None
        except OSError as exc:
            raise _failed(path, exc) from None
        if not stat.S_ISREG(info.st_mode):
            raise OutputError(f"{path} exists and is not a regular file; move it away, then rerun.")
        digest = hashlib.sha256()
        size = 0
        try:
            with open(path, "rb") as handle:
                while chunk := handle.read(_READ):
                    digest.update(chunk)
                    size += len(chunk)
        except OSError as exc:
            raise _failed(path, exc) from None
        return size, digest.hexdigest()

    def _directory(self, path: Path) -> None:
        """`path` as a real directory (created if missing), never a link to elsewhere."""
        try:
            os.mkdir(path, 0o755)
            fsync_directory(path.parent)
            return
        except FileExistsError:
            pass
        except OSError as exc:
            raise _failed(path, exc) from None
        if not stat.S_ISDIR(os.lstat(path).st_mode):
            raise OutputError(
                f"{path} exists and is not a directory (or is a link); move it away, then rerun."
            )
