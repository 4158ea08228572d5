"""Reading query parameters the way the API does: strictly, with a 400 naming the bad parameter."""

from __future__ import annotations

import re
from collections.abc import Mapping

from .replies import BadRequest
from .timefmt import parse_us

Query = dict[str, list[str]]

DIGITS = re.compile(r"[0-9]{1,18}")


def check_params(query: Query, allowed: frozenset[str]) -> None:
    unknown = sorted(set(query) - allowed)
    if unknown:
        raise BadRequest("Unknown parameters.", {name: ["Unknown field."] for name in unknown})


def single(query: Query, name: str) -> str | None:
    values = query.get(name)
    if values is None:
        return None
    if len(values) != 1:
        raise BadRequest(f"Invalid {name}.", {name: ["Provide a single value."]})
    return values[0]


def int_param(query: Query, name: str) -> int | None:
    value = single(query, name)
    if value is None:
        return None
    if not DIGITS.fullmatch(value):
        raise BadRequest(f"Invalid {name}.", {name: ["Not a valid integer."]})
    return int(value)


def int_list(query: Query, name: str) -> list[int] | None:
    """A repeated integer parameter (`user_ids=1&user_ids=2`); None when absent."""
    values = query.get(name)
    if values is None:
        return None
    if not values or not all(DIGITS.fullmatch(v) for v in values):
        raise BadRequest(f"Invalid {name}.", {name: ["Give integer ids, one per key."]})
    return [int(v) for v in values]


def choice_list(query: Query, name: str, known: frozenset[str]) -> list[str] | None:
    """A repeated parameter whose values come from a fixed set; the 400 names the unknown ones."""
    values = query.get(name)
    if values is None:
        return None
    unknown = sorted(set(values) - known)
    if unknown:
        listed = ", ".join(repr(v) for v in unknown)
        raise BadRequest(f"Invalid {name}: unknown {listed}.", {name: [f"Unknown: {listed}."]})
    return values


def bool_param(query: Query, name: str) -> bool | None:
    value = single(query, name)
    if value is None:
        return None
    if value.lower() not in {"true", "false"}:
        raise BadRequest(f"Invalid {name}.", {name: ["Not a valid boolean."]})
    return value.lower() == "true"


def datetime_param(query: Query, name: str) -> int | None:
    """An ISO 8601 datetime as microseconds since the epoch; naive means UTC."""
    value = single(query, name)
    if value is None:
        return None
    try:
        return parse_us(value)
    except ValueError as e:
        raise BadRequest(f"Invalid {name}.", {name: ["Not a valid datetime."]}) from e


def limit(query: Query) -> int:
    value = single(query, "limit")
    if value is None:
        return 30
    if not DIGITS.fullmatch(value) or not 1 <= int(value) <= 100:
        raise BadRequest("Invalid limit.", {"limit": ["Must be between 1 and 100."]})
    return int(value)


def order_by(
    query: Query,
    fields: tuple[str, ...],
    *,
    default: tuple[str, bool] | None = None,
    compound: Mapping[str, tuple[str, bool]] | None = None,
) -> tuple[str, bool]:
    """(order name, descending). `field`, `field:asc` and `field:desc` for each of `fields`, plus
    the exact strings of `compound`; no parameter means `default`, else newest first."""
    value = single(query, "order_by")
    if value is None:
        return default or (fields[0], True)
    if compound and value in compound:
        return compound[value]
    name, _, direction = value.partition(":")
    if name in fields and direction in {"", "asc", "desc"}:
        return name, direction == "desc"
    choices = [f"{f}:{d}" for f in fields for d in ("asc", "desc")] + list(compound or ())
    raise BadRequest("Invalid order_by.", {"order_by": [f"Must be one of: {', '.join(choices)}."]})
