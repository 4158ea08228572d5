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
