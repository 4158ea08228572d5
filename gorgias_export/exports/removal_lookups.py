"""What the deletion pass asks the API: which objects an event names, whether they are gone (a
direct read, never the event alone), and a ticket's messages as they are now.

The `data` of `ticket-merged` and `customer-merged` events is not documented publicly, so every
integer under a plausible key is taken as a candidate, in both directions: each candidate is then
read directly. A candidate that is gone is removed; one that is there is a merge target, whose
messages are re-read. A wrong guess costs a request, never a row.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from gorgias_export.api.client import GorgiasClient, Params
from gorgias_export.errors import NotFound

Item = dict[str, Any]
PAGE = 100  # the API's largest page, and its limit of ticket_ids per listing
# Where a merge's other side may be named (the simulator uses merged_into).
MERGE_KEYS = (
    "merged_into",
    "merged_into_id",
    "target_id",
    "target",
    "into",
    "ticket_id",
    "target_ticket_id",
    "customer_id",
    "target_customer_id",
    "source_id",
    "source",
)
MAX_MESSAGE_PAGES = 10_000  # a ticket's messages, 100 a page: a bound, not a limit met


def event_objects(event: Item, object_type: str) -> tuple[int | None, int | None, set[int]]:
    """(the object the event is about, the merge target it names, every id it names) for an
    event about an object of `object_type` ("Ticket", "Customer")."""
    if event.get("object_type") != object_type:
        return None, None, set()
    subject = _int(event.get("object_id"))
    data = event.get("data")
    named: set[int] = set() if subject is None else {subject}
    target = None
    if isinstance(data, dict):
        for key in MERGE_KEYS:
            value = data.get(key)
            found = _int(value.get("id")) if isinstance(value, dict) else _int(value)
            if found is not None and found != subject:
                named.add(found)
                if target is None and key not in ("source_id", "source"):
                    target = found
    return subject, target, named


def _int(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int | str):
        return None
    if isinstance(value, str):
        return int(value) if value.isdigit() and len(value) < 19 else None
    return value if value > 0 else None


def is_gone(client: GorgiasClient, path: str) -> bool:
    """Whether the object's own GET answers 404: documented as deleted."""
    try:
        client.get_json(path)
    except NotFound:
        return True
    return False


def live_tickets(client: GorgiasClient, ids: Iterable[int]) -> tuple[dict[int, Item], set[int]]:
    """(the tickets still there, as list items; the ids confirmed gone by a 404). Listed 100
    per request with `ticket_ids`; only those the listing leaves out are read one by one."""
    wanted = sorted(set(ids))
    alive: dict[int, Item] = {}
    gone: set[int] = set()
    for start in range(0, len(wanted), PAGE):
        batch = wanted[start : start + PAGE]
        params: Params = [
            ("limit", PAGE),
            ("order_by", "created_datetime:asc"),
            *(("ticket_ids", tid) for tid in batch),
        ]
        page = client.fetch_page("/tickets", params)
        for item in page.items:
            if isinstance(item.get("id"), int) and item["id"] in batch:
                alive[item["id"]] = item
        for tid in batch:
            if tid not in alive and is_gone(client, f"/tickets/{tid}"):
                gone.add(tid)
    return alive, gone


def messages_of(client: GorgiasClient, ticket_id: int) -> list[Item]:
    """Every message the API lists under this ticket now, oldest first."""
    params: Params = [
        ("limit", PAGE),
        ("order_by", "created_datetime:asc"),
        ("ticket_id", ticket_id),
    ]
    found: list[Item] = []
    cursor: str | None = None
    for _ in range(MAX_MESSAGE_PAGES):
        page = client.fetch_page("/messages", params, cursor)
        found += [m for m in page.items if isinstance(m.get("id"), int)]
        cursor = page.next_cursor
        if cursor is None:
            return found
    return found
