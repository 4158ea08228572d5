"""The typed progress events every export sends after each checkpoint.

The core never draws anything: the CLI's display turns these into a progress bar, and the
summary line is built from the last one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class Status:
    """What every export reports: enough for a progress bar, its rate and its ETA."""

    phase: str  # what is being done now: "reading", "gathering", "writing", an entity's name
    requests: int
    rate_limited: int
    retries: int
    allowed_rate: float  # requests per second the account's bucket (and --max-rate) allow
    fraction: float | None  # `done / planned`, below 1 until complete; None when unknown
    complete: bool
    # Whether `allowed_rate` is the account's (learned from its bucket, or --max-rate) rather
    # than the pacer's first, cautious guess: only a known limit is worth printing beside a rate.
    limit_known: bool = False
    burst: int = 0  # requests the bucket takes at once at the start (its size), 0 if unknown
    room: int = 0  # requests the bucket still takes now without a wait
    # The work of this phase, in requests answered (or lines written, when writing): what is
    # done, and what the phase needs in all once that is known (None until then).
    done: int = 0
    planned: int | None = None
    sent: int = 0  # requests the whole process has sent (in `all`, over every entity): the rate
    step: tuple[int, int] | None = None  # in `all`: this entity's place in the run, (3, 15)

    @property
    def rows(self) -> int:
        """Rows (or lines) written by this run."""
        raise NotImplementedError

    @property
    def subject(self) -> str:
        """What is exported: "tickets", or the entity's name."""
        raise NotImplementedError

    def figures(self) -> list[tuple[int, str, str]]:
        """The counters to show beside the requests, each `(number, long word, short word)`."""
        raise NotImplementedError

    def counts(self) -> str:
        """The counters as one line (the long words)."""
        figures = [*self.figures(), (self.requests, "requests", "req")]
        return " · ".join(f"{n:,} {word}" for n, word, _ in figures)


def fraction_of(done: int, planned: int | None, complete: bool) -> float | None:
    """The share done: 1 only once complete (never while still reading), else below it."""
    if complete:
        return 1.0
    if not planned:
        return None
    return min(done / planned, 0.99)


@dataclass
class ExportStatus(Status):
    """The conversation export's progress (`tickets`)."""

    tickets_read: int = 0
    message_rows: int = 0  # with --per ticket: lines written, one per ticket
    empty_ticket_rows: int = 0
    messages_read: int = 0  # in-window messages received (with --per ticket: staged)

    @property
    def rows(self) -> int:
        return self.message_rows + self.empty_ticket_rows

    @property
    def subject(self) -> str:
        return "tickets"

    def figures(self) -> list[tuple[int, str, str]]:
        if self.phase == "writing":  # --per ticket's second phase: lines, no requests
            return [(self.message_rows, "lines written", "lines")]
        messages = self.messages_read if self.phase == "gathering" else self.message_rows
        return [
            (self.tickets_read, "tickets", "tkt"),
            (messages, "messages", "msg"),
        ]


@dataclass
class EntityStatus(Status):
    """One entity's progress (customers, events, tags, ...)."""

    entity: str = ""
    new_rows: int = 0
    items_read: int = 0

    @property
    def rows(self) -> int:
        return self.new_rows

    @property
    def subject(self) -> str:
        return self.entity

    def figures(self) -> list[tuple[int, str, str]]:
        return [
            (self.items_read, "read", "read"),
            (self.new_rows, "new rows", "new"),
        ]


StatusCallback = Callable[[Status], None]
