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
import tempfile
from pathlib import Path

from bench import database, processes, servers, workspace
from bench.config import OUT
from bench.report import say

REQUESTS = 300


def main() -> int:
    tmp = Path(tempfile.mkdtemp(prefix="bench-profile-"))
    shutil.rmtree(OUT, ignore_errors=True)
    OUT.mkdir(parents=True)
    database_name = ""
    cache = database.cache_url()
    try:
        src = workspace.snapshot(tmp)
        database_url, database_name = database.database(tmp)
        database.flush_cache(cache)
        env = workspace.base_env(tmp, database_url, cache)
        work = workspace.Workspace(src=src, env=env, cache=cache)
        workspace.manage(work, "migrate", "--noinput")
        workspace.manage(work, "collectstatic", "--noinput")
        workspace.seed(work, "base", "20")
        portal = servers.start(work)
        servers.set_fault(work, "none", 0)
        sandbox = portal.sandbox
        say(f"Profiling {REQUESTS} requests of each page in-process ({database_name})…")
        subprocess.run(
            [sys.executable, "-m", "bench.profile_pages", str(REQUESTS), str(OUT)],
            cwd=src,
            env={
                **env,
                "FLG_SANDBOX": "0",
                "FLG_DOMAIN": sandbox,
                "FLG_BOOKING_HOSTS": sandbox.split("/")[2],
            },
            check=True,
            stderr=(OUT / "profile.log").open("w"),
        )
        return 0
    finally:
        processes.stop_everything()
        database.drop_database(database_name)
        database.flush_cache(cache)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
