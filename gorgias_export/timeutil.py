"""Datetimes as the API writes them (liberally parsed) and as we write them (ISO 8601, UTC)."""

from __future__ import annotations

import functools
import re
from datetime import UTC, date, datetime, timedelta

from gorgias_export.errors import UsageError

# Python 3.11's fromisoformat reads "Z", offsets and any number of fraction digits, which covers
# the API's habit of dropping the microseconds when they are zero (the Airbyte crash).


def parse_api_datetime(value: object) -> datetime | None:
    """An API datetime as an aware UTC datetime; None when absent or unreadable."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    if parsed.tzinfo is None:  # documentation examples are naive: they mean UTC
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def format_utc(moment: datetime) -> str:
    """ISO 8601 in UTC with a fixed width, so that strings sort like the instants they name."""
    text = moment.astimezone(UTC).isoformat(timespec="microseconds")  # ends in +00:00
    return text[:-6] + "Z"


def shift(value: str | None, delta: timedelta) -> str | None:
    """A normalized datetime string moved by `delta`; None when absent or unreadable."""
    parsed = parse_api_datetime(value) if value else None
    return format_utc(parsed + delta) if parsed else None


# The API's usual form, already in UTC: rewritten by slicing, since parsing and formatting half a
# million datetimes was a fifth of the exporter's CPU time. Anything else takes the full parser.
_UTC_FORM = re.compile(r"\d{4}-[01]\d-[0-3]\dT[0-2]\d:[0-5]\d:[0-6]\d(?:\.\d{6})?\+00:00")

# The same datetime string is normalized several times within a page: an item's order field by
# the page's order check (api/answers.py), then for its walk key, then for its row (a ticket's
# creation time, a message's sent time, most often equal to its creation time). Remembering the
# last thousand results (about 0.2 MB) makes those repeats a lookup instead of a regular
# expression and two slices (8,000 instructions each): 4% of a 100k export's CPU. Dropped
# whole when full, so memory stays bounded; only forms the fast path accepts are kept.
_NORMALIZED: dict[str, str] = {}
_NORMALIZED_LIMIT = 1024  # a page holds at most some 300 distinct datetimes


def _fast_normalize(value: str) -> str | None:
    normalized = _NORMALIZED.get(value)
    if normalized is not None:
        return normalized
    if _UTC_FORM.fullmatch(value) and _real_day(value[:10]):
        normalized = value[:26] + "Z" if len(value) == 32 else value[:19] + ".000000Z"
        if len(_NORMALIZED) >= _NORMALIZED_LIMIT:
            _NORMALIZED.clear()
        _NORMALIZED[value] = normalized
        return normalized
    return None


@functools.lru_cache(maxsize=8192)
def _real_day(day: str) -> bool:
    """Whether YYYY-MM-DD exists (no 30 February); cached, since rows share few days."""
    try:
        date.fromisoformat(day)
    except ValueError:
        return False
    return True


def normalize_api_datetime(value: object) -> object:
    """An output cell: normalized UTC when readable, else the value as the API sent it."""
    if value is None:
        return None
    if isinstance(value, str):
        fast = _fast_normalize(value)
        if fast is not None:
            return fast
    parsed = parse_api_datetime(value)
    return format_utc(parsed) if parsed is not None else value


def sort_key(value: object) -> str:
    """A comparable string for a datetime field; unreadable values sort first, never crash."""
    if isinstance(value, str):
        fast = _fast_normalize(value)
        if fast is not None:
            return fast
    parsed = parse_api_datetime(value)
    return format_utc(parsed) if parsed is not None else ""


_DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")

ACCEPTED_FORMS = "YYYY-MM-DD, YYYY-MM-DDTHH:MM[:SS], optionally with Z or an offset like +02:00"


_TIME_PART = re.compile(r"T(\d{2}):?(\d{2})?(?::?(\d{2}))?(\.\d+)?", re.IGNORECASE)


def parse_cli_datetime(value: str, flag: str, end_of: bool = False) -> datetime:
    """A --since/--until value: a date (midnight UTC) or an ISO datetime (UTC unless offset).

    With `end_of`, the value names the whole period it is written to: `2024-03-31` means up to
    the last microsecond of that day, `…T23:59:59` up to the end of that second. An inclusive
    --until then never drops the messages of its last day or second.
    """
    text = value.strip()
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise UsageError(f"{flag} {value!r} is not a date; use {ACCEPTED_FORMS}.") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    if end_of:
        parsed += _precision(text) - timedelta(microseconds=1)
    return parsed.astimezone(UTC)


def _precision(text: str) -> timedelta:
    """The length of the period a written datetime names: a day, an hour, a minute, a second."""
    if _DATE_ONLY.match(text):
        return timedelta(days=1)
    match = _TIME_PART.search(text)
    if match is None or match.group(4):
        return timedelta(microseconds=1)
    if match.group(3):
        return timedelta(seconds=1)
    if match.group(2):
        return timedelta(minutes=1)
    return timedelta(hours=1)
