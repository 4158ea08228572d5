"""Datetimes as the API writes them, kept internally as integer microseconds since the epoch.

Integers sort and compare exactly, which keyset paging needs; the strings follow the real API, which
leaves the microseconds out when they are zero (`2024-11-01T10:59:29+00:00`).
"""

from __future__ import annotations

import time
from datetime import UTC, date, datetime, timedelta

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
SECOND = 1_000_000
MINUTE = 60 * SECOND
HOUR = 60 * MINUTE
DAY = 24 * HOUR
_ONE_US = timedelta(microseconds=1)


_EPOCH_DATE = date(1970, 1, 1)
_day_text: dict[int, str] = {}  # days since the epoch -> "YYYY-MM-DD"; a few thousand at most


def format_us(us: int) -> str:
    """Same text as `datetime.isoformat()`, twice as fast: generation formats ~200k of these."""
    seconds, micros = divmod(us, SECOND)
    days, in_day = divmod(seconds, 86_400)
    day = _day_text.get(days)
    if day is None:
        day = _day_text[days] = (_EPOCH_DATE + timedelta(days=days)).isoformat()
    hours, rest = divmod(in_day, 3600)
    minutes, secs = divmod(rest, 60)
    if micros:
        return f"{day}T{hours:02d}:{minutes:02d}:{secs:02d}.{micros:06d}+00:00"
    return f"{day}T{hours:02d}:{minutes:02d}:{secs:02d}+00:00"


def to_us(value: datetime) -> int:
    """A naive datetime is taken as UTC, like the naive examples in Gorgias's documentation."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return (value - EPOCH) // _ONE_US


def parse_us(text: str) -> int:
    """Raises ValueError for anything that is not an ISO 8601 datetime."""
    return to_us(datetime.fromisoformat(text))


def now_us() -> int:
    return time.time_ns() // 1000
