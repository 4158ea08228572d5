"""The one rule every export loop shares: rows reach the disk before the state that counts them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from gorgias_export.output.writers import Sink


class Checkpointing:
    """Mixin for an export loop with `sink`, `progress`, `_save` and `_saved_bytes`.

    `_saved_bytes` is the length a failure cuts the output back to: the one the state on disk
    vouches for.
    """

    sink: Sink
    progress: Any
    _save: Callable[[Any], None]
    _saved_bytes: int

    def _sync_and_save(self) -> None:
        """Rows first, then the state that counts them: never the other way round."""
        synced = self.progress.output_bytes = self.sink.sync()
        try:
            self._save(self.progress)
        except Exception:
            raise  # the save failed: the old state stands, and the file is cut back to it
        except BaseException:
            # Ctrl-C may land after the new state did: cutting back to the old length would
            # leave the file shorter than its state. Keeping these whole, synced rows is right
            # whichever state is on disk (a rerun cuts back to the one it finds).
            self._saved_bytes = synced
            raise
        self._saved_bytes = synced
