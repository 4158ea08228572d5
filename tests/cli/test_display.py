"""The progress display: every figure legible at 80 and at 160 columns, a rate that cannot
read as a breach, a share done and an ETA that do not jump; nothing when not a terminal."""

from __future__ import annotations

import io
import re
from itertools import pairwise

import pytest
from rich.console import Console

from gorgias_export.cli.display import ProgressDisplay, table
from gorgias_export.exports.status import EntityStatus, ExportStatus, Status


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def reading(done: int, planned: int | None = None, **more: object) -> ExportStatus:
    fields: dict[str, object] = dict(
        phase="reading",
        requests=done,
        rate_limited=0,
        retries=0,
        allowed_rate=2.0,
        fraction=None,
        complete=False,
        limit_known=True,
        burst=40,
        done=done,
        planned=planned,
        sent=done,
        tickets_read=1_234_567,
        message_rows=4_321_098,
        empty_ticket_rows=3,
        messages_read=4_321_098,
    )
    fields.update(more)
    return ExportStatus(**fields)  # type: ignore[arg-type]


def entity(name: str, step: tuple[int, int], **more: object) -> EntityStatus:
    fields: dict[str, object] = dict(
        phase=name,
        requests=7,
        rate_limited=0,
        retries=0,
        allowed_rate=2.0,
        fraction=None,
        complete=False,
        limit_known=True,
        burst=40,
        done=7,
        sent=207,
        step=step,
        entity=name,
    )
    fields.update(more)
    return EntityStatus(**fields)  # type: ignore[arg-type]


def drawn(display: ProgressDisplay, width: int) -> str:
    """The line as a terminal of `width` columns shows it."""
    screen = io.StringIO()
    console = Console(file=screen, force_terminal=True, width=width, color_system=None)
    console.print(display.line())
    return screen.getvalue().rstrip("\n")


def offscreen(clock: Clock) -> ProgressDisplay:
    """An enabled display on `clock` whose console writes nowhere (tests read `line()`)."""
    return ProgressDisplay(enabled=True, console=Console(file=io.StringIO()), clock=clock)


def fed(*statuses: Status, every: float = 10.0) -> tuple[ProgressDisplay, Clock]:
    """A display (enabled, not started) fed these statuses `every` seconds apart."""
    clock = Clock()
    display = offscreen(clock)
    for status in statuses:
        display.update(status)
        clock.now += every
    clock.now -= every
    return display, clock


def numbers(text: str) -> list[str]:
    return re.findall(r"\d[\d,.]*", text)


def a_run_at_the_limit() -> list[Status]:
    """Half an hour at 2 requests/s after the opening burst, 3,000 requests planned."""
    return [reading(40 + 20 * step, planned=3_000) for step in range(90)]


@pytest.mark.parametrize("width", [80, 160])
def test_every_figure_is_on_the_line_uncut(width: int) -> None:
    display, _ = fed(*a_run_at_the_limit())
    line = drawn(display, width)
    assert "\n" not in line and len(line) <= width and "…" not in line
    for figure in ("reading", "1,234,567 t", "4,321,098 m", "1,820 req", "60%", "ETA 9m"):
        assert figure in line, (figure, line)
    assert "2.0" in line and "(lim" in line  # the rate, and the limit said as one
    if width == 160:  # room for the long words and the bar
        assert "tickets" in line and "messages" in line and "requests" in line and "━" in line


PHASES = {  # a status, the label its line starts with, figures shown, and text never shown
    "gathering": (
        reading(500, phase="gathering", message_rows=0, messages_read=98_765),
        "gathering",
        ("98,765 m",),
        (),
    ),
    "writing": (
        reading(4_321, phase="writing", message_rows=4_321, planned=10_000),
        "writing",
        ("4,321 lines", "43%"),
        (),
    ),
    "all": (
        entity("customers", (3, 15), items_read=700, new_rows=512),
        "customers (3/15)",
        ("700 read", "512 new"),
        ("%",),  # no share of an entity whose size is unknown
    ),
}


@pytest.mark.parametrize("width", [80, 160])
@pytest.mark.parametrize("phase", list(PHASES))
def test_gathering_writing_and_all_name_their_phase(phase: str, width: int) -> None:
    status, label, shown, never = PHASES[phase]
    line = drawn(fed(status)[0], width)
    assert line.startswith(label), line
    assert all(figure in line for figure in shown), (shown, line)
    assert not any(text in line for text in never), (never, line)
    assert "\n" not in line and len(line) <= width and "…" not in line, line


def test_a_terminal_shows_the_line_while_it_runs() -> None:
    screen = io.StringIO()
    console = Console(file=screen, force_terminal=True, width=80, color_system=None)
    with ProgressDisplay(enabled=True, console=console) as display:
        display.update(reading(1_234))
        display._live.refresh()  # type: ignore[union-attr]
    shown = [part.replace("\x1b[2K", "") for part in screen.getvalue().split("\r")]
    line = next(part for part in shown if "reading" in part)
    assert "1,234 req" in line and "1,234,567 t" in line and "…" not in line


def test_disabled_display_draws_nothing() -> None:
    display = ProgressDisplay(enabled=False)
    with display:
        display.update(reading(1))
    assert display._live is None and display.view() is None


def test_the_opening_burst_does_not_read_as_a_breach() -> None:
    """The empty bucket takes 40 requests in a second; counted as a rate that read
    `47.2 req/s of 2.0`. The rate shown is the sustained one, beside the limit."""
    clock = Clock()
    display = offscreen(clock)
    display.update(reading(3))
    clock.now += 0.85
    display.update(reading(40))
    view = display.view()
    assert view is not None and view.rate is None  # no rate from the burst
    for _ in range(20):
        clock.now += 1.0
        display.update(reading(view.requests + 2 if view.requests else 42))  # type: ignore[operator]
        view = display.view()
    assert view is not None and view.rate == pytest.approx(2.0)
    assert "2.0 req/s (limit 2.0)" in drawn(display, 160)


def test_a_guessed_limit_is_not_printed() -> None:
    """Before the bucket has shown its drain, the pacer's cautious guess is no limit to show."""
    display, _ = fed(*(reading(40 + 40 * step, limit_known=False) for step in range(5)))
    line = drawn(display, 160)
    assert "4.0 req/s" in line and "limit" not in line


def test_the_share_done_never_jumps_back_nor_reaches_100_before_the_end() -> None:
    statuses = [reading(n, planned=100) for n in (10, 50, 40, 120, 130)]
    display, _ = fed(*statuses)
    assert display.view().percent == 99  # type: ignore[union-attr]
    display.update(reading(130, planned=100, complete=True))
    assert display.view().percent == 100  # type: ignore[union-attr]
    display, _ = fed(reading(10, planned=None))
    assert display.view().percent is None  # type: ignore[union-attr]
    assert "%" not in drawn(display, 80)


def test_all_starts_each_entity_from_nothing() -> None:
    """`all` showed 100% from the first finished entity on, while still reading the next."""
    tags = entity("tags", (1, 15), complete=True, fraction=1.0)
    customers = entity("customers", (3, 15))
    display, _ = fed(tags)
    assert display.view().percent is None  # type: ignore[union-attr]
    display, _ = fed(tags, customers)
    view = display.view()
    assert view is not None and view.percent is None and view.label == "customers (3/15)"
    display, _ = fed(entity("jobs", (15, 15), complete=True, fraction=1.0))
    assert display.view().percent == 100  # type: ignore[union-attr]  # the run's end


def etas(statuses: list[Status], every: float = 10.0) -> list[float]:
    clock = Clock()
    display = offscreen(clock)
    shown = []
    for status in statuses:
        display.update(status)
        view = display.view()
        if view is not None and view.eta is not None:
            shown.append(view.eta)
        clock.now += every
    return shown


def test_the_eta_counts_down_steadily_at_a_steady_rate() -> None:
    shown = etas(a_run_at_the_limit())
    assert shown[0] == pytest.approx((3_000 - 40) / 2.0)  # the allowed rate before a measure
    assert all(later <= earlier for earlier, later in pairwise(shown))
    for step, eta in enumerate(shown[5:], 5):  # the truth: 2 requests/s to 3,000
        assert eta == pytest.approx((3_000 - 40 - 20 * step) / 2.0, rel=0.02)


def test_the_eta_does_not_jump_when_pages_come_unevenly() -> None:
    """Pages arrive in bunches (every other update gets none): the ETA moves by seconds."""
    statuses = [reading(40 + 20 * step + (10 if step % 2 else -10), planned=3_000)
                for step in range(1, 90)]  # fmt: skip
    shown = etas(statuses)
    steps = [earlier - later for earlier, later in pairwise(shown)]
    assert all(0 <= step <= 20 for step in steps), steps  # 10 s pass per update


def test_a_summary_table_never_cuts_a_path() -> None:
    path = "/srv/backups/gorgias/2026-12-03/customer-custom-fields-definitions.csv"
    rows = [("custom-fields", "1,234", "56", path)]
    headers, right = ("entity", "new rows", "requests", "file"), ("new rows", "requests")
    for terminal in (True, False):
        screen = io.StringIO()
        console = Console(file=screen, force_terminal=terminal, width=60, color_system=None)
        text = table(headers, rows, right, console=console)
        assert "…" not in text and "1,234" in text and "56" in text
        assert path in "".join(text.split())
        if not terminal:  # cron mail: plain lines, the path whole on its row
            assert path in text.splitlines()[1] and "\x1b" not in text


def test_a_slow_api_gets_the_eta_of_its_own_pace_and_no_free_burst() -> None:
    """At 3 s per request the bucket never fills: its room is no free time, and the pace is
    what the API gives (counting the room free made the ETA reach 0 with 24 s left)."""
    slow = [reading(40 + 10 * step, planned=1_000, room=30) for step in range(20)]  # 1/s
    shown = etas(slow)
    assert shown[-1] == pytest.approx(1_000 - 40 - 190, rel=0.05)  # at 1 request/s
    at_the_limit = [reading(40 + 20 * step, planned=3_000, room=5) for step in range(20)]
    assert etas(at_the_limit)[-1] == pytest.approx((3_000 - 420 - 5) / 2.0, rel=0.02)
