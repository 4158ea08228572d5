"""Measure the progress display's ETA against the time a throttled run really had left.

Not a test (it takes minutes, and speed is never asserted): it prints figures for BENCHMARKS.md.

    .venv/bin/python -m tests.measure_eta --tickets 2000 [--latency 1] [--max-rate 1.5]

The simulator runs as its own process with the real bucket (40 requests, draining 2 per second:
nothing scaled). The export runs in this process through the CLI, its display switched on as
on a terminal of 80 columns, with each progress event's ETA, as the display computes it, logged
with the time. After the run, each ETA is compared with the time that was in fact left.
"""

from __future__ import annotations

import argparse
import io
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import ClassVar

from rich.console import Console

from gorgias_export.cli import app, execute
from gorgias_export.cli.display import ProgressDisplay
from gorgias_export.exports.status import Status

EMAIL, KEY = "eta@example.com", "eta-key"


class LoggingDisplay(ProgressDisplay):
    """The display as on an 80-column terminal, keeping (time, ETA, percent) at each event."""

    log: ClassVar[list[tuple[float, float | None, int | None]]] = []

    def __init__(self, enabled: bool, console: Console | None = None) -> None:
        screen = Console(file=io.StringIO(), force_terminal=True, width=80)
        super().__init__(True, console=screen)

    def update(self, status: Status) -> None:
        super().update(status)
        view = self.view()
        if view is not None:
            LoggingDisplay.log.append((time.monotonic(), view.eta, view.percent))


def start_simulator(tickets: int, latency: float) -> tuple[subprocess.Popen[str], str]:
    command = [sys.executable, "-m", "gorgias_sim", "--port", "0", "--tickets", str(tickets)]
    command += ["--latency", str(latency), "--email", EMAIL, "--api-key", KEY]
    sim = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    assert sim.stdout is not None
    return sim, sim.stdout.readline().strip()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=2000)
    parser.add_argument("--latency", type=float, default=0.0)
    parser.add_argument("--max-rate", type=float, default=None)
    args = parser.parse_args()
    sim, url = start_simulator(args.tickets, args.latency)
    os.environ.update(GORGIAS_BASE_URL=url, GORGIAS_EMAIL=EMAIL, GORGIAS_API_KEY=KEY)
    execute.ProgressDisplay = LoggingDisplay  # type: ignore[misc]
    try:
        with tempfile.TemporaryDirectory() as work:
            argv = ["tickets", "--out", str(Path(work) / "tickets.csv")]
            if args.max_rate:
                argv += ["--max-rate", str(args.max_rate)]
            sys.argv = ["gorgias-export", *argv]
            started = time.monotonic()
            try:
                app.main()
            except SystemExit as done:
                assert not done.code, done.code
            ended = time.monotonic()
    finally:
        sim.terminate()
        sim.wait()
    report(LoggingDisplay.log, started, ended, args)
    return 0


def report(
    log: list[tuple[float, float | None, int | None]], started: float, ended: float, args: object
) -> None:
    total = ended - started
    known = [(at, eta) for at, eta, _ in log if eta is not None]
    first = known[0][0] - started if known else None
    second_half = [(at, eta) for at, eta in known if at - started >= total / 2 and ended > at]
    errors = [(eta - (ended - at)) / (ended - at) for at, eta in second_half]
    print(f"run: {vars(args)}; {total:.1f} s, {len(log)} progress events")  # type: ignore[call-overload]
    print(f"first ETA at {first:.1f} s" if first is not None else "no ETA shown")
    if errors:
        inside = sum(abs(e) <= 0.25 for e in errors)
        print(
            f"second half: {len(errors)} ETAs, {inside} within ±25% of the time left; "
            f"error from {min(errors):+.1%} to {max(errors):+.1%}"
        )
        # In the last seconds any error is a large share of what is left: say it in seconds.
        late = [(eta, ended - at) for at, eta in second_half if ended - at < 10]
        if late:
            off = max(abs(eta - left) for eta, left in late)
            print(f"  of which {len(late)} in the last 10 s, at most {off:.1f} s off")
        steady = [e for (at, _), e in zip(second_half, errors, strict=True) if ended - at >= 10]
        if steady:
            print(
                f"  before the last 10 s: {sum(abs(e) <= 0.25 for e in steady)} of "
                f"{len(steady)} within ±25%, from {min(steady):+.1%} to {max(steady):+.1%}"
            )
    for at, eta in known[:: max(1, len(known) // 12)]:
        print(f"  at {at - started:6.1f} s: ETA {eta:6.1f} s, truly {ended - at:6.1f} s left")


if __name__ == "__main__":
    sys.exit(main())
