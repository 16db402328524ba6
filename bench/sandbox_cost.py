"""What one FLG call costs the sandbox itself: `python -m bench.sandbox_cost`.

The bench reports a start's time beyond the latency the sandbox injects; part of that is the
sandbox's own work, which a real FLG would not add. This starts the sandbox alone under gunicorn
with the bench's settings and database and prints, for the appointment sessions endpoint: the
CPU its processes spend per call (counted at the server, as bench/stages/cpu.py counts the
portal's) and the CPU of the PostgreSQL backends serving it, the wall time per call made one
after another, and the SQL queries per call (in-process, Django's test client). Once with no
injected latency, once with LATENCY_MS: a call then gives its connection back while it waits,
and wakes to cold caches, as every call in the bench does. The in-process half also writes a
cProfile of N calls to bench/out/sandbox-cost/.

Give it a database and Redis db of its own when others share the servers:
BENCH_PG_NAME=h_sandbox BENCH_REDIS_DB=11 python -m bench.sandbox_cost [N]
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import requests

from bench import database, processes, servers, workspace
from bench.config import OUT, SANDBOX_THREADS, SANDBOX_WORKERS
from bench.procfs import CLOCK_TICKS, children, stat, tree_cpu_seconds
from bench.report import say

CALLS = 300
ROUNDS = 3
API = "/sandbox/api/v2/appointment-sessions"
# bench/seed.py's key, type and first lead: a call FLG accepts.
KEY = "bench-key"
BODY = {"lead": "500001", "appointmentType": "39594a1c-72db-4990-a63f-8d5139a5e4e1"}
HERE = OUT / "sandbox-cost"
# The second measurement's injected latency: its wall figures are beyond it.
LATENCY_MS = 50


def main(calls: int) -> int:
    shutil.rmtree(HERE, ignore_errors=True)
    HERE.mkdir(parents=True)
    # No static files: the sandbox's API serves none.
    with workspace.prepared("bench-sandbox-cost-", customers=20, static=False) as run:
        work = run.work
        servers.set_fault(work, "none", 0)
        say(f"The sandbox alone under gunicorn ({run.database}), no injected latency…")
        port = processes.free_port()
        sandbox = processes.gunicorn(
            work.src,
            {**work.env, "FLG_SANDBOX_SESSION_TTL": "1800"},
            port,
            SANDBOX_WORKERS,
            SANDBOX_THREADS,
            HERE / "sandbox.log",
        )
        url = f"http://127.0.0.1:{port}{API}"
        over_http = http_costs(sandbox.pid, url, calls)
        # With latency the call gives its connection back while it waits, and takes one again.
        servers.set_fault(work, "none", LATENCY_MS)
        slowed = http_costs(sandbox.pid, url, calls // 3, latency_ms=LATENCY_MS)
        over_http |= {f"{name}_at_{LATENCY_MS}ms": value for name, value in slowed.items()}
        servers.set_fault(work, "none", 0)
        in_process = subprocess.run(
            [sys.executable, "-m", "bench.sandbox_cost", "--in-process", str(calls), str(HERE)],
            cwd=work.src,
            env=work.env,
            check=True,
            capture_output=True,
            text=True,
        )
        figures = {**over_http, **json.loads(in_process.stdout.strip().splitlines()[-1])}
        for name, value in figures.items():
            print(f"{name:>28}: {value}")
        (HERE / "figures.json").write_text(json.dumps(figures, indent=2) + "\n")
        return 0


def http_costs(master: int, url: str, calls: int, latency_ms: int = 0) -> dict[str, float]:
    """CPU at the sandbox's processes and wall time per call beyond the injected latency, over
    CALLS sequential calls: the least CPU of ROUNDS rounds, since anything else on the machine
    can only add to a round."""
    client = requests.Session()
    client.headers["Authorization"] = f"Bearer {KEY}"
    payload = json.dumps(BODY)
    headers = {"Content-Type": "application/json"}
    for _ in range(30):
        client.post(url, data=payload, headers=headers, timeout=10).raise_for_status()
    best: dict[str, float] = {}
    for _ in range(ROUNDS):
        workers = set(children(master))
        before, database_before = tree_cpu_seconds(master), database_cpu_seconds()
        walls = []
        for _ in range(calls):
            clock = time.perf_counter()
            client.post(url, data=payload, headers=headers, timeout=10).raise_for_status()
            walls.append(time.perf_counter() - clock - latency_ms / 1000)
        used = tree_cpu_seconds(master) - before
        database_used = database_cpu_seconds() - database_before
        if set(children(master)) != workers:
            continue  # a worker recycled by max_requests: its boot is in the sum
        cpu_ms = used / calls * 1000
        if not best or cpu_ms < best["server_cpu_ms_per_call"]:
            best = {
                "server_cpu_ms_per_call": round(cpu_ms, 2),
                "database_cpu_ms_per_call": round(database_used / calls * 1000, 2),
                "wall_p50_ms": round(statistics.median(walls) * 1000, 2),
                "wall_mean_ms": round(statistics.fmean(walls) * 1000, 2),
            }
    return best


def database_cpu_seconds() -> float:
    """CPU of the PostgreSQL backends serving the bench's database (the sandbox's pool keeps
    its connections, so the same backends serve a whole round); 0 on SQLite."""
    if not database.postgres_wanted():
        return 0.0
    import psycopg

    with psycopg.connect(database.PG_ADMIN, autocommit=True, connect_timeout=5) as conn:
        pids = conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s", [database.PG_NAME]
        ).fetchall()
    total = 0
    for (pid,) in pids:
        try:
            fields = stat(pid)
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / CLOCK_TICKS


def in_process(calls: int, out: Path) -> None:
    """Queries and CPU per call through Django's handler, no server: run with the bench's env."""
    import cProfile
    import pstats

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bookingportal.settings")
    import django

    django.setup()
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client(HTTP_HOST="127.0.0.1", HTTP_AUTHORIZATION=f"Bearer {KEY}")
    payload = json.dumps(BODY)

    def call() -> None:
        answer = client.post(API, data=payload, content_type="application/json")
        assert answer.status_code == 200, answer.status_code

    for _ in range(30):
        call()
    with CaptureQueriesContext(connection) as queries:
        call()
    # Read now: the log is the connection's, and emptied when it goes back to the pool.
    sql = [q["sql"] for q in queries.captured_queries]
    (out / "queries.txt").write_text("\n".join(sql) + "\n")
    cpu = time.process_time()
    for _ in range(calls):
        call()
    cpu_ms = (time.process_time() - cpu) / calls * 1000
    profile = cProfile.Profile(time.process_time)
    profile.enable()
    for _ in range(calls):
        call()
    profile.disable()
    profile.dump_stats(out / "sandbox.prof")
    with (out / "sandbox-cprofile.txt").open("w") as stream:
        pstats.Stats(profile, stream=stream).sort_stats("cumulative").print_stats(80)
    figures = {"queries_per_call": len(sql), "in_process_cpu_ms_per_call": round(cpu_ms, 2)}
    print(json.dumps(figures))


if __name__ == "__main__":
    if sys.argv[1:2] == ["--in-process"]:
        in_process(int(sys.argv[2]), Path(sys.argv[3]))
        sys.exit(0)
    sys.exit(main(int(sys.argv[1]) if len(sys.argv) > 1 else CALLS))
