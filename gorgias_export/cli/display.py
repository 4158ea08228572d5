"""What people see on stderr: a rich progress bar on a terminal, nothing otherwise.

rich is imported only when something is drawn: a run from cron (not a terminal) or with
--quiet never loads it, which saves it a few MB and a tenth of a second.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Sequence
from types import TracebackType
from typing import TYPE_CHECKING

from gorgias_export.exports.status import Status

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import Progress, TaskID

RATE_WINDOW = 30.0  # seconds
WIDE = 110  # columns from which the long counters fit; below, the short ones (80 is legible)


class ProgressDisplay:
    """A progress bar fed by `update(status)`; does nothing when disabled (not a terminal)."""

    def __init__(self, enabled: bool, console: Console | None = None) -> None:
        self.enabled = enabled
        self._samples: deque[tuple[float, int]] = deque([(time.monotonic(), 0)])
        self._progress: Progress | None = None
        self._task: TaskID | None = None
        self._wide = False
        if enabled:
            from rich.console import Console
            from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

            console = console or Console(stderr=True)
            self._wide = console.width >= WIDE
            self._progress = Progress(
                TextColumn("[bold]{task.description}"),
                BarColumn(bar_width=30 if self._wide else 10),
                TextColumn("{task.percentage:>3.0f}%"),
                TextColumn("{task.fields[counts]}"),
                TextColumn("{task.fields[rate]}"),
                TextColumn("ETA"),
                TimeRemainingColumn(compact=True),
                console=console,
                transient=True,
                redirect_stderr=True,
            )

    def __enter__(self) -> ProgressDisplay:
        if self._progress is not None:
            self._progress.start()
            self._task = self._progress.add_task("starting", total=1000, counts="", rate="")
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if self._progress is not None:
            self._progress.stop()

    def _recent_rate(self, requests: int) -> float:
        """Requests per second over the last RATE_WINDOW seconds: the opening burst fades out."""
        now = time.monotonic()
        self._samples.append((now, requests))
        while len(self._samples) > 2 and now - self._samples[1][0] >= RATE_WINDOW:
            self._samples.popleft()
        then, before = self._samples[0]
        return (requests - before) / max(now - then, 1e-6)

    def update(self, status: Status) -> None:
        if self._progress is None or self._task is None:
            return
        recent = self._recent_rate(status.requests)
        if self._wide:
            counts, rate = status.counts(), f"{recent:.1f} req/s"
            if status.allowed_rate:
                rate += f" of {status.allowed_rate:.1f}"
        else:  # 80 columns: the rows and requests, the rate against what the account allows
            counts = f"{status.rows:,} rows · {status.requests:,} req"
            allowed = f"/{status.allowed_rate:.1f}" if status.allowed_rate else ""
            rate = f"{recent:.1f}{allowed}/s"
        completed = status.fraction * 1000 if status.fraction is not None else None
        self._progress.update(
            self._task, completed=completed, description=status.phase, counts=counts, rate=rate
        )


def table(headers: Sequence[str], rows: Sequence[Sequence[str]], right: Sequence[str]) -> str:
    """A plain table as text for stderr (the `all` summary), columns in `right` right-aligned."""
    from rich.console import Console
    from rich.table import Table

    grid = Table(box=None, pad_edge=False)
    for title in headers:
        grid.add_column(title, justify="right" if title in right else "left")
    for row in rows:
        grid.add_row(*row)
    console = Console(stderr=True, highlight=False)
    with console.capture() as captured:
        console.print(grid)
    return captured.get().rstrip("\n")
