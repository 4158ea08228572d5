"""Events: what happened to which object, when. Kept compact and rendered on demand, since an
account holds several per ticket and the larger benchmark datasets hold hundreds of thousands.

`object_id` is the object the event is about; for a merge it is the object that went away, and
`data.merged_into` names the one that absorbed it. A deleted or merged object is no longer listed
anywhere else: events are the only trace of it, as on the real API.
"""

from __future__ import annotations

import hashlib
import uuid
from typing import Any, NamedTuple

from .records import UNDOCUMENTED_FIELD, Obj, extensions
from .timefmt import format_us

TYPES = frozenset(
    {
        "ticket-created",
        "ticket-updated",
        "ticket-deleted",
        "ticket-merged",
        "ticket-assigned",
        "ticket-unassigned",
        "ticket-team-assigned",
        "ticket-team-unassigned",
        "ticket-closed",
        "ticket-reopened",
        "ticket-snoozed",
        "ticket-trashed",
        "ticket-untrashed",
        "ticket-marked-spam",
        "ticket-unmarked-spam",
        "ticket-tags-added",
        "ticket-tags-removed",
        "ticket-message-created",
        "ticket-message-updated",
        "ticket-message-failed",
        "customer-created",
        "customer-updated",
        "customer-deleted",
        "customer-merged",
        "user-created",
        "user-updated",
        "user-deleted",
        "satisfaction-survey-sent",
        "satisfaction-survey-responded",
        "macro-applied",
        "rule-executed",
    }
)
OBJECT_TYPES = frozenset(
    {
        "Ticket",
        "TicketMessage",
        "Customer",
        "User",
        "SatisfactionSurvey",
        "Tag",
        "Team",
        "View",
        "Macro",
        "Rule",
        "Integration",
        "CustomField",
    }
)

Data = tuple[
    tuple[str, Any], ...
]  # an event's `data` as pairs: a tuple is much smaller than a dict


class Event(NamedTuple):
    """A tuple: a third of a frozen dataclass's cost to make, and as small as anything."""

    id: int
    created: int  # microseconds since the epoch
    type: str
    object_type: str
    object_id: int
    user_id: int | None
    data: Data | None


def render(e: Event) -> Obj:
    """The event as the API shows it."""
    data = None if e.data is None else {k: _plain(v) for k, v in e.data}
    root = e.object_id if data is None else data.get("ticket_id", e.object_id)
    return {
        "id": e.id,
        "uri": f"/api/events/{e.id}/",
        "context": _context(e.created, root),
        "created_datetime": format_us(e.created),
        "data": data,
        "object_id": e.object_id,
        "object_type": e.object_type,
        "type": e.type,
        "user_id": e.user_id,
        UNDOCUMENTED_FIELD: extensions("event"),
    }


def pairs(data: Obj | None) -> Data | None:
    return None if data is None else tuple(data.items())


def _plain(value: Any) -> Any:
    # Lists are stored as tuples (hashable, smaller) and shown as lists, as JSON would give them.
    return [_plain(v) for v in value] if isinstance(value, tuple) else value


def _context(created: int, root: int) -> str:
    """The request that caused the event: the same for what one action did to one ticket at once
    (a new ticket and its first message), a stable UUID from that."""
    digest = hashlib.blake2b(f"{created}:{root}".encode(), digest_size=16).digest()
    return str(uuid.UUID(bytes=digest, version=4))
