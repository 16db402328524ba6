"""Where a request's CPU goes: `python -m bench.profile` (or `make bench-profile`).

The bench's set-up (a fresh database, the sandbox under gunicorn with FLG answering at once),
then the portal in a process of its own with the production settings the bench uses, where
pyinstrument profiles N requests of each of home, the session page, a start and a refresh,
made through Django's WSGI handler (no socket, no server: what is left is the portal's own
work). Writes bench/out/profile-<page>.html and .txt, and prints the top of each.
"""

from __future__ import annotations

import shutil
import subprocess
import sys

from bench import servers, workspace
from bench.config import OUT
from bench.report import say

REQUESTS = 300


def main() -> int:
    shutil.rmtree(OUT, ignore_errors=True)
    OUT.mkdir(parents=True)
    with workspace.prepared("bench-profile-", customers=20) as run:
        work = run.work
        portal = servers.start(work)
        servers.set_fault(work, "none", 0)
        sandbox = portal.sandbox
        say(f"Profiling {REQUESTS} requests of each page in-process ({run.database})…")
        subprocess.run(
            [sys.executable, "-m", "bench.profile_pages", str(REQUESTS), str(OUT)],
            cwd=work.src,
            env={
                **work.env,
                "FLG_SANDBOX": "0",
                "FLG_DOMAIN": sandbox,
                "FLG_BOOKING_HOSTS": sandbox.split("/")[2],
            },
            check=True,
            stderr=(OUT / "profile.log").open("w"),
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
