"""fastjson must give exactly what the standard library gives, or leave the work to it."""

from __future__ import annotations

import json
import math
import random
from typing import Any

import pytest

from gorgias_export import fastjson

DOCUMENTS = [
    b'{"a":1,"b":[true,false,null],"c":"\\u00e9\\n\\"","d":-0.0,"e":1E5}',
    b'{"a":1,"b":2,"a":3}',  # a repeated key: the last value, at the first key's place
    b'{"big":123456789012345678901234567890}',  # orjson would make this a float
    b'{"big":-9223372036854775809,"edge":18446744073709551615}',
    b'{"id":"1234567890123456789 in a string"}',
    b'{"float":0.1,"tiny":2.2250738585072011e-308,"many":1.2345678901234567890123}',
    b'{"inf":1e400}',  # json reads infinity, orjson refuses
    b"NaN",
    b'"\\ud83d alone"',  # a lone surrogate escape
    b'"\\ud83d\\ude00 pair"',
    b'"\xed\xa0\x80 encoded surrogate"',
    b'\xef\xbb\xbf{"bom":1}',
    '{"utf16":1}'.encode("utf-16-le"),
    '{"text":"日本語 \u2028"}'.encode(),
    b'"\x7f"',
    b" [1, 2] ",
    b"[" * 600 + b"]" * 600,
]
BROKEN = [b"", b"{", b'{"a":1,}', b'{"a":1}x', b'"\x01"', b"\xff", b"[1,]", b"nul"]


def outcome(decode: Any, document: bytes | str) -> tuple[str, str]:
    try:
        return ("ok", repr(decode(document)))
    except Exception as error:  # the same exception class, whatever it is
        return ("error", type(error).__name__)


@pytest.mark.parametrize("document", DOCUMENTS + BROKEN)
def test_loads_returns_or_raises_what_json_does(document: bytes) -> None:
    assert outcome(fastjson.loads, document) == outcome(json.loads, document)
    try:
        text = document.decode("utf-8")
    except UnicodeDecodeError:
        return
    assert outcome(fastjson.loads, text) == outcome(json.loads, text)


def test_loads_reads_random_numbers_as_json_does() -> None:
    rng = random.Random(7)
    for _ in range(5000):
        x = rng.random() * 10 ** rng.randint(-30, 30) * rng.choice([1, -1])
        for text in (repr(x), f"{x:.{rng.randint(1, 25)}g}", str(rng.randint(-(2**80), 2**80))):
            assert repr(fastjson.loads(text.encode())) == repr(json.loads(text))


VALUES: list[Any] = [
    {"a": 1, "b": 'é \u2028 \x85 \x00 \x1f \x7f \\ " /', "c": None, "d": True, "e": [1, "x"]},
    {"nested": {"deep": [{"x": [[], {}]}]}},
    ["😀", "\U0010ffff", ""],
    {"float": 1e-07},
    {"nan": math.nan},
    {"huge": 2**64},
    {"lone": "\ud83d"},
    {"tuple": (1, 2)},
    {1: "int key"},
    {"set": {1}},
]


@pytest.mark.parametrize("value", VALUES)
def test_dumps_writes_what_json_writes_or_leaves_it_to_json(value: Any) -> None:
    data = fastjson.dumps(value)
    if data is None:
        return
    assert data == json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()


@pytest.mark.parametrize("value", [*VALUES, "text é", None, 2**70, 1.5, "\ud83d"])
def test_dumps_text_is_the_text_json_writes_for_any_value(value: Any) -> None:
    def standard(v: Any) -> str:
        return json.dumps(v, ensure_ascii=False, separators=(",", ":"))

    assert outcome(fastjson.dumps_text, value) == outcome(standard, value)


def test_dumps_takes_the_fast_path_for_plain_rows() -> None:
    assert fastjson.dumps(VALUES[0]) is not None
    assert fastjson.dumps({"float": 1.5}) is None  # orjson and json may write floats apart


def test_every_character_is_escaped_as_json_escapes_it() -> None:
    text = "".join(chr(c) for c in range(0x2100) if not 0xD800 <= c < 0xE000)
    assert fastjson.dumps([text]) == json.dumps([text], ensure_ascii=False).encode()
