"""The progress line laid out for a width: parts shortened or dropped in a fixed order, never cut.

A terminal cuts a line that is too long wherever it ends, so at 80 columns the old line lost its
ETA (`E…`) and half its words (`messag…`). Here the line is built to fit instead, trying these
layouts in turn and taking the first that fits:

1. long words (`1,234 tickets · 4,321 messages · 96 requests · 1.9 req/s (limit 2.0)`), with a
   bar of 10 to 40 columns;
2. short words (`1,234 tkt · 4,321 msg · 96 req`);
3. no separators, and the short rate (`1.9/s (lim 2.0)`);
4. a bar of 5 columns;
5. no bar;
6. then, one at a time: the retry count, the limit, the rate, the request count;
7. narrower still (below about 60 columns), whole words off the end of the line.

Until step 7 the label (the phase; in `all` the entity and its place), the percentage, the
other counts and the ETA stay, and at no step is anything cut inside a word or a number. At 80
columns every figure fits with counts in the millions (only the bar goes). No rich here: the
display turns the layout into styled text.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from gorgias_export.cli.progress_model import eta_text

BAR_MAX = 40
BAR_MIN = 10
BAR_SMALL = 5


@dataclass(frozen=True)
class View:
    """The figures of one progress line."""

    label: str  # "reading", "gathering", "customers (3/15)"
    percent: int | None  # None: indeterminate (no percentage, a pulsing bar)
    figures: list[tuple[int, str, str]] = field(default_factory=list)  # (n, long, short)
    requests: int | None = None  # None: not shown
    rate: float | None = None  # requests per second, sustained
    limit: float | None = None  # what the account allows, when known
    eta: float | None = None  # seconds
    retries: int = 0


@dataclass(frozen=True)
class _Style:
    short_words: bool = False
    tight: bool = False  # single spaces instead of ` · `, the short rate
    bar: int = BAR_MIN  # the bar's least width; 0: no bar
    drop: int = 0  # how many of the droppable parts are left out (in DROP_ORDER)


DROP_ORDER = ("retries", "limit", "rate", "requests")
LAYOUTS = (
    _Style(),
    _Style(short_words=True),
    _Style(short_words=True, tight=True),
    _Style(short_words=True, tight=True, bar=BAR_SMALL),
    *(_Style(short_words=True, tight=True, bar=0, drop=n) for n in range(len(DROP_ORDER) + 1)),
)


@dataclass(frozen=True)
class Layout:
    """The line: `left`, a bar `bar` columns wide (0: none), then `right`."""

    left: str
    bar: int
    right: str

    @property
    def width(self) -> int:
        return len(self.left) + (self.bar + 1 if self.bar else 0) + len(self.right)


def layout(view: View, width: int) -> Layout:
    """The fullest layout that fits `width` columns (the most compact one if none does)."""
    for style in LAYOUTS:
        left, right = _texts(view, style)
        room = width - len(left) - len(right) - 1
        if style.bar and room >= style.bar:
            return Layout(left, min(room, BAR_MAX), right)
        if not style.bar and len(left) + len(right) <= width:
            return Layout(left, 0, right)
    while " " in right and len(left) + len(right) > width:  # whole words off the end
        right = right.rsplit(" ", 1)[0]
    return Layout(left, 0, right.removesuffix(" ETA"))


def _texts(view: View, style: _Style) -> tuple[str, str]:
    dropped = set(DROP_ORDER[: style.drop])
    left = view.label + " " if style.bar else view.label
    words = [f"{n:,} {short if style.short_words else long}" for n, long, short in view.figures]
    if view.requests is not None and "requests" not in dropped:
        words.append(f"{view.requests:,} {'req' if style.short_words else 'requests'}")
    if view.retries and "retries" not in dropped:
        words.append(f"{view.retries:,} {'retried' if style.short_words else 'retries'}")
    if "rate" not in dropped:
        words.extend(_rate(view, style.tight, "limit" in dropped))
    parts = [f"{view.percent}%"] if view.percent is not None else []
    parts.append((" " if style.tight else " · ").join(words))
    if view.eta is not None:
        parts.append(f"ETA {eta_text(view.eta)}")
    right = " ".join(part for part in parts if part)
    if not style.bar:
        right = " " + right
    return left, right


def _rate(view: View, tight: bool, no_limit: bool) -> list[str]:
    """`1.9 req/s (limit 2.0)`: the limit in words, so a rate never reads as a breach."""
    limit = None if no_limit or not view.limit else view.limit
    if view.rate is None:
        if limit is None:
            return []
        return [f"limit {limit:.1f}/s" if tight else f"limit {limit:.1f} req/s"]
    rate = f"{view.rate:.1f}/s" if tight else f"{view.rate:.1f} req/s"
    if limit is not None:
        rate += f" (lim {limit:.1f})" if tight else f" (limit {limit:.1f})"
    return [rate]
