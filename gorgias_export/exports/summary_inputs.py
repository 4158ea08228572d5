"""What the per-ticket summary needs beyond the conversation walks, and what each costs:

- the ticket custom field definitions (`/custom-fields?object_type=Ticket`, with and without
  `archived=true`, since whether archived fields are listed by default is not documented):
  two requests, once per export, as the first run fixes the columns;
- the satisfaction surveys, `/satisfaction-surveys`, 100 a request: every one on the first run,
  then those created since the run's window floor less LOOKBACK (a score can come days after
  the survey was sent);
- with `--custom-fields`, each written ticket's values: no listing carries them, so one
  `/tickets/{id}?relationships=custom_fields` request per ticket (a ticket deleted since, 404,
  has none).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

from gorgias_export.api.client import GorgiasClient, Params
from gorgias_export.errors import ApiError, NotFound
from gorgias_export.exports.progress import RunProgress
from gorgias_export.exports.ticket_summary import Column, custom_field_columns, custom_field_values
from gorgias_export.output.staging import ConversationStage
from gorgias_export.timeutil import shift, sort_key

PAGE = 100
LOOKBACK = timedelta(days=30)  # as the satisfaction-surveys command's reruns
MAX_PAGES = 1_000_000  # 100 million surveys: a bound on a listing that never ends
Item = dict[str, Any]


def pages(client: GorgiasClient, path: str, params: Params) -> Iterator[list[Item]]:
    """Every page of a listing, first to last; a repeated cursor ends it with an error rather
    than a loop."""
    cursor: str | None = None
    seen: set[str] = set()
    for _ in range(MAX_PAGES):
        page = client.fetch_page(path, params, cursor)
        yield page.items
        cursor = page.next_cursor
        if cursor is None:
            return
        if cursor in seen:
            raise ApiError(f"The API repeated a cursor on {path}; rerun to continue.")
        seen.add(cursor)
    raise ApiError(f"The listing {path} did not end after {MAX_PAGES:,} pages.")


def fetch_field_columns(client: GorgiasClient) -> list[Column]:
    """The `cf_<label>` columns of the account's ticket custom fields, archived ones included."""
    definitions: dict[int, Item] = {}
    for extra in ((), (("archived", "true"),)):
        params: Params = [
            ("object_type", "Ticket"),
            *extra,
            ("limit", PAGE),
            ("order_by", "priority:asc"),
        ]
        for items in pages(client, "/custom-fields", params):
            definitions.update((d["id"], d) for d in items if isinstance(d.get("id"), int))
    return custom_field_columns(definitions.values())


def stage_surveys(
    client: GorgiasClient, stage: ConversationStage, run: RunProgress, touch: bool = True
) -> None:
    """Stage the surveys this run must see: all on a backfill; on a window run, newest first
    down to the window's floor less LOOKBACK. `touch`: as ConversationStage.surveys."""
    if run.plan == "backfill" or run.lower_tickets is None:
        asc: Params = [("limit", PAGE), ("order_by", "created_datetime:asc")]
        for items in pages(client, "/satisfaction-surveys", asc):
            stage.surveys(items, touch)
        return
    floor = shift(run.lower_tickets, -LOOKBACK) or ""
    desc: Params = [("limit", PAGE), ("order_by", "created_datetime:desc")]
    for items in pages(client, "/satisfaction-surveys", desc):
        stage.surveys(items, touch)
        if all(sort_key(s.get("created_datetime")) < floor for s in items):
            return


def fetch_field_values(client: GorgiasClient, ticket_id: int) -> dict[int, Any]:
    """One ticket's custom field values (one request)."""
    try:
        detail = client.get_json(f"/tickets/{ticket_id}", [("relationships", "custom_fields")])
    except NotFound:  # deleted since it was listed: no values to show
        return {}
    return custom_field_values(detail) or {}
