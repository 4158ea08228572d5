"""`<out>.deletions.jsonl`: the deletions and merges a file export learnt of, one JSON line each.

CSV and JSONL outputs are append logs: a row once written stays, so a deleted ticket or customer
is recorded here instead of cut out of the file. The log is ours alone: its length is saved with
each checkpoint, and a rerun cuts back what a crash wrote after it, so no line is written twice.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from gorgias_export.errors import OutputError
from gorgias_export.fastjson import dumps_text
from gorgias_export.output.mirror_removals import Removal

SUFFIX = ".deletions.jsonl"


def log_path(output: Path) -> Path:
    return output.with_name(output.name + SUFFIX)


class DeletionLog:
    """The removal target of a file export: every confirmed removal becomes a line."""

    def __init__(self, path: Path, state: dict[str, Any]) -> None:
        self.path = path
        self._state = state
        self._lines: list[str] = []
        if "log_bytes" in state:  # else nothing of ours was counted: a file there is kept whole
            self._cut_back(int(state["log_bytes"]))

    def _cut_back(self, length: int) -> None:
        try:
            size = self.path.stat().st_size
        except FileNotFoundError:
            return
        except OSError as exc:
            raise OutputError(f"Could not read {self.path} ({exc.strerror}).") from None
        if size > length:  # lines a crash wrote after the last checkpoint: they come again
            with self.path.open("r+b") as handle:
                handle.truncate(length)

    # What the pass asks of a target; a file holds any id, so every candidate is looked up.

    def present(self, ids: Sequence[int]) -> set[int]:
        return set(ids)

    def remove(self, removals: Sequence[Removal]) -> None:
        self._lines += [dumps_text(r.to_json()) + "\n" for r in removals]

    def sync(self) -> None:
        """Lines on the disk before the state that counts them."""
        if not self._lines:
            return
        try:
            with self.path.open("ab") as handle:
                handle.write("".join(self._lines).encode("utf-8"))
                handle.flush()
                os.fsync(handle.fileno())
                self._state["log_bytes"] = handle.tell()
        except OSError as exc:
            raise OutputError(
                f"Could not write {self.path} ({exc.strerror}); fix the cause, then rerun."
            ) from None
        self._lines = []
