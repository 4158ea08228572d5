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

    phase: str  # what is being read now: "tickets", "messages", or an entity's name
    requests: int
    rate_limited: int
    retries: int
    allowed_rate: float  # requests per second the account's bucket (and --max-rate) allow
    fraction: float | None  # an estimate of the share done; None when unknown
    complete: bool

    @property
    def rows(self) -> int:
        """Rows (or lines) written by this run."""
        raise NotImplementedError

    def counts(self) -> str:
        """The progress bar's counters, short enough for an 80-column terminal."""
        raise NotImplementedError


@dataclass
class ExportStatus(Status):
    """The conversation export's progress (`tickets`)."""

    tickets_read: int = 0
    message_rows: int = 0  # with --per ticket: lines written, one per ticket
    empty_ticket_rows: int = 0

    @property
    def rows(self) -> int:
        return self.message_rows + self.empty_ticket_rows

    def counts(self) -> str:
        return (
            f"{self.tickets_read:,} tickets · {self.message_rows:,} messages"
            f" · {self.requests:,} requests"
        )


@dataclass
class EntityStatus(Status):
    """One entity's progress (customers, events, tags, ...)."""

    entity: str = ""
    new_rows: int = 0
    items_read: int = 0

    @property
    def rows(self) -> int:
        return self.new_rows

    def counts(self) -> str:
        return f"{self.items_read:,} read · {self.new_rows:,} new rows · {self.requests:,} requests"


StatusCallback = Callable[[Status], None]
