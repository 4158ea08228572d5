"""`make demo`: start the simulator, run a real `gorgias-export tickets` against it, check it.

The export runs as a separate process, exactly as a user would run it, with the simulator's
rate limit on, so the progress bar, the pacing and the summary are the real ones.
"""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

from gorgias_sim import SimConfig, Simulator

DEMO_DIR = Path("demo")
TICKETS = 1000


def main() -> int:
    DEMO_DIR.mkdir(exist_ok=True)
    output = DEMO_DIR / "tickets.csv"
    config = SimConfig(seed=7, tickets=TICKETS, email="demo@example.com", api_key="demo-key")
    with Simulator(config) as simulator:
        print(f"Simulator: {simulator.url} ({TICKETS} tickets, bucket 40 per 20 s)", flush=True)
        env = {
            **os.environ,
            "GORGIAS_BASE_URL": simulator.url,
            "GORGIAS_EMAIL": config.email,
            "GORGIAS_API_KEY": config.api_key,
        }
        command = [
            sys.executable,
            "-m",
            "gorgias_export",
            "tickets",
            "--out",
            str(output),
            "--fresh",
        ]
        print("$ gorgias-export tickets --out", output, "--fresh", flush=True)
        finished = subprocess.run(command, env=env, check=False)
        if finished.returncode != 0:
            return finished.returncode
        expected = len(simulator.dataset.messages) + sum(
            1 for ticket in simulator.dataset.tickets if ticket["messages_count"] == 0
        )
        requests_made = simulator.count()
    csv.field_size_limit(sys.maxsize)
    with output.open(newline="", encoding="utf-8") as handle:
        written = sum(1 for _ in csv.DictReader(handle))
    verdict = "matches" if written == expected else "DOES NOT MATCH"
    print(f"{output.resolve()}: {written} rows, {verdict} the simulator's {expected} expected rows")
    print(f"The simulator served {requests_made} requests.")
    return 0 if written == expected else 1


if __name__ == "__main__":
    sys.exit(main())
