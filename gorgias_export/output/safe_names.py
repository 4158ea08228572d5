"""File names from display names a sender chose: safe on every filesystem we may be copied to.

An attachment's `name` is whatever the sender called the file: `../../etc/passwd`, `CON.txt`,
300 characters, control or right-to-left override characters, or the same name twice in one
message. The name of a stored file is built here from `<n>-<sanitised name>`, inside a directory
named by ids only (attachment_paths.py), so that a display name can never climb out of the
directory, nor reach another file's name:
- path separators (both kinds), and the characters Windows refuses, become `_`;
- control and format characters (C0, C1, the bidirectional overrides and isolates, zero-width
  joiners: Unicode categories Cc and Cf) are dropped, so a name cannot pose as another in a
  listing (`gpj.exe` shown as `exe.jpg`);
- leading and trailing dots and spaces go (no `.`, `..`, hidden files or names Windows trims);
- a Windows reserved device name (`CON`, `nul.txt`, `COM1`, ...) gets a `_` in front;
- the result is cut to `MAX_NAME_BYTES` of UTF-8, keeping a short extension;
- nothing left: `file`.
The `<n>-` prefix (the attachment's position in its message) keeps two equal names apart.
"""

from __future__ import annotations

import re
import unicodedata

MAX_NAME_BYTES = 120  # well under the 255 bytes of ext4, NTFS and APFS names, with the prefix
_MAX_EXTENSION = 16  # characters kept of an extension when a long name is cut
_UNSAFE = re.compile(r'[/\\:*?"<>|]')
_RESERVED = frozenset(
    ["CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$"]
    + [f"{device}{n}" for device in ("COM", "LPT") for n in "123456789¹²³"]
)


def safe_name(display: object, fallback: str = "file") -> str:
    """A file name made from `display` that is one plain, portable path component."""
    text = display if isinstance(display, str) else ""
    text = unicodedata.normalize("NFC", text)
    text = "".join(ch for ch in text if unicodedata.category(ch) not in ("Cc", "Cf", "Cs"))
    text = _UNSAFE.sub("_", text)
    text = " ".join(text.split())  # tabs, odd spaces and runs of them: one space
    text = text.strip(". ")
    if not text:
        return fallback
    stem = text.split(".", 1)[0].rstrip(" ")
    if stem.upper() in _RESERVED:
        text = "_" + text
    return _cut(text)


def numbered_name(position: int, display: object) -> str:
    """`<position>-<safe name>`: unique within a message even when display names repeat."""
    return f"{position}-{safe_name(display)}"


def _cut(text: str) -> str:
    if len(text.encode("utf-8")) <= MAX_NAME_BYTES:
        return text
    stem, dot, extension = text.rpartition(".")
    if not dot or not stem or len(extension) > _MAX_EXTENSION:
        stem, extension = text, ""
    suffix = f".{extension}" if extension else ""
    room = MAX_NAME_BYTES - len(suffix.encode("utf-8"))
    cut = stem.encode("utf-8")[:room].decode("utf-8", "ignore").rstrip(". ")
    return (cut or "file") + suffix
