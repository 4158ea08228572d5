"""Whether a ticket has no message, for the row a ticket without messages gets.

The ticket's `messages_count` says so. When it is missing or not a number (a null was seen),
guessing either way is wrong: "has messages" drops the ticket's only row, "has none" writes a
row that its messages would contradict. So the API is asked: one message of that ticket, one
request, only for such tickets.
"""

from __future__ import annotations

from typing import Any

from gorgias_export.api.client import GorgiasClient


def has_no_messages(client: GorgiasClient, ticket: dict[str, Any]) -> bool:
    count = ticket.get("messages_count")
    if isinstance(count, int) and not isinstance(count, bool):
        return count == 0
    ticket_id = ticket.get("id")
    if not isinstance(ticket_id, int):
        return False
    params: list[tuple[str, str | int]] = [
        ("limit", 1),
        ("order_by", "created_datetime:asc"),
        ("ticket_id", ticket_id),
    ]
    return not client.fetch_page("/messages", params).items
