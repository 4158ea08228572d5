"""Opaque cursors in the real API's encoding, plus expiry and a policy for hand-built ones.

A token is standard base64, with `=` padding, of `json.dumps(["next", <sort value>, <id>])`
with json's default separators, as Gorgias's own fixtures show
(`WyJuZXh0IiwgIjIwMjItMDEtMjRUMTM6MTE6NDQuODEyNzE3IiwgMTEwMF0=`). The sort value is the item's
value of the order field: a naive datetime with microseconds for the datetime orders, a name or
a number for the others, a list for a compound order.

Decoding is strict: a token in any other encoding (urlsafe, unpadded, compact JSON, a datetime
with an offset) is malformed, so a client that builds cursors by hand is held to the real form.

The issue time is kept server-side rather than inside the token, so tokens decode to exactly the
three-element shape the real API uses; with a TTL set, a token this server never issued is expired.
`SimConfig.built_cursors` says how a token it never issued is answered otherwise: taken, or
refused with a 400 or a 500 (whether the real API takes them is unsure).
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
    """Malformed, unknown or expired: answered with a 400 (or, by policy, a 500)."""


class CrashingCursor(InvalidCursor):
    """A cursor this server answers with a 500, as an API whose cursor code fails on a token it
    did not write might."""


def encode(kind: str, value: CursorValue, item_id: int) -> str:
    raw = json.dumps([kind, value, item_id]).encode()  # default separators: ", "
    return base64.b64encode(raw).decode("ascii")


def decode(token: str) -> tuple[str, CursorValue, int]:
    """(kind, sort value, id); raises InvalidCursor for anything else, a token in another
    encoding of the same list too."""
    try:
        raw = base64.b64decode(token, validate=True)  # standard alphabet, padding required
        parsed = json.loads(raw)
    except (binascii.Error, ValueError, RecursionError) as e:  # JSON and UTF-8 errors included
        raise InvalidCursor(token) from e
    match parsed:
        case [str(kind), value, int(item_id)] if (
            kind in KINDS and _is_value(value) and not isinstance(item_id, bool)
        ):
            if encode(kind, value, item_id) != token:  # compact JSON, say
                raise InvalidCursor(token)
            return kind, value, item_id
    raise InvalidCursor(token)


def _is_value(value: object) -> bool:
    if isinstance(value, list):
        return all(_is_scalar(v) for v in value)
    return _is_scalar(value)


def _is_scalar(value: object) -> bool:
    return isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool))


class CursorBook:
    """Issues tokens and remembers when, so that a TTL can be enforced; thread-safe.

    `built_cursors()` gives the policy for tokens it never issued (SimConfig.built_cursors,
    read on every request so that a test may change it while the server runs)."""

    def __init__(
        self, clock: Callable[[], float], built_cursors: Callable[[], str] = lambda: "accept"
    ) -> None:
        self._clock = clock
        self._built_cursors = built_cursors
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
        """Decode `token`, refusing it once older than `ttl` seconds (None: never), and a
        token never issued as the built-cursor policy says."""
        policy = self._built_cursors()
        try:
            decoded = decode(token)
        except InvalidCursor:
            if policy == "refuse-5xx":
                raise CrashingCursor(token) from None
            raise
        with self._lock:
            issued = self._issued.get(token)
        if issued is None and policy != "accept":
            raise (CrashingCursor if policy == "refuse-5xx" else InvalidCursor)(token)
        if ttl is not None and (issued is None or self._clock() - issued > ttl):
            raise InvalidCursor(token)
        return decoded
