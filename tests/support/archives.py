"""Archives the tests share (tests/archive/conftest.py): copying one, and a digest of its files
to show that no test changed it."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

# SQLite's own companions of a WAL database: a reader may make and remove them, the data is
# in the database file.
SQLITE_COMPANIONS = ("-wal", "-shm")


def tree_digest(root: Path) -> dict[str, str]:
    """Every file under `root` (SQLite's companions aside), by relative path: its SHA-256."""
    return {
        str(path.relative_to(root)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(root.rglob("*"))
        if path.is_file() and not path.name.endswith(SQLITE_COMPANIONS)
    }


def copy_of(archive: Path, tmp_path: Path) -> Path:
    """A copy of `archive` for a test to change."""
    out = tmp_path / "archive"
    shutil.copytree(archive, out)
    return out
