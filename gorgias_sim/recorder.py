"""What the simulator saw and did, for tests and benchmarks to assert on; thread-safe."""

from __future__ import annotations

import threading
from dataclasses import dataclass, replace


@dataclass(frozen=True)
class RequestRecord:
    method: str
    path: str  # without the query string, e.g. "/api/messages"
    query: dict[str, list[str]]
    status: int  # 0 while unanswered (as `on_request` sees it) and when the connection was reset
    authorized: bool  # the credentials matched a user, including the one without permissions
    time: float  # time.time() when the request arrived
    scheme: str = ""  # the Authorization header's scheme as sent: "Basic", "Bearer" or ""


class Recorder:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._records: list[RequestRecord] = []
        self._rate_limited = 0
        self._faults: dict[str, int] = {}

    def add(self, record: RequestRecord) -> int:
        with self._lock:
            self._records.append(record)
            return len(self._records) - 1

    def answered(self, index: int, record: RequestRecord, status: int) -> None:
        with self._lock:
            # The identity check skips records dropped by `clear` while their request ran.
            if index < len(self._records) and self._records[index] is record:
                self._records[index] = replace(record, status=status)
            if status == 429:
                self._rate_limited += 1

    def fault(self, kind: str) -> None:
        with self._lock:
            self._faults[kind] = self._faults.get(kind, 0) + 1

    def clear(self) -> None:
        with self._lock:
            self._records.clear()
            self._rate_limited = 0
            self._faults.clear()

    def records(self) -> list[RequestRecord]:
        with self._lock:
            return list(self._records)

    def count(self, path_prefix: str) -> int:
        with self._lock:
            return sum(1 for r in self._records if r.path.startswith(path_prefix))

    @property
    def rate_limited(self) -> int:
        with self._lock:
            return self._rate_limited

    @property
    def faults(self) -> dict[str, int]:
        with self._lock:
            return dict(self._faults)
