"""The list envelope and cursors, shared by every list endpoint."""

from __future__ import annotations

from . import cursors
from .keyset import Page, Position
from .orders import Order
from .params import Query, single
from .records import Obj
from .replies import BadRequest, Reply, ServerFailure, dumps


def read_position(
    book: cursors.CursorBook, query: Query, ttl: float | None, order: Order
) -> Position | None:
    """Where the request's cursor says to continue; None without one; 400 when it is no good."""
    token = single(query, "cursor")
    if token is None:
        return None
    try:
        kind, value, item_id = book.redeem(token, ttl)
        return Position(kind, (order.parse(value), item_id))
    except cursors.CrashingCursor as e:
        raise ServerFailure() from e
    except (cursors.InvalidCursor, ValueError, TypeError) as e:
        raise BadRequest("Invalid cursor.") from e


def list_reply(
    book: cursors.CursorBook, target: str, items: list[Obj], order: Order, page: Page
) -> Reply:
    next_cursor = prev_cursor = None
    if items and page.has_after:
        next_cursor = book.issue("next", order.cursor_value(items[-1]), items[-1]["id"])
    if items and page.has_before:
        prev_cursor = book.issue("prev", order.cursor_value(items[0]), items[0]["id"])
    meta = {"prev_cursor": prev_cursor, "next_cursor": next_cursor}
    return Reply(200, dumps({"object": "list", "uri": target, "data": items, "meta": meta}))
