"""`/api/views/{id}/items`: a view's tickets, paged by links rather than `next_cursor`.

What public material shows of this endpoint (gorgias-api.md; Gorgias's own frontend fixtures):
its `meta` holds `prev_items` and `next_items`, each a link such as
`/api/views/1/items?direction=next&cursor=1593164300000000-false&ignored_item=7`, and no
`next_cursor`. The cursor names a sort value, not an item: the page after it *includes* the
items with that value, so the link names the page's last item in `ignored_item` to leave it out.
A client that follows only the cursor gets that item again at the top of every page, and loops
forever where at least a page of tickets shares one value (peers saw it loop). Modelled so.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from . import params
from .data import Dataset
from .keyset import Position, select
from .records import Obj
from .replies import BadRequest, Reply, dumps, error
from .timefmt import parse_us

VIEW_ITEMS_PATH = re.compile(r"/api/views/([0-9]{1,18})/items")
_PARAMS = frozenset({"cursor", "limit", "order_by", "direction", "ignored_item"})
_ORDERS = ("created_datetime", "updated_datetime")
_DEFAULT_ORDER = ("updated_datetime", True)  # a view's default: last updated first
_CURSOR = re.compile(r"(-?[0-9]{1,20})-(true|false)")
_ABOVE_ANY_ID = 1 << 62


def view_items(ds: Dataset, target: str, view_id: int, query: params.Query) -> Reply:
    params.check_params(query, _PARAMS)
    limit = params.limit(query)
    field, descending = params.order_by(query, _ORDERS, default=_DEFAULT_ORDER)
    direction = params.single(query, "direction") or "next"
    if direction not in {"next", "prev"}:
        raise BadRequest("Invalid direction.", {"direction": ["Must be next or prev."]})
    ignored = params.int_param(query, "ignored_item")
    position = _position(params.single(query, "cursor"), direction, descending)
    with ds.lock:
        in_view = ds.entities.ticket_test("view_id", view_id)
        if in_view is None:
            return error(404, "Not found.")
        accept = _accept(ds, in_view, ignored)
        page = select(
            ds.ticket_keys(field), position, descending=descending, limit=limit, accept=accept
        )
        items = ds.tickets_by_ids(page.ids)
    link = _link_maker(view_id, field)
    meta = {
        "current_cursor": params.single(query, "cursor"),
        "prev_items": link("prev", items[0]) if items and page.has_before else None,
        "next_items": link("next", items[-1]) if items and page.has_after else None,
    }
    return Reply(200, dumps({"object": "list", "uri": target, "data": items, "meta": meta}))


def _position(cursor: str | None, direction: str, descending: bool) -> Position | None:
    """Where the cursor says to go on, its own value included (the API's way, see above)."""
    if cursor is None:
        return None
    match = _CURSOR.fullmatch(cursor)
    if match is None:
        raise BadRequest("Invalid cursor.")
    value = int(match.group(1))
    # keyset.select starts strictly past a key: a key just past every item of this value, in
    # the direction of travel, makes the page start at the value itself.
    beyond = (direction == "next") == descending
    return Position(direction, (value, _ABOVE_ANY_ID if beyond else -1))


def _accept(
    ds: Dataset, in_view: Callable[[Obj], bool], ignored: int | None
) -> Callable[[int], bool]:
    def accept(ticket_id: int) -> bool:
        ticket = ds.ticket(ticket_id)
        return ticket_id != ignored and ticket is not None and in_view(ticket)

    return accept


def _link_maker(view_id: int, field: str) -> Callable[[str, Obj], str]:
    def link(direction: str, item: Obj) -> str:
        value = parse_us(item[field])
        return (
            f"/api/views/{view_id}/items?direction={direction}"
            f"&cursor={value}-false&ignored_item={item['id']}"
        )

    return link
