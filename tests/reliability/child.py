"""`python -m tests.reliability.child ARGS`: the real CLI, with one progress-based kill or crash.

RELIABILITY_HOOK says where, counted from this process's start:
- `bytes:N`      write the first N-1 bytes of this run's output, flush, then kill -9 (a torn row);
- `checkpoint:N` at the Nth sync of the output: rows flushed, state not yet saved, kill -9;
- `state:N`      at the Nth state save: temporary file written, not yet renamed, kill -9;
- `crash:N`      at the Nth sync of the output, raise an unexpected error (a bug's exit 1).
"""

from __future__ import annotations

import os
import signal
from typing import Any

from gorgias_export.cli import app as cli
from gorgias_export.output.writers import OutputFile


def _die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def _install(spec: str) -> None:
    kind, _, number = spec.partition(":")
    n = int(number)
    count = [0]
    if kind == "bytes":
        write = OutputFile.write

        def write_then_die(self: OutputFile, data: bytes) -> None:
            if count[0] + len(data) >= n:
                write(self, data[: n - 1 - count[0]])
                self._stream.flush()
                _die()
            count[0] += len(data)
            write(self, data)

        OutputFile.write = write_then_die  # type: ignore[method-assign]
    elif kind in ("checkpoint", "crash"):
        sync = OutputFile.sync

        def sync_or_die(self: OutputFile) -> int:
            count[0] += 1
            if count[0] == n:
                if kind == "crash":
                    raise RuntimeError("injected crash")
                self._stream.flush()
                _die()
            return sync(self)

        OutputFile.sync = sync_or_die  # type: ignore[method-assign]
    elif kind == "state":
        replace = os.replace

        def replace_or_die(src: Any, dst: Any, **kwargs: Any) -> None:
            if str(dst).endswith(".state.json"):
                count[0] += 1
                if count[0] == n:
                    _die()
            replace(src, dst, **kwargs)

        os.replace = replace_or_die
    else:
        raise SystemExit(f"unknown RELIABILITY_HOOK {spec!r}")


if __name__ == "__main__":
    hook = os.environ.get("RELIABILITY_HOOK")
    if hook:
        _install(hook)
    cli.main()
