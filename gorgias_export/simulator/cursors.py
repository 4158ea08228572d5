"""Opaque cursors: base64url of `["next", <sort value>, <id>]`, like the real ones, plus expiry.

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
_MAX_REMEMBERED = 200_000  # tokens whose issue time is kept; the oldest are forgotten first


class InvalidCursor(ValueError):
    """Malformed, unknown or expired: the API answers all of these with the same 400."""


def encode(kind: str, value: str, item_id: int) -> str:
    raw = json.dumps([kind, value, item_id], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def decode(token: str) -> tuple[str, str, int]:
    """(kind, sort value, id); raises InvalidCursor for anything else."""
    try:
        raw = base64.b64decode(token + "=" * (-len(token) % 4), altchars=b"-_", validate=True)
        parsed = json.loads(raw)
    except (binascii.Error, ValueError, RecursionError) as e:  # JSON and UTF-8 errors included
        raise InvalidCursor(token) from e
    match parsed:
        case [str(kind), str(value), int(item_id)] if kind in KINDS and not isinstance(
            item_id, bool
        ):
            return kind, value, item_id
    raise InvalidCursor(token)


class CursorBook:
    """Issues tokens and remembers when, so that a TTL can be enforced; thread-safe."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._issued: dict[str, float] = {}
        self._lock = threading.Lock()

    def issue(self, kind: str, value: str, item_id: int) -> str:
        token = encode(kind, value, item_id)
        with self._lock:
            # Re-inserting moves the token to the end, so trimming drops the stalest first.
            self._issued.pop(token, None)
            self._issued[token] = self._clock()
            if len(self._issued) > _MAX_REMEMBERED:
                for old in list(self._issued)[: _MAX_REMEMBERED // 2]:
                    del self._issued[old]
        return token

    def redeem(self, token: str, ttl: float | None) -> tuple[str, str, int]:
        """Decode `token`, refusing it once older than `ttl` seconds (None: never)."""
        decoded = decode(token)
        if ttl is not None:
            with self._lock:
                issued = self._issued.get(token)
            if issued is None or self._clock() - issued > ttl:
                raise InvalidCursor(token)
        return decoded
