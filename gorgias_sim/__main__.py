"""Run the simulator in the foreground: `python -m gorgias_sim --port 8765`."""

from __future__ import annotations

import argparse
import sys
import time

from .config import BUILT_CURSORS, SimConfig
from .server import Simulator


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m gorgias_sim",
        description="Serve a simulated Gorgias REST API on 127.0.0.1 until Ctrl-C.",
    )
    p.add_argument("--port", type=int, default=8765, help="port to listen on (0: any free one)")
    p.add_argument("--tickets", type=int, default=500, help="number of tickets to generate")
    p.add_argument("--seed", type=int, default=1, help="seed of the generated data")
    p.add_argument("--no-rate-limit", action="store_true", help="turn the leaky bucket off")
    p.add_argument("--latency", type=float, default=0.0, help="seconds added to every response")
    p.add_argument("--cursor-ttl", type=float, default=None, help="seconds a cursor stays valid")
    p.add_argument(
        "--built-cursors",
        choices=BUILT_CURSORS,
        default="accept",
        help="how a cursor the server never issued is answered",
    )
    p.add_argument("--email", default=SimConfig.email, help="the accepted Basic-auth user")
    p.add_argument("--api-key", default=SimConfig.api_key, help="the accepted Basic-auth password")
    p.add_argument(
        "--access-token",
        default=SimConfig.access_token,
        help="the accepted OAuth Bearer token (80-request bucket)",
    )
    p.add_argument(
        "--token-lifetime",
        type=int,
        default=None,
        help="requests after which the token has expired (401)",
    )
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    config = SimConfig(
        seed=args.seed,
        tickets=args.tickets,
        email=args.email,
        api_key=args.api_key,
        access_token=args.access_token,
        token_lifetime=args.token_lifetime,
        rate_limit=not args.no_rate_limit,
        latency=args.latency,
        cursor_ttl=args.cursor_ttl,
        built_cursors=args.built_cursors,
    )
    sim = Simulator(config, port=args.port).start()
    ds = sim.dataset
    # stdout carries only the URL, so scripts can read it; the rest goes to stderr.
    print(sim.url, flush=True)
    print(
        f"{len(ds.tickets)} tickets, {len(ds.messages)} messages; user {config.email}; "
        "Ctrl-C to stop",
        file=sys.stderr,
        flush=True,
    )
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        sim.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
