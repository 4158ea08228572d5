"""The seeded events of an account: what happened to its tickets, messages, customers, users and
surveys, at the times those objects show, and the tickets and customers since deleted or merged,
which only events tell of. Ids grow with time, as the API's do.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import TYPE_CHECKING

from .events import Data, Event
from .records import Obj
from .timefmt import DAY, HOUR, MINUTE, SECOND, parse_us
from .timeline import Timeline

if TYPE_CHECKING:  # generate_entities calls this module
    from .generate_entities import GeneratedEntities, Source

FIRST_EVENT_ID = 70_000_001

_Draft = tuple[int, int, str, str, int, int | None, Data | None]  # created, order, then as Event


class _Drafts:
    def __init__(self) -> None:
        self.items: list[_Draft] = []

    def add(
        self,
        created: int,
        kind: str,
        object_type: str,
        object_id: int,
        user_id: int | None = None,
        data: Data | None = None,
    ) -> None:
        self.items.append((created, len(self.items), kind, object_type, object_id, user_id, data))

    def events(self) -> list[Event]:
        self.items.sort()  # by (created, order): orders are unique, so nothing further compares
        make = Event._make
        return [make((FIRST_EVENT_ID + i, d[0], *d[2:])) for i, d in enumerate(self.items)]


def generate_events(life: Timeline, src: Source, gen: GeneratedEntities) -> list[Event]:
    """The events of everything generated, ids in order of time."""
    drafts = _Drafts()
    for c in [*src.customers.values(), *gen.customers]:
        created = parse_us(c["created_datetime"])
        drafts.add(created, "customer-created", "Customer", c["id"])
        if c["updated_datetime"] != c["created_datetime"]:
            drafts.add(parse_us(c["updated_datetime"]), "customer-updated", "Customer", c["id"])
    for u in gen.users:
        drafts.add(parse_us(u["created_datetime"]), "user-created", "User", u["id"])
    for tk in src.tickets:
        _ticket_events(life, drafts, tk)
    for m in src.messages:
        drafts.add(*message_event(m))
    for s in gen.surveys:
        _survey_events(drafts, s)
    _gone_tickets(life, drafts, src.tickets)
    _merged_customers(life, drafts, src.customers)
    return drafts.events()


def message_event(m: Obj) -> tuple[int, str, str, int, int | None, Data]:
    """The ticket-message-created event of a message, as add_event's arguments."""
    user_id = m["sender"]["id"] if m["from_agent"] else None
    created = parse_us(m["created_datetime"])
    return created, "ticket-message-created", "TicketMessage", m["id"], user_id, _ticket_of(m)


def _ticket_of(m: Obj) -> Data:
    return (("ticket_id", m["ticket_id"]),)


def _ticket_events(life: Timeline, drafts: _Drafts, tk: Obj) -> None:
    tid = tk["id"]
    created, updated = parse_us(tk["created_datetime"]), parse_us(tk["updated_datetime"])
    user = tk["assignee_user"]
    user_id = None if user is None else user["id"]

    def soon() -> int:
        return min(life.after(created, SECOND, HOUR), updated)

    drafts.add(created, "ticket-created", "Ticket", tid, user_id if tk["from_agent"] else None)
    if tk["tags"]:
        tag_ids = tuple(t["id"] for t in tk["tags"])
        drafts.add(soon(), "ticket-tags-added", "Ticket", tid, None, (("tag_ids", tag_ids),))
    if user is not None:
        drafts.add(soon(), "ticket-assigned", "Ticket", tid, None, (("assignee_user_id", user_id),))
    if tk["assignee_team"] is not None:
        team = (("assignee_team_id", tk["assignee_team"]["id"]),)
        drafts.add(soon(), "ticket-team-assigned", "Ticket", tid, None, team)
    if tk["spam"]:
        drafts.add(soon(), "ticket-marked-spam", "Ticket", tid, user_id)
    changes = ["status"] if tk["closed_datetime"] else []
    if tk["closed_datetime"]:
        drafts.add(parse_us(tk["closed_datetime"]), "ticket-closed", "Ticket", tid, user_id)
    if tk["trashed_datetime"]:
        drafts.add(parse_us(tk["trashed_datetime"]), "ticket-trashed", "Ticket", tid, user_id)
        changes.append("trashed_datetime")
    if updated != created:
        fields = tuple(sorted({*changes, "updated_datetime"}))
        drafts.add(updated, "ticket-updated", "Ticket", tid, None, (("changes", fields),))


def _survey_events(drafts: _Drafts, s: Obj) -> None:
    data: Data = (("ticket_id", s["ticket_id"]),)
    if s["sent_datetime"] is not None:
        sent = parse_us(s["sent_datetime"])
        drafts.add(sent, "satisfaction-survey-sent", "SatisfactionSurvey", s["id"], None, data)
    if s["scored_datetime"] is not None:
        scored = parse_us(s["scored_datetime"])
        data = (*data, ("score", s["score"]))
        kind = "satisfaction-survey-responded"
        drafts.add(scored, kind, "SatisfactionSurvey", s["id"], None, data)


def _gone_tickets(life: Timeline, drafts: _Drafts, tickets: Sequence[Obj]) -> None:
    """Tickets deleted or merged away since: created in the id gaps generate.py leaves, then
    gone, so that only events tell of them."""
    rng = life.rng
    for before, after in itertools.pairwise(tickets):
        lo, hi = parse_us(before["created_datetime"]), parse_us(after["created_datetime"])
        for gone in range(before["id"] + 1, after["id"]):
            draw = rng.random()
            if draw >= 0.4:
                continue
            created = life.between(lo, hi + 1)
            drafts.add(created, "ticket-created", "Ticket", gone)
            if draw < 0.3:
                deleted = life.after(created, MINUTE, 30 * DAY)
                drafts.add(deleted, "ticket-deleted", "Ticket", gone, _agent_id(after))
            else:
                merged = life.after(max(created, hi), MINUTE, 7 * DAY)
                into = (("merged_into", after["id"]),)
                drafts.add(merged, "ticket-merged", "Ticket", gone, _agent_id(after), into)


def _agent_id(tk: Obj) -> int | None:
    user = tk["assignee_user"]
    return None if user is None else int(user["id"])


def _merged_customers(life: Timeline, drafts: _Drafts, customers: dict[int, Obj]) -> None:
    """Duplicates merged into about 3% of customers (at least one, so that every account shows
    the case): their ids sit between generate.py's, and are never given out again."""
    newest = max(customers, default=0)  # ids above it are the ones new customers will get
    free = [c for c in customers.values() if c["id"] + 1 not in customers and c["id"] + 1 < newest]
    if not free:
        return
    for c in life.rng.sample(free, max(1, len(free) * 3 // 100)):
        gone, created = c["id"] + 1, parse_us(c["created_datetime"])
        drafts.add(life.between(life.start, created + 1), "customer-created", "Customer", gone)
        merged = life.after(created, MINUTE, 60 * DAY)
        into = (("merged_into", c["id"]),)
        drafts.add(merged, "customer-merged", "Customer", gone, None, into)
