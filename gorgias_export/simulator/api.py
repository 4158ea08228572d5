"""The GET endpoints: parameter checks, keyset listing and the JSON bodies, as the real API answers.

Knows nothing of HTTP transport, auth, rate limits or faults; server.py wraps it with those.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from . import cursors
from .data import Dataset, sort_key
from .keyset import Page, Position, select
from .records import Obj
from .timefmt import parse_us

JSON = "application/json"

TICKET_PARAMS = frozenset(
    {"cursor", "limit", "order_by", "customer_id", "external_id", "ticket_ids", "trashed"}
)
MESSAGE_PARAMS = frozenset({"cursor", "limit", "order_by", "ticket_id"})
TICKET_ORDERS = ("created_datetime", "updated_datetime")
MESSAGE_ORDERS = ("created_datetime",)
_TICKET_PATH = re.compile(r"/api/tickets/([0-9]{1,18})")
_DIGITS = re.compile(r"[0-9]{1,18}")


@dataclass(frozen=True)
class Reply:
    status: int
    body: bytes
    content_type: str = JSON
    headers: tuple[tuple[str, str], ...] = field(default=())


def dumps(obj: Any) -> bytes:
    # UTF-8 rather than \u escapes, so that clients really have to decode every script.
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def error(status: int, msg: str, data: Obj | None = None) -> Reply:
    err: Obj = {"msg": msg} if data is None else {"msg": msg, "data": data}
    return Reply(status, dumps({"error": err}))


class BadRequest(Exception):
    def __init__(self, msg: str, data: Obj | None = None) -> None:
        super().__init__(msg)
        self.reply = error(400, msg, data)


class Api:
    def __init__(self, dataset: Dataset, book: cursors.CursorBook) -> None:
        self.dataset = dataset
        self.book = book

    def get(self, target: str, path: str, query: dict[str, list[str]], ttl: float | None) -> Reply:
        """Answer GET `target` (the raw request path and query, echoed as the list `uri`)."""
        path = path.rstrip("/") or "/"
        try:
            if path == "/api/account":
                _check_params(query, frozenset())
                return Reply(200, dumps(self.dataset.account))
            if path == "/api/tickets":
                return self._tickets(target, query, ttl)
            if path == "/api/messages":
                return self._messages(target, query, ttl)
            match = _TICKET_PATH.fullmatch(path)
            if match:
                return self._ticket(int(match.group(1)), query)
        except BadRequest as e:
            return e.reply
        return error(404, "Not found.")

    def _tickets(self, target: str, query: dict[str, list[str]], ttl: float | None) -> Reply:
        _check_params(query, TICKET_PARAMS)
        limit = _limit(query)
        order, descending = _order_by(query, TICKET_ORDERS)
        position = self._position(query, ttl)
        wanted = _ticket_ids(query)
        accept = self._ticket_filter(query)
        ds = self.dataset
        with ds.lock:
            keys = ds.ticket_keys(order)
            if wanted is not None:
                found = (ds.ticket(i) for i in wanted)
                keys = sorted(sort_key(t, order) for t in found if t is not None)
            page = select(keys, position, descending=descending, limit=limit, accept=accept)
            return self._page(target, ds.tickets_by_ids(page.ids), order, page)

    def _messages(self, target: str, query: dict[str, list[str]], ttl: float | None) -> Reply:
        _check_params(query, MESSAGE_PARAMS)
        limit = _limit(query)
        order, descending = _order_by(query, MESSAGE_ORDERS)
        position = self._position(query, ttl)
        ticket_id = _int_param(query, "ticket_id")
        ds = self.dataset
        with ds.lock:
            keys = ds.message_keys(ticket_id)
            page = select(keys, position, descending=descending, limit=limit)
            return self._page(target, ds.messages_by_ids(page.ids), order, page)

    def _ticket(self, ticket_id: int, query: dict[str, list[str]]) -> Reply:
        _check_params(query, frozenset({"relationships"}))
        relationships = _single(query, "relationships")
        if relationships not in {None, "custom_fields"}:
            raise BadRequest(
                "Invalid relationships.", {"relationships": ["Must be custom_fields."]}
            )
        ds = self.dataset
        with ds.lock:
            tk = ds.ticket(ticket_id)
            if tk is None:
                return error(404, "Not found.")
            detail = _detail(ds, tk, with_custom_fields=relationships is not None)
            return Reply(200, dumps(detail))

    def _page(self, target: str, items: list[Obj], order: str, page: Page) -> Reply:
        next_cursor = prev_cursor = None
        if items and page.has_after:
            next_cursor = self.book.issue("next", items[-1][order], items[-1]["id"])
        if items and page.has_before:
            prev_cursor = self.book.issue("prev", items[0][order], items[0]["id"])
        meta = {"prev_cursor": prev_cursor, "next_cursor": next_cursor}
        return Reply(200, dumps({"object": "list", "uri": target, "data": items, "meta": meta}))

    def _position(self, query: dict[str, list[str]], ttl: float | None) -> Position | None:
        token = _single(query, "cursor")
        if token is None:
            return None
        try:
            kind, value, item_id = self.book.redeem(token, ttl)
            return Position(kind, (parse_us(value), item_id))
        except (cursors.InvalidCursor, ValueError, TypeError) as e:
            raise BadRequest("Invalid cursor.") from e

    def _ticket_filter(self, query: dict[str, list[str]]) -> Callable[[int], bool] | None:
        """A per-ticket test for the filters no index covers; None when there are none."""
        customer_id = _int_param(query, "customer_id")
        external_id = _single(query, "external_id")
        trashed = _bool_param(query, "trashed")
        tests: list[Callable[[Obj], bool]] = []
        if customer_id is not None:
            tests.append(lambda t: bool(t["customer"]["id"] == customer_id))
        if external_id is not None:
            tests.append(lambda t: bool(t["external_id"] == external_id))
        if trashed is False:  # trashed tickets are listed by default, as on the real API
            tests.append(lambda t: t["trashed_datetime"] is None)
        if not tests:
            return None
        ticket = self.dataset.ticket

        def accept(ticket_id: int) -> bool:
            t = ticket(ticket_id)
            return t is not None and all(test(t) for test in tests)

        return accept


def _detail(ds: Dataset, tk: Obj, *, with_custom_fields: bool) -> Obj:
    """The single-ticket view: the list item plus its messages and a few fuller objects."""
    user, team = tk["assignee_user"], tk["assignee_team"]
    detail = dict(tk)
    detail.update(
        assignee_user_id=None if user is None else user["id"],
        assignee_team_id=None if team is None else team["id"],
        customer=ds.customer(tk["customer"]["id"]) or tk["customer"],
        requester=tk["customer"],
        messages=ds.messages_of(tk["id"]),
        satisfaction_survey=None,
        reply_options={tk["channel"]: {"answerable": tk["status"] == "open"}},
    )
    if with_custom_fields:
        detail["custom_fields"] = {
            "101": {"id": 101, "value": ("Shipping::Delayed", "Product::Damaged")[tk["id"] % 2]},
        }
    return detail


def _check_params(query: dict[str, list[str]], allowed: frozenset[str]) -> None:
    unknown = sorted(set(query) - allowed)
    if unknown:
        raise BadRequest("Unknown parameters.", {name: ["Unknown field."] for name in unknown})


def _single(query: dict[str, list[str]], name: str) -> str | None:
    values = query.get(name)
    if values is None:
        return None
    if len(values) != 1:
        raise BadRequest(f"Invalid {name}.", {name: ["Provide a single value."]})
    return values[0]


def _int_param(query: dict[str, list[str]], name: str) -> int | None:
    value = _single(query, name)
    if value is None:
        return None
    if not _DIGITS.fullmatch(value):
        raise BadRequest(f"Invalid {name}.", {name: ["Not a valid integer."]})
    return int(value)


def _bool_param(query: dict[str, list[str]], name: str) -> bool | None:
    value = _single(query, name)
    if value is None:
        return None
    if value.lower() not in {"true", "false"}:
        raise BadRequest(f"Invalid {name}.", {name: ["Not a valid boolean."]})
    return value.lower() == "true"


def _limit(query: dict[str, list[str]]) -> int:
    value = _single(query, "limit")
    if value is None:
        return 30
    if not _DIGITS.fullmatch(value) or not 1 <= int(value) <= 100:
        raise BadRequest("Invalid limit.", {"limit": ["Must be between 1 and 100."]})
    return int(value)


def _order_by(query: dict[str, list[str]], fields: tuple[str, ...]) -> tuple[str, bool]:
    """(field, descending); bare `field` means ascending, no parameter means newest first."""
    value = _single(query, "order_by")
    if value is None:
        return fields[0], True
    name, _, direction = value.partition(":")
    if name in fields and direction in {"", "asc", "desc"}:
        return name, direction == "desc"
    choices = ", ".join(f"{f}:{d}" for f in fields for d in ("asc", "desc"))
    raise BadRequest("Invalid order_by.", {"order_by": [f"Must be one of: {choices}."]})


def _ticket_ids(query: dict[str, list[str]]) -> list[int] | None:
    values = query.get("ticket_ids")
    if values is None:
        return None
    if not 1 <= len(values) <= 100 or not all(_DIGITS.fullmatch(v) for v in values):
        raise BadRequest(
            "Invalid ticket_ids.", {"ticket_ids": ["Give 1 to 100 integer ids, one per key."]}
        )
    return sorted({int(v) for v in values})
