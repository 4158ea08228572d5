"""Reading the API's answers: list pages (cursors, a view's `next_items` links, and the checks
that keep a malformed page from passing for the end of a listing) and error bodies.

Pure functions of an answer's payload or body: the client (client.py) fetches, retries and maps
statuses to errors; what a page or an error body says is decided here.
"""

from __future__ import annotations

import itertools
import json
import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from gorgias_export.errors import ApiError
from gorgias_export.timeutil import sort_key

Params = Sequence[tuple[str, str | int]]

# The server's reason for a 403 is shown as it came, but a body is not ours to print in full.
REASON_LIMIT = 300


@dataclass
class Page:
    """One page of a list endpoint: its items, and the cursor to the page after it."""

    items: list[dict[str, Any]]
    next_cursor: str | None


# The one listing known to page by links (`meta.next_items`) instead of `meta.next_cursor`.
_LINK_PAGED = re.compile(r"/views/[^/]+/items/?")


def link_paged(path: str) -> bool:
    """Whether `path` (under /api) pages with `meta.next_items` links: a view's items. Their
    walk's cursor is then the link's query string (docs/walks.md, "View items")."""
    return _LINK_PAGED.fullmatch(path) is not None


def with_cursor(path: str, params: Params, cursor: str | None) -> Params:
    if not cursor:
        return params
    if not link_paged(path):
        return [*params, ("cursor", cursor)]
    # The link's own parameters (cursor, ignored_item, direction), as the API wrote them;
    # ours (limit, order_by, filters) are sent again and win, as on every other listing.
    ours = {name for name, _ in params}
    linked = [(k, v) for k, v in parse_qsl(cursor, keep_blank_values=True) if k not in ours]
    if not any(name == "direction" for name, _ in linked):
        linked.append(("direction", "next"))  # what the links and the peers send
    return [*params, *linked]


def list_page(path: str, payload: dict[str, Any]) -> Page:
    meta = payload.get("meta")
    meta = meta if isinstance(meta, dict) else {}
    items = payload["data"]
    if link_paged(path):
        link = meta.get("next_items")
        if items and (
            not isinstance(link, str | None)
            or (link is None and isinstance(meta.get("next_cursor"), str))
        ):
            # Read as links, this page would look like the last one.
            raise ApiError(
                f"The API paged {path} otherwise than with next_items links, which is how "
                "gorgias-export reads it; stopping rather than ending after the first page."
            )
        return Page(items, _next_link(path, link, items))
    next_cursor = meta.get("next_cursor")
    if next_cursor is None and isinstance(meta.get("next_items"), str):
        # Read as a cursor listing, this page would look like the last one.
        raise ApiError(
            f"The API pages {path} with next_items links, which gorgias-export follows only "
            "on /api/views/{id}/items; stopping rather than ending after the first page."
        )
    if not isinstance(next_cursor, str | None):
        # Only null marks the last page.
        raise ApiError(
            f"The API sent a next_cursor on {path} that is not a cursor (a "
            f"{type(next_cursor).__name__}); stopping rather than taking this page for the last."
        )
    return Page(items, next_cursor)


def _next_link(path: str, link: Any, items: list[dict[str, Any]]) -> str | None:
    """The query of a `next_items` link, kept as sent (it is the walk's opaque cursor); None
    at the end: no link, or an empty page (nothing lies past its cursor)."""
    if not isinstance(link, str) or not link or not items:
        return None
    query = urlsplit(link).query
    if not any(name == "cursor" for name, _ in parse_qsl(query, keep_blank_values=True)):
        # Following it would read the first page again, and again.
        raise ApiError(
            f"The API's next_items link on {path} has no cursor ({link[:200]}); stopping "
            "rather than reading the first page again."
        )
    return query


def envelope_problem(path: str, payload: dict[str, Any]) -> str | None:
    """What is wrong with a list page's envelope (its `data` was checked), or None. The API
    documents `meta` as an object holding `next_cursor`, a string or null (view items:
    `next_items`, a link or null); anything else is not a page to trust with the end of a
    listing (docs/walks.md, "Malformed pages")."""
    meta = payload.get("meta")
    if not isinstance(meta, dict):
        return "without a 'meta' object"
    name = "next_items" if link_paged(path) else "next_cursor"
    value = meta.get(name)
    if value is not None and (not isinstance(value, str) or not value):
        return f"whose meta.{name} is {_shown(value)}, not a string or null"
    return None


def order_problem(params: Params, items: list[dict[str, Any]]) -> str | None:
    """Whether a page's items follow the `order_by` asked for, by its time field's value (ties
    are not judged: the API's order among equal times is not documented). Fields that are not
    times (`priority`, names) are not checked."""
    orders = [str(value) for name, value in params if name == "order_by"]
    field, _, direction = (orders[-1] if orders else "").partition(":")
    if not field.endswith("_datetime") or direction not in ("asc", "desc"):
        return None
    values = [value for value in (sort_key(item.get(field)) for item in items) if value]
    pairs = itertools.pairwise(values)
    if any((b > a) if direction == "desc" else (b < a) for a, b in pairs):
        return f"with its items out of the order asked for ({field}:{direction})"
    return None


def _shown(value: Any) -> str:
    text = json.dumps(value)
    return text if len(text) <= 40 else text[:39] + "…"


def is_list_envelope(payload: dict[str, Any]) -> bool:
    data = payload.get("data")
    return isinstance(data, list) and all(isinstance(item, dict) for item in data)


def error_message(body: bytes, redact: Callable[[str], str] = str) -> str:
    """`: <msg>` from a Gorgias error body, or '' when there is none."""
    message = server_reason(body, 200, redact)
    return f": {message.rstrip('. ')}" if message else ""  # it goes inside our own sentence


def server_reason(
    body: bytes, limit: int = REASON_LIMIT, redact: Callable[[str], str] = str
) -> str:
    """The `error.msg` of a Gorgias error body, made safe to print on one line: control and
    format characters (newlines, escapes, bidi overrides) become spaces, runs of spaces one,
    the credentials `redact`ed, and past `limit` characters it is cut with an ellipsis. '' when
    the body has none. Redacted before the cut: a cut through an echoed key would leave a part
    of it that no redaction afterwards recognises."""
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return ""
    error = payload.get("error") if isinstance(payload, dict) else None
    message = error.get("msg") if isinstance(error, dict) else None
    if not isinstance(message, str):
        return ""
    printable = "".join(" " if unicodedata.category(c)[0] == "C" else c for c in message)
    text = redact(" ".join(printable.split()))
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def looks_like_html(body: bytes) -> bool:
    return body.lstrip()[:15].lower().startswith((b"<!doctype", b"<html"))
