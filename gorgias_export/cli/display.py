"""What people see on stderr: one progress line on a terminal, nothing otherwise.

The line is laid out for the terminal's width at each refresh (cli/progress_line.py: parts
shortened or dropped in a fixed order, never cut) from figures modelled in
cli/progress_model.py (a sustained rate, a share done that never jumps, a smoothed ETA).

rich is imported only when something is drawn: a run from cron (not a terminal) or with
--quiet never loads it, which saves it a few MB and a tenth of a second.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any

from gorgias_export.cli.progress_line import View, layout
from gorgias_export.cli.progress_model import (
    PACE_MIN_SPAN,
    PACE_WINDOW,
    Estimate,
    RateMeter,
    pace,
)
from gorgias_export.exports.status import Status

if TYPE_CHECKING:
    from rich.console import Console, ConsoleOptions, RenderResult
    from rich.live import Live


class ProgressDisplay:
    """A progress line fed by `update(status)`; does nothing when disabled (not a terminal)."""

    def __init__(
        self,
        enabled: bool,
        console: Console | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.enabled = enabled
        self._clock = clock
        self._rate = RateMeter()
        # The same requests over a longer window, for the ETA; and the phase's lines (writing).
        self._pace = RateMeter(PACE_WINDOW, PACE_MIN_SPAN)
        self._work_rate = RateMeter(PACE_WINDOW)
        self._estimate = Estimate()
        self._phase: tuple[str, str, tuple[int, int] | None] | None = None
        self._status: Status | None = None
        self._live: Live | None = None
        self._lock = threading.Lock()  # rich refreshes the line from its own thread
        if enabled:
            from rich.console import Console
            from rich.live import Live

            self._live = Live(
                self.line(),
                console=console or Console(stderr=True),
                transient=True,
                redirect_stderr=True,
                refresh_per_second=4,
            )

    def __enter__(self) -> ProgressDisplay:
        if self._live is not None:
            self._live.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if self._live is not None:
            self._live.stop()

    def update(self, status: Status) -> None:
        if self._live is None:
            return
        with self._lock:
            self._update(status)

    def _update(self, status: Status) -> None:
        now = self._clock()
        phase = (status.subject, status.phase, status.step)
        if phase != self._phase:  # a new phase or entity: its own share and ETA
            self._phase, self._estimate = phase, Estimate()
            self._work_rate = RateMeter(PACE_WINDOW)
        self._rate.add(now, status.sent, status.burst)
        self._pace.add(now, status.sent, status.burst)
        self._work_rate.add(now, status.done, 0)
        rate, bucket_bound = self._work_pace(status)
        room = status.room if bucket_bound and status.phase != "writing" else 0
        self._estimate.update(now, status.done, status.planned, rate, status.complete, room)
        self._status = status

    def _work_pace(self, status: Status) -> tuple[float | None, bool]:
        """The phase's work per second: lines as measured; requests at the rate the account
        allows, or as measured when that is slower (or the limit is only a guess)."""
        if status.phase == "writing":
            return self._work_rate.rate(), False
        return pace(self._pace.rate(), status.allowed_rate, status.limit_known)

    def line(self) -> Any:
        """The line as rich draws it (a renderable laid out at each refresh)."""
        return _Line(self)

    def view(self) -> View | None:
        """The figures to draw now (the ETA counts down between updates)."""
        with self._lock:
            return self._view()

    def _view(self) -> View | None:
        status = self._status
        if status is None:
            return None
        fraction = self._estimate.fraction()
        if status.step is not None and status.step[0] < status.step[1] and status.complete:
            fraction = None  # one entity of `all` done, not the run: no 100% while it goes on
        return View(
            label=_label(status),
            percent=int(fraction * 100) if fraction is not None else None,
            figures=status.figures(),
            requests=status.requests,
            rate=self._rate.rate(),
            limit=status.allowed_rate if status.limit_known else None,
            eta=None if status.complete else self._estimate.eta(self._clock()),
            retries=status.retries,
        )


def _label(status: Status) -> str:
    """The phase; in `all`, the entity and its place (`customers (3/15)`)."""
    if status.step is None:
        return status.phase
    step, steps = status.step
    label = f"{status.subject} ({step}/{steps})"
    return label if status.phase in (status.subject, "reading") else f"{label} {status.phase}"


class _Line:
    """The rich renderable: the line laid out for the width rich gives it at each refresh."""

    def __init__(self, display: ProgressDisplay) -> None:
        self._display = display

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        from rich.text import Text

        view = self._display.view()
        if view is None:
            yield Text("starting", style="bold")
            return
        line = layout(view, options.max_width)
        text = Text(no_wrap=True, overflow="crop")
        text.append(line.left, style="bold")
        if line.bar:
            text.append_text(_bar(line.bar, view.percent, self._display._clock()))
            text.append(" ")
        text.append(line.right)
        yield text


def _bar(width: int, percent: int | None, now: float) -> Any:
    """A bar `width` columns wide: filled to `percent`, or a pulse moving along it when the
    share done is not known."""
    from rich.text import Text

    bar = Text()
    if percent is None:
        start = int(now * 8) % (width + 4) - 4
        for column in range(width):
            lit = start <= column < start + 4
            bar.append("━", style="magenta" if lit else "grey23")
        return bar
    filled = width * percent // 100
    bar.append("━" * filled, style="magenta")
    bar.append("━" * (width - filled), style="grey23")
    return bar


def table(
    headers: Sequence[str],
    rows: Sequence[Sequence[str]],
    right: Sequence[str],
    console: Console | None = None,
) -> str:
    """A plain table as text for stderr (the `all` summary), columns in `right` right-aligned.

    Nothing in it is ever cut: on a terminal, a cell too long for its column (a path) wraps
    onto the next line, whole characters folded; elsewhere (cron mail, a log) each row is one
    plain line, as long as it needs, the columns padded to line up."""
    from rich.console import Console
    from rich.table import Table

    console = console or Console(stderr=True, highlight=False)
    if not console.is_terminal:
        return _plain_table(headers, rows, right)
    grid = Table(box=None, pad_edge=False)
    for title in headers:
        grid.add_column(title, justify="right" if title in right else "left", overflow="fold")
    for row in rows:
        grid.add_row(*row)
    with console.capture() as captured:
        console.print(grid)
    return "\n".join(line.rstrip() for line in captured.get().rstrip("\n").splitlines())


def _plain_table(
    headers: Sequence[str], rows: Sequence[Sequence[str]], right: Sequence[str]
) -> str:
    widths = [max(len(cell) for cell in column) for column in zip(headers, *rows, strict=True)]
    lines = []
    for row in (headers, *rows):
        cells = [
            cell.rjust(width) if title in right else cell.ljust(width)
            for cell, width, title in zip(row, widths, headers, strict=True)
        ]
        lines.append(" ".join(cells).rstrip())
    return "\n".join(lines)
