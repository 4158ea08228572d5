"""The figures a reliability run reports at its end: what was thrown at the exporter."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Tally:
    faults: dict[str, int] = field(default_factory=dict)  # by kind, as the simulator counted
    kills: int = 0  # kill -9 of a running export, each followed by a rerun
    interrupts: int = 0  # SIGINT / SIGTERM, exit 130
    crashes: int = 0  # injected internal errors (exit 1)
    write_failures: int = 0  # runs stopped by a file-size limit (exit 6)
    cursor_expiries: int = 0  # resumes after every cursor had expired
    data_changes: int = 0  # tickets/messages added or updated while an export ran
    bad_inputs: int = 0  # rows of the bad-input table run
    runs: int = 0  # exports started, in a child process or in-process
    requests: int = 0  # requests the simulators saw (every one checked to be a GET)
    bytes_scanned: int = 0  # bytes of stdout, stderr, logs, state and output searched for the key

    def add_faults(self, counts: dict[str, int]) -> None:
        for kind, n in counts.items():
            self.faults[kind] = self.faults.get(kind, 0) + n

    @property
    def faults_total(self) -> int:
        return sum(self.faults.values())

    def summary(self) -> str:
        kinds = ", ".join(f"{kind} {n:,}" for kind, n in sorted(self.faults.items()))
        return (
            f"reliability: {self.faults_total:,} faults injected ({kinds or 'none'}); "
            f"{self.kills:,} kill -9 survived, {self.interrupts:,} Ctrl-C/SIGTERM, "
            f"{self.crashes:,} crashes, {self.write_failures:,} write failures, "
            f"{self.cursor_expiries:,} cursor expiries, {self.data_changes:,} data changes "
            f"mid-export; {self.bad_inputs:,} bad inputs tried; {self.runs:,} runs, "
            f"{self.requests:,} requests, none but GET; {self.bytes_scanned:,} bytes scanned "
            "for secrets, none found."
        )


# One per process: the pytest sample and the soak each print it at their end.
TALLY = Tally()
