"""Every hostile display name becomes one plain, portable path component."""

from __future__ import annotations

import pytest

from gorgias_export.output.safe_names import MAX_NAME_BYTES, numbered_name, safe_name
from gorgias_sim.uploads import HOSTILE_NAMES


@pytest.mark.parametrize(
    ("display", "expected"),
    [
        ("../../etc/passwd", "_.._etc_passwd"),
        ("..", "file"),
        (".", "file"),
        ("", "file"),
        (None, "file"),
        (12, "file"),
        ("CON.txt", "_CON.txt"),
        ("con", "_con"),
        ("nul", "_nul"),
        ("LPT1.log", "_LPT1.log"),
        ("COM9 .txt", "_COM9 .txt"),
        ("console.txt", "console.txt"),
        ("C:\\Windows\\win.ini", "C__Windows_win.ini"),
        ("/absolute/path.png", "_absolute_path.png"),
        ("invoice\u202egpj.exe", "invoicegpj.exe"),
        ("\u200f\u2066right-to-left\u2069.doc", "right-to-left.doc"),
        ("tab\there\x00\x07\x1b[31m.txt", "tabhere[31m.txt"),
        (" .hidden. ", "hidden"),
        ('what? <really> "yes" | no*', "what_ _really_ _yes_ _ no_"),
        ("写真.heic", "写真.heic"),
        ("e\u0301te\u0301.txt", "\u00e9t\u00e9.txt"),  # one spelling (NFC) of the same name
    ],
)
def test_hostile_names_become_safe(display: object, expected: str) -> None:
    assert safe_name(display) == expected


def test_a_long_name_is_cut_keeping_its_extension() -> None:
    name = safe_name("x" * 300 + ".pdf")
    assert name.endswith(".pdf")
    assert len(name.encode()) <= MAX_NAME_BYTES
    wide = safe_name("写" * 300 + ".jpeg")
    assert wide.endswith(".jpeg") and len(wide.encode()) <= MAX_NAME_BYTES
    wide.encode().decode()  # never cut inside a character


def test_a_long_extension_is_not_kept_whole() -> None:
    name = safe_name("a." + "b" * 300)
    assert len(name.encode()) <= MAX_NAME_BYTES


def test_every_simulated_hostile_name_is_one_plain_component() -> None:
    names = [numbered_name(n, display) for n, display in enumerate(HOSTILE_NAMES, start=1)]
    for name in names:
        assert "/" not in name and "\\" not in name and "\x00" not in name
        assert name not in ("", ".", "..") and not name.startswith(".")
        assert all(ch.isprintable() for ch in name), name
        assert len(name.encode()) <= MAX_NAME_BYTES + 8
    assert len(set(names)) == len(names)


def test_equal_names_in_one_message_stay_apart() -> None:
    assert numbered_name(1, "report.pdf") != numbered_name(2, "report.pdf")
    # Names that differ only by what sanitising removes, too.
    assert numbered_name(1, "a/b") != numbered_name(2, "a\\b")
