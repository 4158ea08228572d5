"""Flag values to what the jobs take, refused with one clear sentence (exit 2, or 6 for a path)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from gorgias_export.api.client import Params
from gorgias_export.entity_types import Entity
from gorgias_export.errors import OutputError, UsageError
from gorgias_export.output.workbook import require_xlsxwriter
from gorgias_export.output.writers import format_from_path
from gorgias_export.resources import normalize_api_path
from gorgias_export.timeutil import parse_cli_datetime


def refuse_resume_on_stdout(
    out: str, state: Path | None, fresh: bool, overwrite: bool = False
) -> None:
    if out == "-" and (state is not None or fresh):
        raise UsageError("--state and --fresh do not apply to --out - (stdout has no resume).")
    refuse_overwrite_alone(fresh, overwrite)


def refuse_overwrite_alone(fresh: bool, overwrite: bool) -> None:
    if overwrite and not fresh:
        raise UsageError("--overwrite goes with --fresh: it lets --fresh replace any file.")


def refuse_directory(out: str, example: str) -> None:
    """A directory given as --out is an I/O error (exit 6), whatever its name says."""
    if out != "-" and Path(out).is_dir():
        raise OutputError(f"--out {out} is a directory; give a file path such as {out}/{example}.")


def jsonl_output(out: str, example: str) -> None:
    """--out of a command that writes JSONL only (`get`): stdout, or a .jsonl/.ndjson file."""
    refuse_directory(out, example)
    if out != "-" and format_from_path(out) != "jsonl":
        raise UsageError(f"get writes JSONL; give --out a .jsonl or .ndjson name, not {out}.")


def api_path(path: str) -> str:
    """`get`'s path, as the API's documentation writes it (/api/tags, or tags)."""
    normalized = normalize_api_path(path)
    if normalized is None:
        raise UsageError(
            f"{path!r} is not an API path; write it as in the API's documentation, "
            "e.g. /api/tags (parameters go in --param)."
        )
    return normalized


def output_format(out: str, fmt: str | None, example: str) -> str:
    """The format of --out: --format, else its extension."""
    refuse_directory(out, example)
    chosen = fmt if fmt is not None else "csv" if out == "-" else format_from_path(out)
    if chosen is None:
        raise UsageError(
            f"Cannot tell the format of --out {out}; use a .csv, .jsonl, .ndjson, .db or .xlsx "
            "name, or --format csv|jsonl|sqlite|xlsx."
        )
    if chosen == "xlsx":
        require_xlsxwriter()
    return chosen


def time_range(
    since: str | None, until: str | None, exclusive_until: bool = False
) -> tuple[datetime | None, datetime | None]:
    """--since and --until as instants; --until names the whole period it is written to.
    With `exclusive_until` (an API filter that is exclusive) the end is moved one tick on."""
    start = parse_cli_datetime(since, "--since") if since else None
    end = parse_cli_datetime(until, "--until", end_of=True) if until else None
    if end is not None and exclusive_until:
        end += timedelta(microseconds=1)
    if start is not None and start > datetime.now(UTC):
        # Nothing can have been created or changed since then: 0 rows and exit 0 would look
        # like an empty account (a typo in the year, say).
        raise UsageError(f"--since {since} is in the future, so nothing could match; check it.")
    if start and end and (start >= end if exclusive_until else start > end):
        raise UsageError(f"--since {since} is after --until {until}; swap them.")
    return start, end


def entity_filters(entity: Entity, values: dict[str, object]) -> Params:
    """The entity's filter flags that were given, as API parameters."""
    params: list[tuple[str, str | int]] = []
    for spec in entity.filters:
        value = values.get(filter_name(spec.flag))
        if value is None:
            continue
        if spec.needs and values.get(filter_name(spec.needs)) is None:
            raise UsageError(f"{spec.flag} only works with {spec.needs}; add {spec.needs} too.")
        for single in value if isinstance(value, list) else [value]:
            if isinstance(single, str) and not single.strip():
                raise UsageError(f"{spec.flag} must not be empty.")
            assert isinstance(single, str | int)
            params.append((spec.param, single))
    return params


def filter_name(flag: str) -> str:
    """The Python parameter name of a filter flag: --object-type is object_type."""
    return flag.removeprefix("--").replace("-", "_")


_RESERVED_PARAMS = ("cursor", "limit")
# A view's items page with links whose parameters these are (api/client.py, `link_paged`).
_LINK_PARAMS = ("direction", "ignored_item")


def query_params(pairs: list[str], link_paged: bool = False) -> Params:
    """`get --param key=value` pairs; the paging parameters are ours."""
    params: list[tuple[str, str | int]] = []
    reserved = _RESERVED_PARAMS + (_LINK_PARAMS if link_paged else ())
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"--param {pair!r} is not key=value; write e.g. --param search=vip.")
        if key.strip() in reserved:
            how = "next_items links" if link_paged else "cursor and limit=100"
            raise UsageError(
                f"--param {key} is set by gorgias-export itself (it pages with {how}); "
                "leave it out."
            )
        params.append((key.strip(), value))
    return params


_SIZE_UNITS = {"": 1, "K": 1024, "M": 1024**2, "G": 1024**3}


def byte_size(text: str, flag: str) -> int:
    """`1000`, `20M`, `1G` (powers of 1024; a trailing B or iB is allowed) as bytes."""
    value = text.strip().upper().removesuffix("B").removesuffix("I")
    number, unit = (value[:-1], value[-1]) if value[-1:] in _SIZE_UNITS else (value, "")
    if not number.isdigit() or int(number) <= 0:
        raise UsageError(f"{flag} {text} is not a size; give bytes, or a number with K, M or G.")
    return int(number) * _SIZE_UNITS[unit]
