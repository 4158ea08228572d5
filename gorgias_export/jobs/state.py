"""The resume-state file: what the export is, how far it got, and the lock that guards it.

Saved atomically (`<state>.tmp`, fsync, rename; the directory fsync'd when the name is new),
and only after the rows it covers are durable in the output. It never holds a credential.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit, urlunsplit

from gorgias_export import __version__
from gorgias_export.errors import OutputError, StateConflict
from gorgias_export.output.writers import fsync_directory

STATE_FORMAT_VERSION = 1


def default_state_path(output: Path) -> Path:
    return output.with_name(output.name + ".state.json")


def index_path_for(state_path: Path) -> Path:
    """The on-disk ticket index that lives beside a state file."""
    name = state_path.name.removesuffix(".state.json")
    return state_path.with_name(name + ".ticket-index.sqlite")


def staging_path_for(state_path: Path) -> Path:
    """The staging database of `tickets --per ticket`, beside its state file."""
    name = state_path.name.removesuffix(".state.json")
    return state_path.with_name(name + ".staging.sqlite")


@dataclass
class SavedState:
    """The parsed state file: `identity` says which export, `progress` how far it got."""

    identity: dict[str, Any]
    progress: dict[str, Any]


_STATE_PREFIX = '{"format_version"'


def ensure_replaceable_state(path: Path) -> None:
    """Refuse to overwrite a file at the state path that is not one of our state files."""
    try:
        with path.open("rb") as handle:
            head = b"".join(handle.read(256).split())  # pretty-printed or compact alike
    except FileNotFoundError:
        return
    except OSError as exc:
        raise OutputError(
            f"Could not read the state file {path} ({exc.__class__.__name__})."
        ) from None
    if not head.startswith(_STATE_PREFIX.encode()):
        raise StateConflict(
            f"{path} is not a gorgias-export state file, so it is left alone; choose another "
            "--state path."
        )


def load_state(
    path: Path, identity: dict[str, Any], ignored: frozenset[str] = frozenset()
) -> SavedState | None:
    """The saved state for this export, None if there is none; refuses a foreign or broken one.
    `ignored`: settings an older state may hold that no longer tell exports apart."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise OutputError(
            f"Could not read the state file {path} ({exc.__class__.__name__})."
        ) from None
    ensure_replaceable_state(path)
    try:
        document = json.loads(text)
        version = document["format_version"]
        saved_identity = document["export"]
        progress = document["progress"]
        if not (isinstance(saved_identity, dict) and isinstance(progress, dict)):
            raise TypeError
    except (ValueError, KeyError, TypeError):
        raise StateConflict(
            f"The state file {path} is corrupt or truncated; rerun with --fresh to start over "
            "(the export file is then rewritten)."
        ) from None
    where = f"The state file {path}"
    ensure_known_version(version, where)
    compared = {k: v for k, v in saved_identity.items() if k not in ignored}
    ensure_same_export(compared, identity, where)
    return SavedState(identity=saved_identity, progress=progress)


def ensure_known_version(version: Any, where: str) -> None:
    """Refuse a state written by a newer release (its progress may mean something else)."""
    if not isinstance(version, int) or version > STATE_FORMAT_VERSION:
        raise StateConflict(
            f"{where} was written by a newer gorgias-export; upgrade, "
            "or rerun with --fresh to start over."
        )


def ensure_same_export(saved: dict[str, Any], identity: dict[str, Any], where: str) -> None:
    """Refuse a state saved under another identity, naming the first setting that differs."""
    for key in sorted(set(identity) | set(saved)):
        if _comparable(key, identity.get(key)) != _comparable(key, saved.get(key)):
            raise StateConflict(
                f"{where} belongs to a different export ({key} was {_shown(saved.get(key))}, "
                f"now {_shown(identity.get(key))}); rerun with the same options, or with --fresh "
                "to start over."
            )


_LOOPBACK = {"localhost", "127.0.0.1", "::1"}


def _comparable(key: str, value: Any) -> Any:
    """A setting as compared between runs. The API base URL of a server on this machine is
    the same server by any of its loopback names (`localhost`, `127.0.0.1`, `::1`): changing one
    for another must not refuse every existing export."""
    if key != "api" or not isinstance(value, str):
        return value
    parts = urlsplit(value)
    if parts.hostname not in _LOOPBACK:
        return value
    port = f":{parts.port}" if parts.port else ""
    return urlunsplit(parts._replace(netloc=f"127.0.0.1{port}"))


def _shown(value: Any) -> str:
    """A setting as a user would write it: JSON (`["email", "me@example.com"]`, `none`), not a
    Python repr."""
    return "none" if value is None else json.dumps(value, ensure_ascii=False)


def save_state(path: Path, identity: dict[str, Any], progress: dict[str, Any]) -> None:
    """Write the state atomically: a reader sees the old file or the new one, never a mix."""
    document = {
        "format_version": STATE_FORMAT_VERSION,
        "written_by": f"gorgias-export {__version__}",
        "export": identity,
        "progress": progress,
    }
    # Compact: the C encoder is several times faster than indent's pure-Python path, and this
    # runs after every page.
    data = json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    # One temporary name: the lock makes this run its only writer.
    temporary = path.with_name(path.name + ".tmp")
    try:
        created = not path.exists()
        # Whatever is at the temporary name (a leftover, or a link planted there) is removed,
        # never written through; the state is its owner's alone, as mkstemp made it before.
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
        fd = os.open(temporary, flags, 0o600)
        try:
            try:
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view) :]
                os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(temporary, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temporary)  # the old state stands; nothing half-written stays behind
            raise
        if created:
            # Makes the new name durable. Later renames need not be: a rename lost to a power
            # cut leaves the previous state, which the output (synced first) always covers.
            fsync_directory(path.parent)
    except OSError as exc:
        raise OutputError(
            f"Could not save progress to {path} ({exc.strerror or exc.__class__.__name__}); "
            "free some space or fix the directory, then rerun to continue."
        ) from None


@contextlib.contextmanager
def export_lock(guarded: Path) -> Iterator[None]:
    """Hold an exclusive lock on `guarded` (an output or a state file) via `<guarded>.lock`.

    A second run gets a clear StateConflict at once (it never waits). `flock` is released by
    the kernel when the process dies, so a `kill -9` never leaves a stale lock behind; it may
    leave the empty file, which the next run takes and removes.

    The file is removed at the end, while still held. Removing a lock file is a classic race:
    a run that opened it just before the removal would lock the removed file while a third run
    locks a new one. So a lock only counts once the name still leads to the file locked
    (same inode); otherwise the name was removed or replaced meanwhile, and it is taken again.
    """
    lock_path = guarded.with_name(guarded.name + ".lock")
    handle = _locked(lock_path)
    try:
        yield
    finally:
        with contextlib.suppress(OSError):
            # Only if it is still ours: never a file another run put at the name since.
            if _same_file(lock_path, handle.fileno()):
                os.unlink(lock_path)
        handle.close()


def _locked(lock_path: Path) -> Any:
    for _ in range(100):  # each turn means another run removed the file meanwhile: bounded
        try:
            # Never through a link planted at the name (it would create a file elsewhere).
            fd = os.open(lock_path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
            handle = os.fdopen(fd, "r+b")
        except OSError as exc:
            raise OutputError(
                f"Could not create {lock_path} ({exc.strerror or exc.__class__.__name__}); "
                "check that the output directory exists and is writable."
            ) from None
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            raise StateConflict(
                f"Another gorgias-export run is writing this export (lock {lock_path}); "
                "wait for it to finish."
            ) from None
        if _same_file(lock_path, handle.fileno()):
            return handle
        handle.close()  # removed by the run that held it: the lock is the file at the name now
    raise StateConflict(f"Could not take the lock {lock_path}: it keeps being replaced.")


def _same_file(path: Path, fd: int) -> bool:
    try:
        named = os.stat(path, follow_symlinks=False)
    except OSError:
        return False
    held = os.fstat(fd)
    return (named.st_dev, named.st_ino) == (held.st_dev, held.st_ino)


# -- where a run's progress is kept: one interface, three places ------------------------------


class StateSlot(Protocol):
    """Where one export's progress is loaded from and saved to."""

    # "The state file X" or "The saved state in X": the start of a sentence about it.
    description: str

    def load(self) -> dict[str, Any] | None:
        """The saved progress of this export; None if there is none (or --fresh). A state
        saved by another export, or a broken one, is refused."""
        ...

    def save(self, progress: dict[str, Any]) -> None: ...


class StateFile:
    """A state file beside the output (or at --state), holding this export's identity."""

    def __init__(
        self,
        path: Path,
        identity: dict[str, Any],
        fresh: bool = False,
        ignored: frozenset[str] = frozenset(),
    ) -> None:
        self.path = path
        self.description = f"The state file {path}"
        self._identity = identity
        self._fresh = fresh
        self._ignored = ignored  # see load_state

    def load(self) -> dict[str, Any] | None:
        if self._fresh:
            ensure_replaceable_state(self.path)  # never overwrite a file that is not ours
            return None
        saved = load_state(self.path, self._identity, self._ignored)
        return saved.progress if saved is not None else None

    def save(self, progress: dict[str, Any]) -> None:
        save_state(self.path, self._identity, progress)


class NoState:
    """stdout: nothing to resume, nothing saved."""

    description = "stdout"

    def load(self) -> dict[str, Any] | None:
        return None

    def save(self, progress: dict[str, Any]) -> None:
        pass


class RunState:
    """The one state of an `all` run: each entity's progress (a part), and which entities this
    run has done. Saved as a whole by `save_document` (a state file, or a database row)."""

    def __init__(
        self,
        description: str,
        saved: dict[str, Any] | None,
        save_document: Callable[[dict[str, Any]], None],
    ) -> None:
        self.description = description
        self._save_document = save_document
        saved = saved or {}
        try:
            self.completed_runs = int(saved.get("completed_runs", 0))
            self.done = [str(name) for name in saved.get("done", [])]
            # After --fresh: the entities whose old files this run may still overwrite, so that
            # an interrupted --fresh run can be continued without --fresh.
            self.overwrite = [str(name) for name in saved.get("overwrite", [])]
            self.parts = dict(saved.get("parts", {}))
        except (TypeError, ValueError):
            raise StateConflict(
                f"{description} is corrupt; rerun with --fresh to start over."
            ) from None

    def save(self) -> None:
        self._save_document(
            {
                "completed_runs": self.completed_runs,
                "done": self.done,
                "parts": self.parts,
                "overwrite": self.overwrite,
            }
        )

    def part(self, name: str) -> PartState:
        return PartState(self, name)


class PartState:
    """One entity's progress inside an `all` run's state."""

    def __init__(self, run: RunState, name: str) -> None:
        self.description = run.description
        self._run = run
        self._name = name

    def load(self) -> Any:
        return self._run.parts.get(self._name)  # checked when parsed, like any saved progress

    def save(self, progress: dict[str, Any]) -> None:
        self._run.parts[self._name] = progress
        self._run.save()
