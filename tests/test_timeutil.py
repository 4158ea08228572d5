"""Dates: the API's read liberally and written in UTC, the CLI's checked, --until inclusive."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from gorgias_export.errors import UsageError
from gorgias_export.timeutil import (
    format_utc,
    normalize_api_datetime,
    parse_api_datetime,
    parse_cli_datetime,
    sort_key,
)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2024-11-01T10:59:29+00:00", "2024-11-01T10:59:29.000000Z"),  # microseconds dropped
        ("2024-11-01T10:59:29.123456+00:00", "2024-11-01T10:59:29.123456Z"),
        ("2024-11-01T10:59:29Z", "2024-11-01T10:59:29.000000Z"),
        ("2024-11-01T10:59:29.5", "2024-11-01T10:59:29.500000Z"),  # naive means UTC
        ("2024-11-01T12:59:29+02:00", "2024-11-01T10:59:29.000000Z"),
    ],
)
def test_api_datetimes_are_read_liberally_and_written_in_utc(raw: str, expected: str) -> None:
    assert normalize_api_datetime(raw) == expected


@pytest.mark.parametrize("raw", ["yesterday", "2024-13-45T00:00:00", 17, ""])
def test_unreadable_values_are_kept_as_sent(raw: object) -> None:
    assert parse_api_datetime(raw) is None
    assert normalize_api_datetime(raw) == raw


def test_sort_keys_compare_like_instants() -> None:
    assert sort_key("2024-11-01T10:59:29+00:00") < sort_key("2024-11-01T10:59:29.000001+00:00")
    assert sort_key("2024-11-01T12:00:00+02:00") < sort_key("2024-11-01T10:30:00+00:00")
    assert sort_key(None) == ""


def test_cli_dates() -> None:
    assert parse_cli_datetime("2024-03-01", "--since") == datetime(2024, 3, 1, tzinfo=UTC)
    assert parse_cli_datetime("2024-03-01T10:00", "--since") == datetime(2024, 3, 1, 10, tzinfo=UTC)
    assert parse_cli_datetime("2024-03-01T10:00+02:00", "--since") == datetime(
        2024, 3, 1, 8, tzinfo=UTC
    )


@pytest.mark.parametrize("raw", ["last week", "2024-02-30", "03/01/2024"])
def test_bad_cli_dates_name_the_flag_and_the_accepted_forms(raw: str) -> None:
    with pytest.raises(UsageError) as caught:
        parse_cli_datetime(raw, "--until")
    assert "--until" in caught.value.message and "YYYY-MM-DD" in caught.value.message


@pytest.mark.parametrize(
    ("raw", "end"),
    [
        ("2024-03-31", "2024-03-31T23:59:59.999999Z"),
        ("2024-03-31T23", "2024-03-31T23:59:59.999999Z"),
        ("2024-03-31T23:59", "2024-03-31T23:59:59.999999Z"),
        ("2024-03-31T23:59:59", "2024-03-31T23:59:59.999999Z"),
        ("2024-03-31T23:59:59.5", "2024-03-31T23:59:59.500000Z"),
        ("2024-04-01T01:59:59+02:00", "2024-03-31T23:59:59.999999Z"),
    ],
)
def test_until_includes_the_whole_period_it_names(raw: str, end: str) -> None:
    assert format_utc(parse_cli_datetime(raw, "--until", end_of=True)) == end


@pytest.mark.parametrize(
    "raw",
    [
        "2024-11-01T10:59:29+00:00",
        "2024-11-01T10:59:29.123456+00:00",
        "2024-11-01T10:59:29.1+00:00",
        "2024-11-01T10:59:29.123456789+00:00",
        "2024-02-30T10:59:29+00:00",
        "2024-11-01 10:59:29+00:00",
        "2024-11-01T10:59:29-00:00",
    ],
)
def test_the_fast_path_agrees_with_the_full_parser(raw: str) -> None:
    parsed = parse_api_datetime(raw)
    slow = format_utc(parsed) if parsed else raw
    assert normalize_api_datetime(raw) == slow
    assert sort_key(raw) == (slow if parsed else "")
