"""Whether a cursor is in the API's documented encoding (docs/cursors.md), without a request.

Gorgias's cursors decode to a keyset position: standard base64 (alphabet `+/`, `=` padding) of
`json.dumps([direction, value..., id])` with json's default separators, `direction` "next" or
"prev", then one value per ordered field, then the id (three elements, or four for a listing
ordered on two fields). A walk marks the cursors it saves that decode so (`decodes` in its
position); a saved one so marked that no longer decodes was damaged or edited since, and is
refused before it can be sent (exports/progress.py). A cursor the API gave in another form, or
one saved by a release that did not mark them, is sent back as it is.
"""

from __future__ import annotations

import base64
import binascii
import json

_DIRECTIONS = ("next", "prev")
# A cursor names one position: far longer than one is not one (and is not worth decoding).
_MAX_LENGTH = 4096


def documented(cursor: str) -> bool:
    """Whether `cursor` decodes, byte for byte, as the API's own cursors do."""
    if not cursor or len(cursor) > _MAX_LENGTH:
        return False
    try:
        raw = base64.b64decode(cursor, validate=True)  # standard alphabet, padding required
        position = json.loads(raw)
    except (binascii.Error, ValueError, RecursionError):  # UTF-8 and JSON errors included
        return False
    if base64.b64encode(raw).decode("ascii") != cursor:  # non-canonical padding bits
        return False
    if not (isinstance(position, list) and 3 <= len(position) <= 4):
        return False
    direction, last = position[0], position[-1]
    if direction not in _DIRECTIONS or not isinstance(last, int) or isinstance(last, bool):
        return False
    return json.dumps(position).encode() == raw  # default separators, as the API writes
