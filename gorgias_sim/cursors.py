"""Opaque cursors: base64url of `["next", <sort value>, <id>]`, like the real ones, plus expiry.

The sort value is the item's value of the order field as the API shows it: a datetime string for
the datetime orders, a name or a number for the others, a list for a compound order.

The issue time is kept server-side rather than inside the token, so tokens decode to exactly the
three-element shape the real API uses; with a TTL set, a token this server never issued is expired.
"""

from __future__ import annotations

import base64
import binascii
import json
import threading
from collections.abc import Callable

KINDS = ("next", "prev")
CursorValue = str | int | list[str | int]
_MAX_REMEMBERED = 200_000  # tokens whose issue time is kept; the oldest are forgotten first


class InvalidCursor(ValueError):
    """Malformed, unknown or expired: the API answers all of these with the same 400."""


def encode(kind: str, value: CursorValue, item_id: int) -> str:
    raw = json.dumps([kind, value, item_id], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def decode(token: str) -> tuple[str, CursorValue, int]:
    """(kind, sort value, id); raises InvalidCursor for anything else."""
    try:
        raw = base64.b64decode(token + "=" * (-len(token) % 4), altchars=b"-_", validate=True)
        parsed = json.loads(raw)
    except (binascii.Error, ValueError, RecursionError) as e:  # JSON and UTF-8 errors included
        raise InvalidCursor(token) from e
    match parsed:
        case [str(kind), value, int(item_id)] if (
            kind in KINDS and _is_value(value) and not isinstance(item_id, bool)
        ):
            return kind, value, item_id
    raise InvalidCursor(token)


def _is_value(value: object) -> bool:
    if isinstance(value, list):
        return all(_is_scalar(v) for v in value)
    return _is_scalar(value)


def _is_scalar(value: object) -> bool:
    return isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool))


class CursorBook:
    """Issues tokens and remembers when, so that a TTL can be enforced; thread-safe."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._issued: dict[str, float] = {}
        self._lock = threading.Lock()

    def issue(self, kind: str, value: CursorValue, item_id: int) -> str:
        token = encode(kind, value, item_id)
        with self._lock:
            # Re-inserting moves the token to the end, so trimming drops the stalest first.
            self._issued.pop(token, None)
            self._issued[token] = self._clock()
            if len(self._issued) > _MAX_REMEMBERED:
                for old in list(self._issued)[: _MAX_REMEMBERED // 2]:
                    del self._issued[old]
        return token

    def redeem(self, token: str, ttl: float | None) -> tuple[str, CursorValue, int]:
        """Decode `token`, refusing it once older than `ttl` seconds (None: never)."""
        decoded = decode(token)
        if ttl is not None:
            with self._lock:
                issued = self._issued.get(token)
            if issued is None or self._clock() - issued > ttl:
                raise InvalidCursor(token)
        return decoded
