"""The progress display: counts, rate and ETA on a terminal, nothing otherwise."""

from __future__ import annotations

import io

from rich.console import Console

from gorgias_export.cli.display import ProgressDisplay
from gorgias_export.exports.status import ExportStatus


def status(requests: int, fraction: float | None) -> ExportStatus:
    return ExportStatus(
        phase="messages",
        requests=requests,
        rate_limited=0,
        retries=0,
        allowed_rate=2.0,
        fraction=fraction,
        complete=False,
        tickets_read=1200,
        message_rows=4321,
        empty_ticket_rows=3,
    )


def test_a_terminal_gets_counts_rate_and_eta() -> None:
    screen = io.StringIO()
    console = Console(file=screen, force_terminal=True, width=160)
    with ProgressDisplay(enabled=True, console=console) as display:
        display.update(status(10, 0.25))
        display.update(status(20, 0.5))
        display._progress.refresh()  # type: ignore[union-attr]
    text = screen.getvalue()
    assert "1,200 tickets" in text and "4,321 messages" in text and "20 requests" in text
    assert "of 2.0" in text and "50%" in text and "ETA" in text


def test_disabled_display_draws_nothing() -> None:
    display = ProgressDisplay(enabled=False)
    with display:
        display.update(status(1, None))
    assert display._progress is None


def test_an_80_column_terminal_gets_a_line_that_fits() -> None:
    """Cut at 80 columns, the long counters hid the bar, the percentage and the ETA."""
    screen = io.StringIO()
    console = Console(file=screen, force_terminal=True, width=80, color_system=None)
    with ProgressDisplay(enabled=True, console=console) as display:
        display.update(status(1_234, 0.42))
        display._progress.refresh()  # type: ignore[union-attr]
    drawn = [part.replace("\x1b[2K", "") for part in screen.getvalue().split("\r")]
    line = next(part for part in drawn if "messages" in part)
    assert len(line.rstrip()) <= 80 and "…" not in line
    assert "42%" in line and "4,324 rows" in line and "1,234 req" in line and "ETA" in line
