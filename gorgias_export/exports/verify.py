"""The account's side of `verify`: list every ticket, compare with what the export holds, report.

Cost: the account-wide `/tickets` listing, 100 tickets a request (`ceil(T/100)`): it gives each
ticket's `messages_count`, so no message is read again. Only when tickets of the export are no
longer listed, the `ticket-deleted` and `ticket-merged` events too (100 a request), to say what
became of them. GET only, paced like every run.

What the export holds is judged as of its time (`as_of`): when its last complete run began
(what the account had before then, a correct run wrote). A ticket created after that is *new
since*; one updated after it whose message count differs is *changed since*: a rerun brings
both, and neither is a row the export lost. A ticket of the export the account no longer lists
is *deleted since* when an event says it was deleted or merged away, and *extra* otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from gorgias_export.api.client import GorgiasClient
from gorgias_export.api.prefetch import Chain
from gorgias_export.api.walk import ListingWalk
from gorgias_export.exports.progress import ExportProgress, WalkPosition
from gorgias_export.output.export_readers import ReadNotes
from gorgias_export.output.verify_scratch import Named, VerifyScratch
from gorgias_export.timeutil import sort_key

SHOWN = 10  # ids named per category; the rest are counted
GONE_TYPES = ("ticket-deleted", "ticket-merged")
_NO_RUN_YET = "9999-12-31T23:59:59.999999Z"  # no run finished: nothing is "since"


@dataclass(frozen=True)
class ExportUnderTest:
    path: Path
    fmt: str  # csv | jsonl | sqlite (| xlsx)
    per: str  # message | ticket
    progress: ExportProgress
    api: str  # the API base URL it was exported from

    def as_of(self) -> str:
        """The export's time: when its last complete run began (a state written before that
        was saved: its newest ticket or message, which is no later)."""
        p = self.progress
        if p.completed_runs:
            marks = (m for m in (p.watermark_tickets, p.watermark_messages) if m)
            return p.last_run_started or max(marks, default=_NO_RUN_YET)
        return p.run.started_at if p.run is not None else _NO_RUN_YET


@dataclass(frozen=True)
class VerifyReport:
    path: Path
    as_of: str
    interrupted: bool  # the last run did not finish
    exported_tickets: int
    exported_messages: int
    listed_tickets: int
    requests: int
    # The export's own defects:
    missing_tickets: Named
    missing_messages: Named  # tickets with fewer messages than the account says
    extra_tickets: Named
    extra_messages: Named  # tickets with more messages than the account says
    duplicates: Named
    unreadable: Named
    # The account's changes since the export's time:
    deleted_since: Named
    new_since: Named
    changed_since: Named
    # What the export's deletions log accounts for (not a difference):
    recorded: Named

    @property
    def complete(self) -> bool:
        return self.missing_nothing and not self.behind

    @property
    def missing_nothing(self) -> bool:
        defects = (
            self.missing_tickets,
            self.missing_messages,
            self.extra_tickets,
            self.extra_messages,
            self.duplicates,
            self.unreadable,
        )
        return not self.interrupted and not any(named.count for named in defects)

    @property
    def behind(self) -> bool:
        return any(n.count for n in (self.deleted_since, self.new_since, self.changed_since))

    def lines(self) -> list[str]:
        """The report, a few lines: the verdict, the totals, then each category found."""
        verdict = (
            "complete"
            if self.complete
            else "complete as of its last run, but the account changed since (rerun the export)"
            if self.missing_nothing
            else "INCOMPLETE"
        )
        lines = [
            f"{self.path}: {verdict}.",
            f"The export (as of {self.as_of}): {self.exported_tickets:,} tickets, "
            f"{self.exported_messages:,} messages; the account lists "
            f"{self.listed_tickets:,} tickets ({self.requests:,} requests).",
        ]
        if self.interrupted:
            lines.append("Its last run did not finish: rerun the export to complete it.")
        for title, named, unit in (
            ("Missing from the export", self.missing_tickets, "ticket"),
            ("Messages missing from the export", self.missing_messages, "ticket"),
            ("In the export, not in the account", self.extra_tickets, "ticket"),
            ("More messages in the export than in the account", self.extra_messages, "ticket"),
            ("Duplicated rows", self.duplicates, "message id"),
            ("Unreadable rows", self.unreadable, "row"),
            ("Deleted since the export", self.deleted_since, "ticket"),
            ("New since the export", self.new_since, "ticket"),
            ("Changed since the export", self.changed_since, "ticket"),
            ("Gone from the account, as its deletions log records", self.recorded, "ticket"),
        ):
            if named.count:
                lines.append(f"{title}: {_listed(named, unit)}.")
        return lines


def _listed(named: Named, unit: str) -> str:
    plural = unit if named.count == 1 else f"{unit}s"
    shown = ", ".join(f"{i} ({say})" if say else str(i) for i, say in named.shown)
    more = named.count - len(named.shown)
    return f"{named.count:,} {plural}: {shown}" + (f" and {more:,} more" if more > 0 else "")


def compare(
    client: GorgiasClient, export: ExportUnderTest, scratch: VerifyScratch, notes: ReadNotes
) -> VerifyReport:
    """The export's rows are in `scratch`; list the account into it and compare."""
    as_of = export.as_of()
    _list_tickets(client, scratch)
    scratch.finish()
    if scratch.unlisted_tickets(gone=False, limit=0).count:
        _list_gone(client, scratch)  # only then: what became of them
    unreadable = Named(notes.unreadable, [(row, "") for row in notes.first_unreadable])
    return VerifyReport(
        path=export.path,
        as_of=as_of if as_of != _NO_RUN_YET else "no finished run",
        interrupted=export.progress.run is not None,
        exported_tickets=scratch.exported_tickets(),
        exported_messages=scratch.exported_messages(),
        listed_tickets=scratch.listed_tickets(),
        requests=client.stats.requests,
        missing_tickets=scratch.missing_tickets(as_of, SHOWN),
        missing_messages=scratch.count_mismatches(as_of, "fewer", SHOWN),
        extra_tickets=scratch.unlisted_tickets(gone=False, limit=SHOWN),
        extra_messages=scratch.count_mismatches(as_of, "more", SHOWN),
        duplicates=scratch.duplicates(SHOWN),
        unreadable=unreadable,
        deleted_since=scratch.unlisted_tickets(gone=True, limit=SHOWN),
        new_since=scratch.new_tickets(as_of, SHOWN),
        changed_since=scratch.count_mismatches(as_of, "changed", SHOWN),
        recorded=scratch.recorded_tickets(SHOWN),
    )


def _list_tickets(client: GorgiasClient, scratch: VerifyScratch) -> None:
    """Every ticket of the account, oldest first (the stable order), 100 a request."""
    walk = ListingWalk(client, "/tickets", "created_datetime", False, WalkPosition())
    chain = Chain(walk)
    while not walk.done:
        page = chain.take()
        scratch.listed(
            [
                (
                    ticket["id"],
                    count if isinstance(count := ticket.get("messages_count"), int) else None,
                    key[0],
                    sort_key(ticket.get("updated_datetime")),
                )
                for ticket, key in zip(page.items, page.keys, strict=True)
                if isinstance(ticket.get("id"), int)
            ]
        )
        walk.advance(page)


def _list_gone(client: GorgiasClient, scratch: VerifyScratch) -> None:
    """The tickets the account's events say were deleted or merged away (as long as it keeps
    events): every such event, since any exported ticket may be one, at 100 a request."""
    filters = [("types", kind) for kind in GONE_TYPES]
    walk = ListingWalk(client, "/events", "created_datetime", False, WalkPosition(), filters)
    while not walk.done:
        page = walk.page_from(walk.request(walk.position.cursor))
        for event in page.items:
            ticket_id = event.get("object_id")
            kind = event.get("type")
            if isinstance(ticket_id, int) and kind in GONE_TYPES:
                scratch.gone(ticket_id, "merged" if kind == "ticket-merged" else "deleted")
        walk.advance(page)
