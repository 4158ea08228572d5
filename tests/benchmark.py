"""`make bench`: measure the exporter against the simulator and print the table for BENCHMARKS.md.

Not part of `make test`: it takes minutes and measures speed, which tests never assert.

The real bucket (40 requests, draining 2/s) would make a 100k-message run last 11 minutes per
latency. The simulator's bucket is scaled TIME_SCALE times faster (40 per 5 s, draining 8/s)
and every latency scaled down by the same factor, so the ratio that matters (requests in
flight needed = rate x latency) is the real one. Latencies are printed at real scale. (The
client's own time per page is not scaled, so the scaling makes high latencies look slightly
worse than they are; x4 keeps that effect small.)

Measures, per run: requests against the floor ceil(T/100)+ceil(M/100); the achieved request rate
as a share of what the bucket allows over the run (its burst plus its drain); 429 responses;
rows per CPU-second of the exporter process; its peak RSS. Then the CPU run (no latency, no rate
limit), alternated with the plain exporter of tests/plain_exporter.py on the same data, a kill -9
resume, and the per-ticket baseline the tool replaces.

With --oauth, the exporter authenticates with an access token only (no email, no key), and
the throttled runs go through the OAuth bucket: 80 requests, scaled the same way (80 per 5 s).
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import math
import os
import platform
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import requests

from gorgias_sim import RequestRecord, SimConfig, Simulator
from gorgias_sim.config import BUILT_CURSORS

# The interpreter the exporter runs in: --exporter-python measures another installation (an
# earlier release's virtualenv, say) against the same simulator, for before/after figures.
EXPORTER_PYTHON = sys.executable
REPO = Path(__file__).resolve().parents[1]
TIME_SCALE = 4.0
CAPACITY = 40
REAL_WINDOW = 20.0
OAUTH_CAPACITY = 80  # an OAuth app's bucket: 80 per 20 s
EMAIL, KEY, TOKEN = "bench@example.com", "bench-key", "bench-access-token"


@dataclass
class Result:
    label: str
    tickets: int
    messages: int
    latency: float  # real-scale seconds
    requests: int
    floor: int
    achieved_share: float | None  # of what the bucket allows over the run
    rate_limited: int
    rows: int
    cpu_seconds: float
    peak_rss_mb: float
    wall_seconds: float

    @property
    def rows_per_cpu_second(self) -> float:
        return self.rows / self.cpu_seconds if self.cpu_seconds else 0.0


def floor_of(tickets: int, messages: int) -> int:
    return math.ceil(tickets / 100) + math.ceil(messages / 100)


def run_exporter(
    sim: Simulator,
    out: Path,
    kill_at_request: int | None = None,
    oauth: bool = False,
    plain: bool = False,
) -> tuple[int, float, float]:
    """Run `gorgias-export tickets` (or, with `plain`, the plain exporter it is measured
    against: tests/plain_exporter.py) in its own process; returns (status, CPU s, peak RSS MB)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GORGIAS_")}
    env["GORGIAS_BASE_URL"] = sim.url
    if oauth:  # the token alone: an OAuth app's run
        env["GORGIAS_ACCESS_TOKEN"] = TOKEN
    else:
        env.update(GORGIAS_EMAIL=EMAIL, GORGIAS_API_KEY=KEY)
    # As installed: with its bytecode cached (a user's pip install compiles it), whatever this
    # shell says; otherwise each run would also pay for compiling the package.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    command = [EXPORTER_PYTHON, "-m", "gorgias_export", "tickets", "--out", str(out), "--quiet"]
    if plain:
        env["PYTHONPATH"] = str(REPO)  # to import tests.plain_exporter
        command = [sys.executable, "-m", "tests.plain_exporter", "--out", str(out)]
        command += ["--base-url", sim.url, "--email", EMAIL, "--api-key", KEY]
    process = subprocess.Popen(
        command,
        env=env,
        stdout=subprocess.DEVNULL,
        # Not the repository: `-m` would import its gorgias_export, whatever the interpreter.
        cwd=out.parent,
    )
    if kill_at_request is not None:
        seen = iter(range(1, 10**9))

        def hook(record: RequestRecord) -> None:
            if next(seen) == kill_at_request:
                process.send_signal(signal.SIGKILL)

        sim.on_request = hook
    peak = PeakMemory(process.pid)
    _, status, usage = os.wait4(process.pid, 0)
    sim.on_request = None
    cpu = usage.ru_utime + usage.ru_stime
    return status, cpu, peak.stop() / 1024


class PeakMemory:
    """The child's own peak RSS (VmHWM), polled from /proc.

    Not ru_maxrss: the child is forked from this process, which holds the simulator's data, and
    Linux keeps the pre-exec high-water mark in ru_maxrss.
    """

    def __init__(self, pid: int) -> None:
        self.peak_kb = 0
        self._pid = pid
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)
        self._thread.start()

    def _poll(self) -> None:
        while not self._done.is_set():
            try:
                with open(f"/proc/{self._pid}/status") as status:
                    for line in status:
                        if line.startswith("VmHWM:"):
                            self.peak_kb = max(self.peak_kb, int(line.split()[1]))
            except (FileNotFoundError, ProcessLookupError, ValueError):
                return
            self._done.wait(0.1)

    def stop(self) -> int:
        self._done.set()
        self._thread.join()
        return self.peak_kb


def count_rows(out: Path) -> int:
    csv.field_size_limit(sys.maxsize)
    with out.open(newline="", encoding="utf-8") as handle:
        return sum(1 for _ in csv.DictReader(handle))


def achieved_share(
    records: list[RequestRecord], rate: float, capacity: int = CAPACITY
) -> float | None:
    """Requests served over the run against the most the bucket admits in that time."""
    times = sorted(r.time for r in records)
    if len(times) < 2:
        return None
    span = times[-1] - times[0]
    return len(times) / (capacity + rate * span)


def measure(
    label: str,
    tickets: int,
    latency: float,
    rate_limited: bool,
    workdir: Path,
    built_cursors: str = "accept",
    oauth: bool = False,
    plain: bool = False,
) -> Result:
    capacity = OAUTH_CAPACITY if oauth else CAPACITY
    config = SimConfig(
        built_cursors=built_cursors,  # how the split point's hand-built cursor is answered
        seed=11,
        tickets=tickets,
        email=EMAIL,
        api_key=KEY,
        access_token=TOKEN,
        rate_limit=rate_limited,
        bucket_capacity=CAPACITY,
        oauth_bucket_capacity=OAUTH_CAPACITY,
        bucket_window=REAL_WINDOW / TIME_SCALE,
        latency=latency / TIME_SCALE,
    )
    with Simulator(config) as sim:
        out = workdir / f"{label}.csv"
        started = time.monotonic()
        status, cpu, rss = run_exporter(sim, out, oauth=oauth, plain=plain)
        wall = time.monotonic() - started
        assert status == 0, f"{label}: exporter exited with {status}"
        if oauth:
            assert {r.scheme for r in sim.requests} == {"Bearer"}, f"{label}: not OAuth only"
        ds = sim.dataset
        rate = capacity / config.bucket_window
        return Result(
            label,
            len(ds.tickets),
            len(ds.messages),
            latency,
            sim.count(),
            floor_of(len(ds.tickets), len(ds.messages)),
            achieved_share(sim.requests, rate, capacity) if rate_limited else None,
            sim.rate_limited,
            count_rows(out),
            cpu,
            rss,
            wall,
        )


def measure_xlsx(name: str, tickets: int, workdir: Path) -> tuple[Result, float, float, float]:
    """The CPU run into an .xlsx workbook, then a rerun that finds nothing new, which still
    writes the whole workbook again from its store (what every rerun costs); returns the
    first run, the rerun's wall and CPU seconds and its peak RSS."""
    config = SimConfig(seed=11, tickets=tickets, email=EMAIL, api_key=KEY, rate_limit=False)
    with Simulator(config) as sim:
        out = workdir / f"{name}.xlsx"
        started = time.monotonic()
        status, cpu, rss = run_exporter(sim, out)
        wall = time.monotonic() - started
        assert status == 0, f"{name} xlsx: exporter exited with {status}"
        requests_first = sim.count()
        started = time.monotonic()
        status, rerun_cpu, rerun_rss = run_exporter(sim, out)
        rerun_wall = time.monotonic() - started
        assert status == 0, f"{name} xlsx rerun: exporter exited with {status}"
        with contextlib.closing(sqlite3.connect(f"{out}.rows.sqlite")) as store:
            rows = store.execute("SELECT count(*) FROM conversations").fetchone()[0]
        ds = sim.dataset
        result = Result(
            f"{name} cpu xlsx",
            len(ds.tickets),
            len(ds.messages),
            0.0,
            requests_first,
            floor_of(len(ds.tickets), len(ds.messages)),
            None,
            sim.rate_limited,
            rows,
            cpu,
            rss,
            wall,
        )
    return result, rerun_wall, rerun_cpu, rerun_rss


def xlsx_runs(sizes: dict[str, int], results: list[Result], workdir: Path) -> list[str]:
    """The .xlsx CPU runs (appended to `results`), and a line per rerun."""
    lines = []
    for name, tickets in sizes.items():
        result, rerun_wall, rerun_cpu, rerun_rss = measure_xlsx(name, tickets, workdir)
        print(table([result]).splitlines()[-1], flush=True)
        results.append(result)
        lines.append(
            f"xlsx rerun with nothing new, {result.rows:,} rows: {rerun_wall:.1f} s wall, "
            f"{rerun_cpu:.1f} CPU-s (the whole workbook written again), peak RSS "
            f"{rerun_rss:.0f} MB."
        )
        print(lines[-1], flush=True)
    return lines


def measure_kill_resume(tickets: int, workdir: Path) -> tuple[int, int, int]:
    """kill -9 halfway, rerun; returns (requests in all, requests of an uninterrupted run,
    pages fetched twice)."""
    config = SimConfig(seed=11, tickets=tickets, email=EMAIL, api_key=KEY, rate_limit=False)
    with Simulator(config) as sim:
        status, _, _ = run_exporter(sim, workdir / "uninterrupted.csv")
        assert status == 0
        uninterrupted = sim.count()
        sim.reset_stats()
        out = workdir / "killed.csv"
        status, _, _ = run_exporter(sim, out, kill_at_request=uninterrupted // 2)
        assert os.WIFSIGNALED(status), "the exporter finished before it could be killed"
        status, _, _ = run_exporter(sim, out)
        assert status == 0
        total = sim.count()
        return total, uninterrupted, total - uninterrupted


def measure_per_ticket_baseline(tickets: int) -> tuple[int, float]:
    """The approach the tool replaces: list tickets, then GET /tickets/{id} for each one.
    Returns (requests, hours at the real 2 requests per second)."""
    config = SimConfig(seed=11, tickets=tickets, email=EMAIL, api_key=KEY, rate_limit=False)
    with Simulator(config) as sim:
        session = requests.Session()
        session.auth = (EMAIL, KEY)
        cursor = None
        ids: list[int] = []
        while True:
            params: dict[str, str | int] = {"limit": 100, "order_by": "created_datetime:asc"}
            if cursor:
                params["cursor"] = cursor
            page = session.get(f"{sim.url}/tickets", params=params, timeout=30).json()
            ids.extend(ticket["id"] for ticket in page["data"])
            cursor = page["meta"]["next_cursor"]
            if not cursor:
                break
        for ticket_id in ids:
            session.get(f"{sim.url}/tickets/{ticket_id}", timeout=30).raise_for_status()
        count = sim.count()
    return count, count / (CAPACITY / REAL_WINDOW) / 3600


def fmt_share(value: float | None) -> str:
    return f"{value:.1%}" if value is not None else "n/a"


def table(results: list[Result]) -> str:
    lines = [
        "| run | tickets | messages | latency | requests | floor | achieved / allowed rate "
        "| 429s | rows / CPU-s | peak RSS | wall |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        lines.append(
            f"| {r.label} | {r.tickets:,} | {r.messages:,} | {r.latency:g} s | {r.requests:,} | "
            f"{r.floor:,} | {fmt_share(r.achieved_share)} | {r.rate_limited} | "
            f"{r.rows_per_cpu_second:,.0f} | {r.peak_rss_mb:.0f} MB | {r.wall_seconds:.1f} s |"
        )
    return "\n".join(lines)


def cpu_and_plain(name: str, tickets: int, workdir: Path) -> list[Result]:
    """The CPU run, and the plain exporter's on the same data in the same minute, alternated
    (plain, ours, plain, ours) since the machine's speed drifts; prints each and their ratio."""
    runs: list[Result] = []
    for round_ in (1, 2):
        for plain in (True, False):
            label = f"{name} cpu" + (" plain" if plain else "") + f" ({round_})"
            runs.append(measure(label, tickets, 0.0, False, workdir, plain=plain))
            print(table([runs[-1]]).splitlines()[-1], flush=True)
    ours = sum(r.cpu_seconds for r in runs if "plain" not in r.label)
    plain_cpu = sum(r.cpu_seconds for r in runs if "plain" in r.label)
    print(
        f"{name}: gorgias-export used {ours / plain_cpu:.2f} times the plain exporter's CPU "
        f"({ours / 2:.2f} against {plain_cpu / 2:.2f} CPU-s a run)",
        flush=True,
    )
    return runs


def cpu_only(sizes: dict[str, int], results: list[Result], xlsx: bool = False) -> int:
    """The CPU runs alone: what a change to the exporter's per-row work is measured with
    (`xlsx`: into workbooks, with a rerun each)."""
    reruns: list[str] = []
    with tempfile.TemporaryDirectory(prefix="gorgias-bench-") as scratch:
        for name, tickets in sizes.items():
            if xlsx:
                continue
            results.extend(cpu_and_plain(name, tickets, Path(scratch)))
        if xlsx:
            reruns = xlsx_runs(sizes, results, Path(scratch))
    print()
    print(table(results))
    print("\n".join(reruns))
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes only (a smoke run)")
    parser.add_argument(
        "--only",
        choices=("cpu", "rate", "xlsx"),
        help="cpu: just the CPU runs (no latency, no rate limit), about a minute; "
        "rate: just the throttled runs; xlsx: just the CPU runs into .xlsx workbooks",
    )
    parser.add_argument(
        "--built-cursors",
        choices=BUILT_CURSORS,
        default="accept",
        help="how the API answers hand-built cursors: refused, the first run reads from the "
        "ends only (default: accept, in the real encoding)",
    )
    parser.add_argument(
        "--oauth",
        action="store_true",
        help="authenticate with an access token only: the throttled runs use the OAuth bucket "
        f"({OAUTH_CAPACITY} per {REAL_WINDOW:g} s)",
    )
    parser.add_argument(
        "--latency",
        type=float,
        action="append",
        help="real-scale latency in seconds to run (repeatable); default 0, 0.3, 1 and 1.5",
    )
    parser.add_argument(
        "--exporter-python",
        help="run the exporter with this Python (another release's virtualenv); default: this one",
    )
    args = parser.parse_args()
    global EXPORTER_PYTHON
    EXPORTER_PYTHON = args.exporter_python or sys.executable
    compile_package = (
        "import compileall, os, gorgias_export; "
        "compileall.compile_dir(os.path.dirname(gorgias_export.__file__), quiet=1)"
    )
    subprocess.run([EXPORTER_PYTHON, "-c", compile_package], check=True)  # once, for every run
    sizes = {"10k": 2_900} if args.quick else {"10k": 2_900, "100k": 29_000}
    latencies = tuple(args.latency or (0.0, 0.3, 1.0, 1.5))
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    )
    capacity = OAUTH_CAPACITY if args.oauth else CAPACITY
    print(
        f"bucket: {capacity} per {REAL_WINDOW / TIME_SCALE:g} s "
        f"(real {capacity} per {REAL_WINDOW:g} s, time x{TIME_SCALE:g})"
        + (", OAuth token only" if args.oauth else "")
    )
    results: list[Result] = []
    if args.only in ("cpu", "xlsx"):
        return cpu_only(sizes, results, xlsx=args.only == "xlsx")
    with tempfile.TemporaryDirectory(prefix="gorgias-bench-") as scratch:
        workdir = Path(scratch)
        for name, tickets in sizes.items():
            for latency in latencies:
                refused = "" if args.built_cursors == "accept" else f" {args.built_cursors}"
                label = f"{name} @{latency:g}s{refused}" + (" oauth" if args.oauth else "")
                result = measure(
                    label, tickets, latency, True, workdir, args.built_cursors, args.oauth
                )
                print(table([result]).splitlines()[-1], flush=True)
                results.append(result)
        if args.only == "rate":
            print()
            print(table(results))
            return 0
        for name, tickets in sizes.items():
            results.extend(cpu_and_plain(name, tickets, workdir))
        reruns = xlsx_runs(sizes, results, workdir)
        kill_tickets = 2_900 if args.quick else 29_000
        total, uninterrupted, refetched = measure_kill_resume(kill_tickets, workdir)
    baseline_requests, baseline_hours = measure_per_ticket_baseline(2_900)
    ours = next(r for r in results if r.label == "10k @0s")
    print()
    print(table(results))
    print()
    print("\n".join(reruns))
    print(
        f"kill -9 halfway through a {kill_tickets:,}-ticket export, then rerun: {total:,} "
        f"requests in all, "
        f"against {uninterrupted:,} for an uninterrupted run: {refetched} page(s) fetched twice."
    )
    print(
        f"per-ticket baseline on the 10k data: {baseline_requests:,} requests "
        f"({baseline_hours * 60:.0f} min at the real 2 requests/s) against {ours.requests:,} "
        f"({ours.requests / 2 / 60:.1f} min): {baseline_requests / ours.requests:.0f}x fewer."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
