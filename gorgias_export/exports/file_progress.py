"""The saved progress of `attachments`: its walks, both manifests' lengths, what it has done."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from gorgias_export.exports.progress import (
    BadProgress,
    WalkPosition,
    _check,
    _optional_str,
    _str_map,
    not_after_now,
)


@dataclass
class FilesRun:
    """One run in flight: messages first (phase 0), then call recordings (phase 1)."""

    lowers: list[str | None]  # per phase: items created before this are not this run's
    started_at: str
    phase: int = 0
    walk: WalkPosition = field(default_factory=WalkPosition)
    recent: dict[str, str] = field(default_factory=dict)  # "m:<id>"/"r:<id>" -> created, done
    newest: list[str | None] = field(default_factory=lambda: [None, None])  # per phase

    @classmethod
    def from_json(cls, data: Any) -> FilesRun:
        _check(data, dict, "run")
        lowers = _check(data.get("lowers"), list, "lowers")
        newest = _check(data.get("newest", [None, None]), list, "newest")
        for value in (*lowers, *newest):
            _check(value, (str, type(None)), "lowers")
        if len(lowers) != 2 or len(newest) != 2:
            raise BadProgress("lowers")
        return cls(
            lowers=lowers,
            started_at=_check(data.get("started_at"), str, "started_at"),
            phase=_check(data.get("phase", 0), int, "phase"),
            walk=WalkPosition.from_json(data.get("walk")),
            recent=_str_map(data, "recent"),
            newest=newest,
        )


@dataclass
class FilesProgress:
    """How far the files' export got, over all its runs."""

    output_bytes: int = 0  # of manifest.jsonl (the target's output)
    csv_bytes: int = 0  # of manifest.csv
    rows_written: int = 0
    completed_runs: int = 0
    watermarks: list[str | None] = field(default_factory=lambda: [None, None])  # per phase
    seen: dict[str, str] = field(default_factory=dict)  # done near the watermarks
    run: FilesRun | None = None

    def to_json(self) -> dict[str, Any]:
        run = self.run
        return {
            "output_bytes": self.output_bytes,
            "csv_bytes": self.csv_bytes,
            "rows_written": self.rows_written,
            "completed_runs": self.completed_runs,
            "watermarks": list(self.watermarks),
            "seen": self.seen,
            "run": None if run is None else {**vars(run), "walk": run.walk.to_json()},
        }

    @classmethod
    def from_json(cls, data: Any) -> FilesProgress:
        _check(data, dict, "progress")
        counts = {
            name: _check(data.get(name, 0), int, name)
            for name in ("output_bytes", "csv_bytes", "rows_written", "completed_runs")
        }
        if any(count < 0 for count in counts.values()):
            raise BadProgress("negative count")
        watermarks = _check(data.get("watermarks", [None, None]), list, "watermarks")
        if len(watermarks) != 2:
            raise BadProgress("watermarks")
        for value in watermarks:
            if _optional_str({"w": value}, "w"):
                not_after_now("watermarks", value)
        run = data.get("run")
        return cls(
            **counts,
            watermarks=watermarks,
            seen=_str_map(data, "seen"),
            run=FilesRun.from_json(run) if run is not None else None,
        )
