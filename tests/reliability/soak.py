"""`make soak`: every reliability scenario at full length, then the figures.

    python -m tests.reliability.soak [--seed N] [--only NAME ...] [--keep DIR]

The seed (printed first) fixes the kill points and fault draws, so a failure can be rerun.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import traceback
from pathlib import Path

from tests.reliability.harness import Workspace, soak_scale
from tests.reliability.tally import TALLY
from tests.reliability.test_reliability import SCENARIOS


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.reliability.soak")
    parser.add_argument("--seed", type=int, default=int(time.time()) % 1_000_000)
    parser.add_argument("--only", nargs="*", choices=list(SCENARIOS), default=list(SCENARIOS))
    parser.add_argument("--keep", type=Path, help="work here and keep the files")
    args = parser.parse_args(argv)
    for name in list(os.environ):
        if name.startswith("GORGIAS_"):
            del os.environ[name]  # as in the tests: no developer settings leak in
    scale = soak_scale(args.seed)
    print(f"soak: seed {args.seed}", flush=True)
    failed = []
    with tempfile.TemporaryDirectory(prefix="gorgias-soak-") as scratch:
        base = args.keep or Path(scratch)
        for name in args.only:
            started = time.monotonic()
            try:
                SCENARIOS[name](scale, Workspace(base / name))
                verdict = "ok"
            except Exception:
                traceback.print_exc()
                failed.append(name)
                verdict = "FAILED"
            print(f"soak: {name}: {verdict} in {time.monotonic() - started:.0f} s", flush=True)
    print(TALLY.summary())
    if failed:
        print(f"soak: FAILED: {', '.join(failed)} (seed {args.seed})", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
