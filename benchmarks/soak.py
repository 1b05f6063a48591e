"""The fault soak: `python -m benchmarks.soak [--seconds N] [--every N] [--drain N]`.

Two `convene run` on one PostgreSQL (a cluster of the soak's own), Matrix on a real Synapse,
Discord on the fake, all on loopback; people on both platforms send commands, RSVPs, mentor
requests and claims, and create events announced a few seconds later, while a fault is injected
every --every seconds: SIGKILL of either instance (restarted a second later), Synapse restarted,
the Discord gateway dropped, 429 storms on both platforms, the bots' PostgreSQL sessions ended
with `pg_terminate_backend`, PostgreSQL restarted. Then it waits up to --drain seconds for what is
due, and prints, per kind, announcements sent / duplicated / lost / late and commands answered /
answered twice / unanswered, and the takeover times; then one JSON line. The target is n / 0 / 0;
the exit status is 1 when it is missed. The scenario is `tests.support.soak`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path

from tests.support.soak import soak


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=180.0, help="how long faults go on")
    parser.add_argument("--every", type=float, default=8.0, help="seconds between two faults")
    parser.add_argument("--drain", type=float, default=120.0, help="the most to wait after")
    parser.add_argument("--keep", type=Path, help="leave the logs and a timeline in this folder")
    args = parser.parse_args()
    figures = asyncio.run(soak(args.seconds, args.every, args.drain, args.keep))
    print("\n".join(figures.lines()))
    print(json.dumps(figures.as_json()))
    return 0 if figures.ok() else 1


if __name__ == "__main__":
    sys.exit(main())
