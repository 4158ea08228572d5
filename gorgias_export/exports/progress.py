"""The resumable position of an export (conversations, or one entity), as saved in the state file.

Keys are `[sort value, id]` pairs, where the sort value is a normalized UTC datetime string
(`timeutil.sort_key`), so that comparing keys compares instants and ties break on id.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from gorgias_export.api.cursor_form import documented

Key = tuple[str, int]


class BadProgress(ValueError):
    """The state file's progress section does not have the shape we write."""


class FutureTime(BadProgress):
    """A time the state holds (a watermark, a run's start) is later than now, when this run
    starts: the clock was set back since it was saved, or the file was edited."""

    def __init__(self, name: str, value: str, now: str) -> None:
        super().__init__(f"{name} {value} is later than this run's start, {now}")
        self.name, self.value, self.now = name, value, now


def _check(value: Any, kinds: type | tuple[type, ...], what: str) -> Any:
    if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in _as_tuple(kinds)):
        raise BadProgress(what)
    return value


def _as_tuple(kinds: type | tuple[type, ...]) -> tuple[type, ...]:
    return kinds if isinstance(kinds, tuple) else (kinds,)


def _optional_str(data: dict[str, Any], name: str) -> str | None:
    value: str | None = _check(data.get(name), (str, type(None)), name)
    return value


# Times as the state holds them (timeutil.format_utc): fixed width, UTC.
_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z")
# A watermark or a run's start is never later than the run that saved it began (watermarks are
# capped to it): one past now was edited in, or the clock went back since, and trusted it would
# skip every row before it. No drift is allowed: the overlap a rerun reads below its watermark
# cannot make up for a watermark it does not know is wrong.


def _time(data: dict[str, Any], name: str, *, past: bool = False) -> str | None:
    """An optional time of ours; `past`: one that cannot be later than now."""
    value = _optional_str(data, name)
    if value is None:
        return None
    if not _TIME.fullmatch(value):
        raise BadProgress(f"{name} is not a time")
    if past:
        not_after_now(name, value)
    return value


def not_after_now(name: str, value: str) -> None:
    """Refuse (FutureTime) a saved time of ours that lies after this moment, when a run starts."""
    now = datetime.now(UTC).isoformat(timespec="microseconds")[:-6] + "Z"
    if value > now:
        raise FutureTime(name, value, now)


def _str_map(data: dict[str, Any], name: str) -> dict[str, str]:
    mapping = _check(data.get(name, {}), dict, name)
    for key, value in mapping.items():
        _check(key, str, name)
        _check(value, str, name)
    return dict(mapping)


@dataclass
class WalkPosition:
    """Where one listing walk is: the cursor of the next unread page and the last key done."""

    cursor: str | None = None
    after: Key | None = None
    done: bool = False
    # A view's items (link-paged): the ids of the last page done, which the next page can
    # repeat (api/walk.py); saved, so that a resumed walk leaves them out too.
    previous_ids: list[int] = field(default_factory=list)
    # `cursor` decoded as the API's documented encoding when the API gave it (api/cursor_form.py),
    # so it must still: one that no longer does was damaged or edited, and is refused before it
    # is sent. A cursor the API gave in another form (an older one, a view's link), or saved by a
    # release that did not mark it, is sent back as it is, unchecked.
    decodes: bool = False

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"cursor": self.cursor, "after": self.after, "done": self.done}
        if self.previous_ids:  # only link-paged walks have any
            data["previous_ids"] = self.previous_ids
        if self.decodes:
            data["decodes"] = True
        return data

    @classmethod
    def from_json(cls, data: Any) -> WalkPosition:
        _check(data, dict, "walk position")
        after = _check(data.get("after"), (list, type(None)), "after")
        if after is not None and not (
            len(after) == 2
            and isinstance(after[0], str)
            and (after[0] == "" or _TIME.fullmatch(after[0]))  # "": an unreadable time
            and isinstance(after[1], int)
            and not isinstance(after[1], bool)
        ):
            raise BadProgress("after")
        previous = _check(data.get("previous_ids", []), list, "previous_ids")
        if not all(isinstance(i, int) and not isinstance(i, bool) for i in previous):
            raise BadProgress("previous_ids")
        cursor = _optional_str(data, "cursor")
        decodes = _check(data.get("decodes", False), bool, "decodes")
        if cursor is not None and decodes and not documented(cursor):
            shown = cursor if len(cursor) <= 40 else cursor[:39] + "…"
            quoted = json.dumps(shown, ensure_ascii=False)  # the ellipsis as itself, not \u2026
            raise BadProgress(
                f"its saved cursor {quoted} does not decode as the API's cursors do, "
                "so it was not sent"
            )
        return cls(
            cursor=cursor,
            after=(after[0], after[1]) if after else None,
            done=_check(data.get("done", False), bool, "done"),
            previous_ids=previous,
            decodes=decodes,
        )


@dataclass
class RunProgress:
    """One run (first backfill, or a windowed/incremental pass) in flight."""

    plan: str  # "backfill": both listings ascending; "window": both descending, bounded below
    lower_tickets: str | None  # rows of tickets created before this are not this run's
    lower_messages: str | None
    upper: str | None  # --until
    started_at: str
    tickets: WalkPosition = field(
        default_factory=WalkPosition
    )  # backfill: by creation; else by update
    new_tickets: WalkPosition = field(default_factory=WalkPosition)  # window: by creation
    messages: WalkPosition = field(default_factory=WalkPosition)  # backfill: oldest first
    messages_desc: WalkPosition = field(default_factory=WalkPosition)  # backfill: newest first
    tickets_desc: WalkPosition = field(default_factory=WalkPosition)  # backfill: newest first
    # Backfill: the message listing split at `split_at` (None: not decided yet, "": not split)
    # and read from there downward (`messages_lower`) and upward (`messages_upper`); meeting.py.
    split_at: str | None = None
    messages_lower: WalkPosition = field(default_factory=lambda: WalkPosition(done=True))
    messages_upper: WalkPosition = field(default_factory=lambda: WalkPosition(done=True))
    turn: int = 0  # whose page is processed next (round-robin), for a reproducible order
    listing: int = 0  # filtered exports: which set of filter parameters is being walked
    messages_of: int = 0  # filtered exports: the ticket whose messages `messages` walks
    emitted: WalkPosition = field(default_factory=WalkPosition)  # --per ticket: lines written
    recent: dict[str, str] = field(default_factory=dict)  # row id -> key, near the newest
    newest_ticket: str | None = None
    newest_message: str | None = None
    oldest_message: str | None = None  # for the progress estimate
    # [the listed tickets' messages_count, messages read] (listing_counts.py); None: not judged
    message_counts: list[int] | None = None

    @classmethod
    def from_json(cls, data: Any) -> RunProgress:
        _check(data, dict, "run")
        if data.get("plan") not in ("backfill", "window"):
            raise BadProgress("plan")
        return cls(
            plan=data["plan"],
            lower_tickets=_time(data, "lower_tickets", past=True),
            lower_messages=_time(data, "lower_messages", past=True),
            upper=_time(data, "upper"),
            started_at=_check(_time(data, "started_at", past=True), str, "started_at"),
            tickets=WalkPosition.from_json(data.get("tickets")),
            new_tickets=WalkPosition.from_json(data.get("new_tickets")),
            messages=WalkPosition.from_json(data.get("messages")),
            messages_desc=WalkPosition.from_json(data.get("messages_desc")),
            tickets_desc=WalkPosition.from_json(data.get("tickets_desc", {})),
            split_at=_optional_str(data, "split_at"),
            messages_lower=WalkPosition.from_json(data.get("messages_lower", {"done": True})),
            messages_upper=WalkPosition.from_json(data.get("messages_upper", {"done": True})),
            turn=_check(data.get("turn", 0), int, "turn"),
            listing=_check(data.get("listing", 0), int, "listing"),
            messages_of=_check(data.get("messages_of", 0), int, "messages_of"),
            emitted=WalkPosition.from_json(data.get("emitted", {})),
            recent=_str_map(data, "recent"),
            newest_ticket=_optional_str(data, "newest_ticket"),
            newest_message=_optional_str(data, "newest_message"),
            oldest_message=_optional_str(data, "oldest_message"),
            message_counts=_counts(data.get("message_counts")),
        )


def _counts(value: Any) -> list[int] | None:
    if value is None:
        return None
    _check(value, list, "message_counts")
    if len(value) != 2 or not all(type(n) is int and n >= 0 for n in value):
        raise BadProgress("message_counts")
    return list(value)


_RUN_POSITIONS = (
    "tickets",
    "tickets_desc",
    "new_tickets",
    "messages",
    "messages_desc",
    "messages_lower",
    "messages_upper",
    "emitted",
)


@dataclass
class ExportProgress:
    """Everything the state file says about how far the export got."""

    output_bytes: int = 0
    rows_written: int = 0
    completed_runs: int = 0
    watermark_tickets: str | None = None  # newest ticket creation seen by a finished run
    watermark_messages: str | None = None  # newest message creation seen by a finished run
    # When the last complete run began: what the account had before then is in the export
    # (`verify` tells changes since from rows missing). None in states written before it.
    last_run_started: str | None = None
    seen: dict[str, str] = field(default_factory=dict)  # row ids written near the watermarks
    run: RunProgress | None = None
    # The deletion pass's own state (exports/removals.py parses it); absent until it runs.
    removals: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        # By hand rather than dataclasses.asdict, whose deep copy cost more than the JSON.
        run = self.run
        return {
            "output_bytes": self.output_bytes,
            "rows_written": self.rows_written,
            "completed_runs": self.completed_runs,
            "watermark_tickets": self.watermark_tickets,
            "watermark_messages": self.watermark_messages,
            "seen": self.seen,
            **({"last_run_started": self.last_run_started} if self.last_run_started else {}),
            "run": None
            if run is None
            else {
                **vars(run),
                **{name: getattr(run, name).to_json() for name in _RUN_POSITIONS},
            },
            **({"removals": self.removals} if self.removals else {}),
        }

    @classmethod
    def from_json(cls, data: Any) -> ExportProgress:
        """Parse the progress section, raising BadProgress on anything we did not write."""
        _check(data, dict, "progress")
        counts = {
            name: _check(data.get(name, 0), int, name)
            for name in ("output_bytes", "rows_written", "completed_runs")
        }
        if any(count < 0 for count in counts.values()):
            raise BadProgress("negative count")
        run = data.get("run")
        return cls(
            **counts,
            watermark_tickets=_time(data, "watermark_tickets", past=True),
            watermark_messages=_time(data, "watermark_messages", past=True),
            last_run_started=_time(data, "last_run_started", past=True),
            seen=_str_map(data, "seen"),
            run=RunProgress.from_json(run) if run is not None else None,
            removals=_check(data.get("removals", {}), dict, "removals"),
        )


@dataclass
class EntityRun:
    """One run of an entity export in flight."""

    plan: str  # "backfill" (everything, oldest first), "window" (since `lower`), "full"
    lower: str | None  # the window's lower edge (a time), None for backfill and full reads
    started_at: str
    listing: int = 0  # which of the entity's listings is being walked
    walk: WalkPosition = field(default_factory=WalkPosition)
    recent: dict[str, str] = field(default_factory=dict)  # id -> "time version" written this run
    newest: str | None = None  # newest incremental time seen this run
    finishing: bool = False  # a snapshot is complete and is being moved into place

    @classmethod
    def from_json(cls, data: Any) -> EntityRun:
        _check(data, dict, "run")
        if data.get("plan") not in ("backfill", "window", "full"):
            raise BadProgress("plan")
        return cls(
            plan=data["plan"],
            lower=_time(data, "lower", past=True),
            started_at=_check(_time(data, "started_at", past=True), str, "started_at"),
            listing=_check(data.get("listing", 0), int, "listing"),
            walk=WalkPosition.from_json(data.get("walk")),
            recent=_str_map(data, "recent"),
            newest=_optional_str(data, "newest"),
            finishing=_check(data.get("finishing", False), bool, "finishing"),
        )


@dataclass
class EntityProgress:
    """How far one entity's export got, over all its runs."""

    output_bytes: int = 0  # of the output, or of the snapshot being written during a full read
    rows_written: int = 0
    completed_runs: int = 0
    watermark: str | None = None  # where the next run's window starts (before the overlap)
    seen: dict[str, str] = field(default_factory=dict)  # id -> "time version", near watermark
    run: EntityRun | None = None
    removals: dict[str, Any] = field(default_factory=dict)  # as in ExportProgress

    def to_json(self) -> dict[str, Any]:
        run = self.run
        return {
            "output_bytes": self.output_bytes,
            "rows_written": self.rows_written,
            "completed_runs": self.completed_runs,
            "watermark": self.watermark,
            "seen": self.seen,
            "run": None if run is None else {**vars(run), "walk": run.walk.to_json()},
            **({"removals": self.removals} if self.removals else {}),
        }

    @classmethod
    def from_json(cls, data: Any) -> EntityProgress:
        _check(data, dict, "progress")
        counts = {
            name: _check(data.get(name, 0), int, name)
            for name in ("output_bytes", "rows_written", "completed_runs")
        }
        if any(count < 0 for count in counts.values()):
            raise BadProgress("negative count")
        run = data.get("run")
        return cls(
            **counts,
            watermark=_time(data, "watermark", past=True),
            seen=_str_map(data, "seen"),
            run=EntityRun.from_json(run) if run is not None else None,
            removals=_check(data.get("removals", {}), dict, "removals"),
        )
