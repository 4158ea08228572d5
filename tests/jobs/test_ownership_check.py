"""`jobs/ownership.py` alone: the fingerprint, what each change is called, what looks like ours."""

from __future__ import annotations

from pathlib import Path

import pytest

from gorgias_export.errors import StateConflict
from gorgias_export.jobs.ownership import WINDOW, fingerprint, looks_like_output, verify

ROWS = b"".join(b"%d,row number %d\r\n" % (n, n) for n in range(20_000))  # several windows


def _refusal(path: Path, check: object, length: int) -> str:
    before = path.read_bytes()
    with pytest.raises(StateConflict) as refused:
        verify(path, check, length, "The state file s")
    assert path.read_bytes() == before
    return str(refused.value)


@pytest.mark.parametrize("open_end", [True, False])
def test_the_same_bytes_pass_and_a_torn_tail_passes_only_while_rows_may_follow(
    tmp_path: Path, open_end: bool
) -> None:
    path = tmp_path / "x.csv"
    path.write_bytes(ROWS)
    check = fingerprint(path, len(ROWS), open_end)
    verify(path, check, len(ROWS), "s")
    path.write_bytes(ROWS + b'7,"torn')
    if open_end:
        verify(path, check, len(ROWS), "s")
    else:
        assert "7 bytes after byte" in _refusal(path, check, len(ROWS))


def test_each_change_is_named(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_bytes(ROWS)
    length = len(ROWS) - 1000  # a checkpoint before the end: the rest is a torn tail
    check = fingerprint(path, length, True)
    path.write_bytes(b"\xef\xbb\xbf" + ROWS)
    assert "byte-order mark" in _refusal(path, check, length)
    path.write_bytes(b"other" + ROWS)
    assert "does not begin with the bytes" in _refusal(path, check, length)
    edited = bytearray(ROWS)
    edited[length - 5] ^= 1
    path.write_bytes(bytes(edited))
    assert f"changed before byte {length:,}" in _refusal(path, check, length)
    edited = bytearray(ROWS)
    edited[WINDOW + 10] ^= 1  # between the two windows: not seen, by design (cost)
    path.write_bytes(bytes(edited))
    verify(path, check, length, "s")


@pytest.mark.parametrize(
    "check",
    [None, [], {"length": 5}, {"length": "5", "head": "", "tail": "", "open": True}],
)
def test_a_malformed_or_mismatched_check_is_a_corrupt_state(tmp_path: Path, check: object) -> None:
    path = tmp_path / "x.csv"
    path.write_bytes(ROWS)
    assert "corrupt" in _refusal(path, check, len(ROWS))
    good = fingerprint(path, 100, True)
    assert "corrupt" in _refusal(path, good, 99)


@pytest.mark.parametrize(
    ("content", "header", "ours"),
    [
        (b"a,b\r\n1,2\r\n", b"a,b\r\n", True),
        (b"a,", b"a,b\r\n", True),  # a header torn by a crash
        (b"\xef\xbb\xbfa,b\r\n", b"a,b\r\n", False),
        (b"date,note\r\n", b"a,b\r\n", False),
        (b'{"id": 1}\n{"id": 2}\n', b"", True),
        (b'{"id": 1, "body": "torn', b"", True),
        (b"[1, 2]\n", b"", False),
        (b'\xef\xbb\xbf{"id": 1}\n', b"", False),
        (b"plain text\n", b"", False),
    ],
)
def test_what_looks_like_one_of_our_outputs(
    tmp_path: Path, content: bytes, header: bytes, ours: bool
) -> None:
    path = tmp_path / "x"
    path.write_bytes(content)
    assert looks_like_output(path, header) is ours
