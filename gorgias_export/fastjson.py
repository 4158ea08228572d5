"""JSON through orjson where it gives exactly what the standard library gives, else through json.

Decoding the API's pages, encoding JSONL rows and the ticket index's entries took about a fifth
of the exporter's CPU with `json` (a third when writing JSONL); orjson does them 2 to 10 times
faster. It differs from `json`
in a few places, and the output must not change, so each function here checks for those first,
or falls back when orjson refuses:

- `loads`: orjson turns integers past 64 bits into floats, where json keeps them exact, so a
  document with any run of 19 digits goes to json. orjson refuses NaN, Infinity, lone surrogate
  escapes (`"\\ud83d"` alone), a byte-order mark and UTF-16/32, all of which json accepts: those
  go to json too, which then returns or raises exactly what it always did.
- `dumps`: orjson writes some floats in another form (`1e-7`, json `1e-07`) and NaN as `null`,
  so a value holding a float, or any type but str, int, bool, None, list, tuple and dict, is
  left to json. orjson refuses integers past 64 bits and lone surrogates: those are left to
  json as well.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

import orjson

# Every digit read as 0, so that one substring search finds a run of 19 digits of any kind.
_DIGITS_AS_ZERO = bytes.maketrans(b"123456789", b"000000000")
_NINETEEN_DIGITS = b"0" * 19  # the shortest integer that may not fit in 64 bits


def loads(document: bytes | str) -> Any:
    """`json.loads(document)`, the same objects and the same errors, faster."""
    data = document.encode("utf-8", "surrogatepass") if isinstance(document, str) else document
    if _NINETEEN_DIGITS in data.translate(_DIGITS_AS_ZERO):
        return json.loads(document)  # maybe an integer past 64 bits (or only a long string)
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        return json.loads(document)


_PLAIN = frozenset({str, int, bool, type(None)})


def _plain(values: Iterable[Any]) -> bool:
    """Whether these values (and everything inside them) are of types orjson writes as json
    does: no float, and nothing but str, int, bool, None, list, tuple and dict."""
    for value in values:
        kind = value.__class__
        if kind in _PLAIN:
            continue
        if kind is list or kind is tuple:
            if not _plain(value):
                return False
        elif kind is dict:
            if not _plain(value.values()):
                return False
        else:
            return False
    return True


def dumps(value: dict[str, Any] | list[Any]) -> bytes | None:
    """`json.dumps(value, ensure_ascii=False, separators=(",", ":"))` in UTF-8, faster; None
    when only json writes those bytes (or json would write a lone surrogate, which UTF-8
    cannot hold): the caller then takes its own json path."""
    if not _plain(value.values() if isinstance(value, dict) else value):
        return None
    try:
        return orjson.dumps(value)
    except TypeError:  # orjson.JSONEncodeError: an integer past 64 bits, a lone surrogate
        return None


def dumps_text(value: Any) -> str:
    """`json.dumps(value, ensure_ascii=False, separators=(",", ":"))`, for any value, faster
    for lists and objects: the compact JSON text of CSV cells, SQLite cells and staged pages."""
    if isinstance(value, dict | list):
        data = dumps(value)
        if data is not None:
            return data.decode("utf-8")
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def dumps_storable(value: Any) -> str:
    """`dumps_text(value)`, unless it holds a lone surrogate (from a broken `\\ud83d` escape in
    the API's JSON), which UTF-8, and so a file or SQLite, cannot hold: then the ASCII-escaped
    JSON, which `loads` turns back into the very same value."""
    text = dumps_text(value)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return json.dumps(value, separators=(",", ":"))
    return text
