"""What the recorder and the compat tests share: running the CLI, digests, fixture archives.

Only the CLI app is imported from the product (and the simulator, through sim.py): the package's
internal modules are about to move.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import io
import json
import shutil
import sqlite3
import tarfile
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from gorgias_export.cli.app import app
from tests.compat.sim import API_KEY, EMAIL

FIXTURES = Path(__file__).parent / "fixtures"
GOLDEN = FIXTURES / "golden.json"

DIR = "@DIR@"  # the directory a command writes into (a scenario's directory)
API = "@API@"  # the simulator's base URL
STATE_TABLE = "_gorgias_export_state"


def is_output(name: str) -> bool:
    """Not the files beside the outputs: the progress, the locks, temporary state files, and the
    cache of ticket contexts (with its WAL)."""
    return not (name.endswith((".lock", ".state.json", ".tmp")) or ".ticket-index.sqlite" in name)


def env_for(url: str) -> dict[str, str]:
    return {"GORGIAS_BASE_URL": url, "GORGIAS_EMAIL": EMAIL, "GORGIAS_API_KEY": API_KEY}


def expand(args: list[str], directory: Path) -> list[str]:
    return [arg.replace(DIR, str(directory)) for arg in args]


def run_cli(url: str, args: list[str], directory: Path) -> Any:
    """`gorgias-export ARGS` in this process, @DIR@ in ARGS being `directory`; click's Result."""
    runner = CliRunner()
    return runner.invoke(app, expand(args, directory), env=env_for(url), catch_exceptions=False)


# -- digests ----------------------------------------------------------------------------------


def digest_bytes(data: bytes) -> dict[str, Any]:
    return {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}


def _cell(value: Any) -> Any:
    """A SQLite value as JSON that keeps its storage class apart (1, 1.0, "1", b"1")."""
    if isinstance(value, bytes):
        return {"blob": value.hex()}
    if isinstance(value, float):
        return {"real": repr(value)}
    return value


def sqlite_dump(path: Path, url: str, directory: Path) -> dict[str, bytes]:
    """The canonical content of a database written by an export.

    "tables": every table but the state, sorted by name, each with its column names in order
    and its rows ordered by primary key (by every column where there is none), one JSON line per
    row; "state": the state table's `export` and `identity` columns, ordered by export, with the
    API URL and `directory` replaced by placeholders (its progress is not compared)."""
    # A copy is read: opening a WAL database, even read-only, leaves files beside it.
    with tempfile.TemporaryDirectory(prefix="compat-dump-") as scratch:
        copy = Path(scratch) / "copy.db"
        shutil.copyfile(path, copy)
        wal = path.with_name(path.name + "-wal")
        if wal.exists():
            shutil.copyfile(wal, copy.with_name("copy.db-wal"))
        return _dump(copy, url, directory)


# The entities added since 0.1.0 (issue 11): `all` writes their files and tables too, which the
# record cannot hold. They are left out of the comparison; what 0.1.0 wrote must be unchanged.
# (tests/jobs/test_all_entities.py checks that `all` writes them.)
NEW_ENTITIES = (
    "account-settings",
    "jobs",
    "voice-calls",
    "voice-call-events",
    "voice-call-recordings",
)
NEW_TABLES = frozenset(name.replace("-", "_") for name in NEW_ENTITIES)
NEW_FILES = frozenset(f"{name}.{ext}" for name in NEW_ENTITIES for ext in ("csv", "jsonl"))


def _dump(path: Path, url: str, directory: Path) -> dict[str, bytes]:
    with contextlib.closing(sqlite3.connect(path)) as db:
        names = [
            row[0]
            for row in db.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
                "ORDER BY name"
            )
        ]
        tables = io.StringIO()
        state = io.StringIO()
        for name in names:
            if name in NEW_TABLES:
                continue
            quoted = '"' + name.replace('"', '""') + '"'
            info = list(db.execute(f"PRAGMA table_info({quoted})"))
            if name == STATE_TABLE:
                for export, identity in db.execute(
                    f"SELECT export, identity FROM {quoted} ORDER BY export"
                ):
                    identity = identity.replace(url, API).replace(str(directory), DIR)
                    state.write(json.dumps([export, identity], ensure_ascii=False) + "\n")
                continue
            columns = [row[1] for row in info]
            keys = [row[1] for row in sorted(info, key=lambda r: r[5]) if row[5]] or columns
            order = ", ".join('"' + k.replace('"', '""') + '"' for k in keys)
            tables.write(json.dumps({"table": name, "columns": columns}) + "\n")
            for row in db.execute(f"SELECT * FROM {quoted} ORDER BY {order}"):
                line = json.dumps([_cell(v) for v in row], ensure_ascii=False)
                tables.write(line + "\n")
    return {
        "tables": tables.getvalue().encode("utf-8", "surrogatepass"),
        "state": state.getvalue().encode("utf-8", "surrogatepass"),
    }


SUMMARY_KEY = b',"ticket_summary":'


def without_summaries(data: bytes) -> bytes:
    """JSONL lines as 0.1.0 wrote them: since issue 13, a `--per ticket` line ends with its
    `ticket_summary` object (tested in tests/exports/test_ticket_summary_export.py), which is
    cut off here; everything before it must still be the release's bytes."""
    lines = []
    for line in data.splitlines(keepends=True):
        at = line.rfind(SUMMARY_KEY)
        if at != -1:
            whole = json.loads(line)
            assert list(whole)[-1] == "ticket_summary", "the summary is the line's last key"
            del whole["ticket_summary"]
            line = line[:at] + b"}" + line[len(line.rstrip(b"\n")) :]
            assert json.loads(line) == whole
        lines.append(line)
    return b"".join(lines)


def output_digest(
    kind: str, path: Path | None, url: str, directory: Path, stdout: bytes = b""
) -> dict[str, Any]:
    """The digest of one command's output.

    kind "file": its bytes; "stdout": what it printed; "dir": each file in it (but the state,
    lock, cache and temporary files), by name; "sqlite": the canonical dump (sqlite_dump)."""
    if kind == "stdout":
        return digest_bytes(stdout)
    assert path is not None
    if kind == "file":
        data = path.read_bytes()
        return digest_bytes(without_summaries(data) if path.suffix == ".jsonl" else data)
    if kind == "sqlite":
        return {
            part: digest_bytes(data) for part, data in sqlite_dump(path, url, directory).items()
        }
    if kind == "dir":
        files = {}
        for entry in sorted(path.iterdir()):
            if not is_output(entry.name) or entry.name in NEW_FILES:
                continue
            if entry.name.endswith(".db"):
                files[entry.name] = output_digest("sqlite", entry, url, directory)
            else:
                files[entry.name] = digest_bytes(entry.read_bytes())
        return {"files": files}
    raise ValueError(f"unknown output kind {kind!r}")


def describe_difference(expected: dict[str, Any], actual: dict[str, Any], prefix: str = "") -> str:
    """Which parts differ, with both byte lengths."""
    if "sha256" in expected or "sha256" in actual:
        return (
            f"{prefix or 'output'}: expected {expected.get('bytes')} bytes "
            f"(sha256 {str(expected.get('sha256'))[:12]}), got {actual.get('bytes')} bytes "
            f"(sha256 {str(actual.get('sha256'))[:12]})"
        )
    lines = []
    for key in sorted(set(expected) | set(actual)):
        if expected.get(key) == actual.get(key):
            continue
        where = f"{prefix}/{key}" if prefix else key
        if key not in actual:
            lines.append(f"{where}: missing")
        elif key not in expected:
            lines.append(f"{where}: not expected")
        else:
            lines.append(describe_difference(expected[key], actual[key], where))
    return "; ".join(lines)


# -- fixture archives -------------------------------------------------------------------------


def _placeholders_out(text: str, url: str, directory: Path) -> str:
    return text.replace(str(directory), DIR).replace(url, API)


def _placeholders_in(text: str, url: str, directory: Path) -> str:
    # Inside JSON text: escaped as JSON would escape it (a plain path needs no escaping).
    where = json.dumps(str(directory))[1:-1]
    return text.replace(DIR, where).replace(API, url)


def _rewrite_state_table(path: Path, change: Any) -> None:
    with contextlib.closing(sqlite3.connect(path)) as db:
        exists = db.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (STATE_TABLE,)
        ).fetchone()
        if exists:
            rows = list(db.execute(f"SELECT rowid, export, identity, progress FROM {STATE_TABLE}"))
            for rowid, *texts in rows:
                db.execute(
                    f"UPDATE {STATE_TABLE} SET export = ?, identity = ?, progress = ? "
                    "WHERE rowid = ?",
                    (*(change(t) for t in texts), rowid),
                )
            db.commit()


def restore(archive: Path, directory: Path, url: str) -> None:
    """Unpack a fixture into `directory` and put the real paths and URL back for @DIR@/@API@:
    in every state file, and in the state table of every database."""
    directory.mkdir(parents=True, exist_ok=True)
    with tarfile.open(archive, "r:gz") as tar:
        tar.extractall(directory, filter="data")
    for path in sorted(directory.rglob("*")):
        if path.name.endswith(".state.json"):
            text = path.read_text(encoding="utf-8")
            path.write_text(_placeholders_in(text, url, directory), encoding="utf-8")
        elif path.suffix == ".db":
            _rewrite_state_table(path, lambda t: _placeholders_in(t, url, directory))


@contextlib.contextmanager
def scratch_copy(source: Path) -> Iterator[Path]:
    """A copy of `source` (a directory) beside it, removed afterwards."""
    copy = source.with_name(source.name + ".copy")
    shutil.copytree(source, copy)
    try:
        yield copy
    finally:
        shutil.rmtree(copy, ignore_errors=True)


def pack(directory: Path, archive: Path, url: str) -> list[str]:
    """Archive `directory` (state files and databases with @DIR@/@API@ placeholders) into a
    deterministic .tar.gz; lock files, cache indexes and temporary files are left out. Returns
    the names archived. `directory` itself is not changed."""
    names: list[str] = []
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for path in sorted(directory.rglob("*")):
            relative = path.relative_to(directory).as_posix()
            if path.is_dir():
                info = tarfile.TarInfo(relative)
                info.type, info.mode = tarfile.DIRTYPE, 0o755
                tar.addfile(info)
                continue
            if path.name.endswith((".lock", ".tmp")) or ".ticket-index.sqlite" in path.name:
                continue  # locks, temporary state files, the cache of ticket contexts
            if path.name.endswith(("-wal", "-shm", "-journal")):
                raise RuntimeError(f"{path} must be folded into its database before packing")
            data = path.read_bytes()
            if path.name.endswith(".state.json"):
                data = _placeholders_out(data.decode("utf-8"), url, directory).encode("utf-8")
            elif path.suffix == ".db":
                with _temporary_copy(path) as copy:
                    _rewrite_state_table(copy, lambda t: _placeholders_out(t, url, directory))
                    data = copy.read_bytes()
            info = tarfile.TarInfo(relative)
            info.size, info.mode = len(data), 0o644
            tar.addfile(info, io.BytesIO(data))
            names.append(relative)
    archive.parent.mkdir(parents=True, exist_ok=True)
    with (
        archive.open("wb") as raw,
        gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=9) as gz,
    ):
        gz.write(buffer.getvalue())
    return names


@contextlib.contextmanager
def _temporary_copy(path: Path) -> Iterator[Path]:
    copy = path.with_name(path.name + ".packing")
    shutil.copyfile(path, copy)
    try:
        yield copy
    finally:
        copy.unlink(missing_ok=True)
