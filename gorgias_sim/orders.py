"""The sort orders of list endpoints: how items sort, and what a cursor carries to name a place.

Pages follow `(sort value, id)` keys (see keyset.py). The cursor carries the item's value of the
order field as the API shows it, and `parse` turns that back into the sort value; a cursor whose
value does not fit the order raises ValueError or TypeError, which the API answers with a 400.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .cursors import CursorValue
from .records import Obj
from .timefmt import SECOND, format_us, parse_us


@dataclass(frozen=True)
class Order:
    name: str  # as `order_by` names it, without the direction
    key: Callable[[Obj], Any]  # the sort value of a shown item
    cursor_value: Callable[[Obj], CursorValue]
    parse: Callable[[CursorValue], Any]  # a cursor's value back to a sort value


def datetime_order(field: str) -> Order:
    # The cursor holds the datetime naive, with microseconds (`2022-01-24T13:11:44.812717`),
    # as the real API's do, not as the item shows it.
    return Order(
        field, lambda o: parse_us(o[field]), lambda o: cursor_datetime(o[field]), _parse_datetime
    )


def text_order(name: str, *path: str) -> Order:
    """A text field, possibly nested (`role.name`); null sorts as the empty string."""
    keys = path or (name,)

    def value(o: Obj) -> str:
        for k in keys:
            o = o[k]
        return str(o) if o is not None else ""

    return Order(name, value, value, _parse_text)


def int_order(field: str) -> Order:
    return Order(field, lambda o: int(o[field]), lambda o: int(o[field]), _parse_int)


def cursor_datetime(shown: str) -> str:
    us = parse_us(shown)
    return format_us(us)[:19] + f".{us % SECOND:06d}"


def _parse_datetime(value: CursorValue) -> int:
    if not isinstance(value, str):
        raise TypeError("a datetime cursor holds a string")
    if len(value) != 26 or value[19] != ".":
        # The real form only: naive, with microseconds (an offset or a Z is another encoding)
        raise ValueError("a datetime cursor holds YYYY-MM-DDTHH:MM:SS.ffffff")
    return parse_us(value)


def _parse_text(value: CursorValue) -> str:
    if not isinstance(value, str):
        raise TypeError("a text cursor holds a string")
    return value


def _parse_int(value: CursorValue) -> int:
    if not isinstance(value, int):
        raise TypeError("a number cursor holds an integer")
    return value


def _parse_pair(value: CursorValue) -> tuple[int, str]:
    match value:
        case [int(usage), str(name)]:
            return usage, name
    raise TypeError("a usage,name cursor holds [usage, name]")


# Tags' `usage:desc,name:desc`: the most used first, ties by name.
USAGE_THEN_NAME = Order(
    "usage,name",
    lambda o: (int(o["usage"]), str(o["name"])),
    lambda o: [int(o["usage"]), str(o["name"])],
    _parse_pair,
)


_CREATED = datetime_order("created_datetime")

# Every order each entity endpoint accepts, by the name `order_by` gives it; the first is the
# default unless DEFAULT_ORDERS says otherwise.
ENTITY_ORDERS: dict[str, tuple[Order, ...]] = {
    "customers": (_CREATED, datetime_order("updated_datetime")),
    "satisfaction-surveys": (_CREATED,),
    "events": (_CREATED,),
    "tags": (_CREATED, text_order("name"), USAGE_THEN_NAME),
    "users": (
        _CREATED,
        text_order("name"),
        text_order("email"),
        text_order("role.name", "role", "name"),
    ),
    "teams": (_CREATED,),
    "views": (_CREATED,),
    "integrations": (_CREATED,),
    "macros": (_CREATED,),
    "rules": (_CREATED,),
    "custom-fields": (int_order("priority"),),
    "phone/voice-calls": (_CREATED,),
    "phone/voice-call-events": (_CREATED,),
    "phone/voice-call-recordings": (_CREATED,),
    "jobs": (_CREATED,),
    "account/settings": (int_order("id"),),  # settings carry no datetime
}
# (order, descending) when `order_by` is absent; the others list newest first, like tickets.
DEFAULT_ORDERS: dict[str, tuple[str, bool]] = {
    "users": ("name", False),  # documented
    "custom-fields": ("priority", False),  # the order the helpdesk shows fields in
    "account/settings": ("id", False),
}


def default_order(entity: str) -> tuple[str, bool]:
    return DEFAULT_ORDERS.get(entity, (ENTITY_ORDERS[entity][0].name, True))
