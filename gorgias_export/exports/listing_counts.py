"""Whether the message listings came up far short of what the tickets said they hold (issue 12).

Every ticket of a listing carries `messages_count`. In a first full export (a backfill without
`--until`, filtered or not) every ticket is listed and every message read once, so the messages
read should add up to the tickets' counts. A listing that ended early without anything else
noticing (a well-formed last page in the middle of it, before any partner walk had a position to
judge it by) shows as a shortfall, which is flagged: one line on stderr, with --quiet too, and in
the --verbose log. The exit status stays 0: the rows read are all written, and the count is only
a hint (what the real API counts in `messages_count` is not documented to the message); `verify`
tells which rows are missing, if any.

What keeps normal churn from warning:
- only tickets last updated before the run began are counted: a ticket updated since may count
  messages created during the run, which the walks (started before them) need not read. Messages
  read of tickets not counted only make the messages read more, never fewer;
- tickets without a count (`messages_count` null) are left out, their messages read all the same;
- tickets fetched by id (not listed: deleted or merged since) are not counted; their messages are;
- the counts live in the run's saved progress, each moved with the checkpoint of its page (or,
  filtered, of its ticket), so a resumed run counts every ticket and message exactly once; a run
  begun by a release that did not count is not judged;
- incremental and `--since` runs are not judged: their window's messages are a part of their
  tickets' counts (a ticket updated in the window counts its older messages too);
- the shortfall must reach a page of messages and 1% of the count: a listing that lost pages
  does. So may, with nothing missing, a ticket of 100 messages or more (or a customer's tickets)
  deleted or merged away during the run, counted when listed, its messages gone before the walks
  reached them. The warning cannot tell these apart without more requests, so it names both
  causes and `verify` as the proof.
"""

from __future__ import annotations

from typing import Any

from gorgias_export.exports.progress import RunProgress
from gorgias_export.timeutil import sort_key

SHORT_MESSAGES = 100  # a page of the message listing
SHORT_SHARE = 0.01


def counted_run(plan: str, upper: str | None) -> list[int] | None:
    """The counts a new run starts with ([tickets' messages_count, messages read]); None for a
    run that is not judged."""
    return [0, 0] if plan == "backfill" and upper is None else None


def count_ticket(run: RunProgress, ticket: dict[str, Any]) -> None:
    """A listed ticket, done (its page or, filtered, itself), about to be checkpointed."""
    counts = run.message_counts
    count = ticket.get("messages_count")
    if counts is None or not isinstance(count, int) or isinstance(count, bool) or count < 0:
        return
    if sort_key(ticket.get("updated_datetime")) >= run.started_at:
        return  # updated since the run began: may count messages no walk of it had to read
    counts[0] += count


def count_messages(run: RunProgress, read: int) -> None:
    if run.message_counts is not None:
        run.message_counts[1] += read


def shortfall(run: RunProgress) -> str | None:
    """The line to show when the messages read fell far short of the tickets' counts."""
    if run.message_counts is None:
        return None
    listed, read = run.message_counts
    short = listed - read
    if short < SHORT_MESSAGES or short < listed * SHORT_SHARE:
        return None
    return (
        f"Warning: the API listed {read:,} messages where the tickets' messages_count add up to "
        f"{listed:,} ({short:,} fewer): tickets deleted or merged during the run explain such "
        "a shortfall with nothing missing, a listing that ended early one with rows missing; "
        "`gorgias-export verify <file>` tells which (a filtered export: rerun it with --fresh)."
    )
