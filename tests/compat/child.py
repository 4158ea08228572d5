"""`python -m tests.compat.child ARGS`: today's CLI with a frozen clock and one progress-based kill.

For the recorder only (record.py): it patches today's internals, which the refactor will move.

COMPAT_NOW (an ISO datetime) is what the exporter's clock reads, so the `started_at` that an
interrupted run leaves in its state is the same on every recording.

COMPAT_KILL says where the process kills itself (-9), counted from its start:
- `state-before:N` at the Nth save of a `*.state.json`: temporary file written, not yet renamed
  (the output then holds rows that no saved state vouches for yet: a resume must cut them off);
- `state-after:N`  just after the Nth save of a `*.state.json` was renamed into place;
- `commit-before:N` at the Nth COMMIT on the --out SQLite database (COMPAT_DB), before it runs;
- `commit-after:N` at the first statement after the Nth COMMIT on that database.

Killing on progress rather than on the simulator's Nth request makes the kill land at the same
place on every recording: with three or four requests in flight, which pages are written when
request N arrives depends on thread timing.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sqlite3
from collections.abc import Iterator
from datetime import datetime
from typing import Any

CLOCK_MODULES = ("gorgias_export.export", "gorgias_export.entity_export")


def _die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


@contextlib.contextmanager
def frozen_clock(iso: str) -> Iterator[None]:
    """The exporter's `datetime.now()` returns `iso` (an aware ISO datetime) meanwhile."""
    import importlib

    fixed = datetime.fromisoformat(iso)

    class Frozen(datetime):
        @classmethod
        def now(cls, tz: Any = None) -> Any:
            return fixed if tz is None else fixed.astimezone(tz)

    modules = [importlib.import_module(name) for name in CLOCK_MODULES]
    saved = []
    for module in modules:
        if getattr(module, "datetime", None) is not datetime:
            raise RuntimeError(f"{module.__name__} no longer reads datetime.now(); update child.py")
        saved.append(module.datetime)
        module.datetime = Frozen
    try:
        yield
    finally:
        for module, original in zip(modules, saved, strict=True):
            module.datetime = original


def _install_kill(spec: str, database: str | None) -> None:
    kind, _, number = spec.partition(":")
    n = int(number)
    count = [0]
    if kind in ("state-before", "state-after"):
        replace = os.replace

        def replace_or_die(src: Any, dst: Any, **kwargs: Any) -> None:
            if not str(dst).endswith(".state.json"):
                replace(src, dst, **kwargs)
                return
            count[0] += 1
            if count[0] == n and kind == "state-before":
                _die()
            replace(src, dst, **kwargs)
            if count[0] == n:
                _die()

        os.replace = replace_or_die
    elif kind in ("commit-before", "commit-after"):
        if not database:
            raise SystemExit("COMPAT_DB must name the database for a commit kill")
        target = os.path.realpath(database)
        connect = sqlite3.connect
        committed = [False]

        def trace(statement: str) -> None:
            if committed[0]:
                _die()
            if statement.strip().upper() == "COMMIT":
                count[0] += 1
                if count[0] == n:
                    if kind == "commit-before":
                        _die()
                    committed[0] = True

        def connect_traced(path: Any, *args: Any, **kwargs: Any) -> sqlite3.Connection:
            connection = connect(path, *args, **kwargs)
            if os.path.realpath(os.fspath(path)) == target:
                connection.set_trace_callback(trace)
            return connection

        sqlite3.connect = connect_traced  # type: ignore[assignment]
    else:
        raise SystemExit(f"unknown COMPAT_KILL {spec!r}")


def main() -> None:
    from gorgias_export import cli

    kill = os.environ.get("COMPAT_KILL")
    if kill:
        _install_kill(kill, os.environ.get("COMPAT_DB"))
    with frozen_clock(os.environ["COMPAT_NOW"]):
        cli.main()


if __name__ == "__main__":
    main()
