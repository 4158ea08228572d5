"""The resumable position of a conversation export, as saved in the state file.

Keys are `[sort value, id]` pairs, where the sort value is a normalized UTC datetime string
(`timeutil.sort_key`), so that comparing keys compares instants and ties break on id.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

Key = tuple[str, int]


@dataclass
class WalkPosition:
    """Where one listing walk is: the cursor of the next unread page and the last key done."""

    cursor: str | None = None
    after: Key | None = None
    done: bool = False

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> WalkPosition:
        after = data.get("after")
        return cls(
            cursor=data.get("cursor"),
            after=(str(after[0]), int(after[1])) if after else None,
            done=bool(data.get("done")),
        )


@dataclass
class RunProgress:
    """One run (first backfill, or a windowed/incremental pass) in flight."""

    plan: str  # "backfill": both listings ascending; "window": both descending, bounded below
    lower_tickets: str | None  # rows of tickets created before this are not this run's
    lower_messages: str | None
    upper: str | None  # --until
    started_at: str
    tickets: WalkPosition = field(default_factory=WalkPosition)
    messages: WalkPosition = field(default_factory=WalkPosition)
    recent: dict[str, str] = field(default_factory=dict)  # row id -> key, near the newest
    newest_ticket: str | None = None
    newest_message: str | None = None
    oldest_message: str | None = None  # for the progress estimate

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RunProgress:
        fields = dict(data)
        fields["tickets"] = WalkPosition.from_json(data.get("tickets") or {})
        fields["messages"] = WalkPosition.from_json(data.get("messages") or {})
        return cls(**fields)


@dataclass
class ExportProgress:
    """Everything the state file says about how far the export got."""

    output_bytes: int = 0
    rows_written: int = 0
    completed_runs: int = 0
    watermark_tickets: str | None = None  # newest ticket creation seen by a finished run
    watermark_messages: str | None = None  # newest message creation seen by a finished run
    seen: dict[str, str] = field(default_factory=dict)  # row ids written near the watermarks
    run: RunProgress | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ExportProgress:
        fields = dict(data)
        run = data.get("run")
        fields["run"] = RunProgress.from_json(run) if run else None
        return cls(**fields)
