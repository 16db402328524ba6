"""The benchmark behind `make bench`: the portal under load, healthy, degraded and at scale.

Two gunicorn processes on loopback with production settings: the FLG sandbox (200 ms of
injected latency) and the portal. locust, in a process of its own, plays customers who sign in,
view home, start a booking, reload the page three times and refresh once. Prints a table and
writes bench/results.json. It measures; it asserts nothing.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
RESULTS = ROOT / "bench" / "results.json"
INJECTED_MS = 200
FLG_TIMEOUT = 3
# Ten customers keep this 2-core machine busy without queueing every request behind the CPU
# (locust, both servers and PostgreSQL share it); BENCH_USERS=30 shows the saturated picture.
USERS = int(os.environ.get("BENCH_USERS", "10"))
CUSTOMERS = 200
DURATION = os.environ.get("BENCH_DURATION", "40s")
SHORT = os.environ.get("BENCH_SHORT_DURATION", "30s")
PORTAL_WORKERS, PORTAL_THREADS = 2, 8
PG_ADMIN = os.environ.get("BENCH_PG_ADMIN", "postgres://postgres@127.0.0.1:5432/test")
PG_NAME = "bench_portal"

processes: list[subprocess.Popen] = []


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def database(tmp: Path) -> tuple[str, str]:
    """A fresh PostgreSQL database where one is reachable, else a SQLite file."""
    if reachable("127.0.0.1", 5432):
        import psycopg

        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {PG_NAME} WITH (FORCE)")
            conn.execute(f"CREATE DATABASE {PG_NAME}")
        return PG_ADMIN.rsplit("/", 1)[0] + "/" + PG_NAME, "PostgreSQL"
    return f"sqlite:///{tmp / 'bench.sqlite3'}", "SQLite (PostgreSQL not reachable)"


def drop_database() -> None:
    if reachable("127.0.0.1", 5432):
        import psycopg

        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {PG_NAME} WITH (FORCE)")


def base_env(tmp: Path, database_url: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("FLG_", "SECURE_", "PORTAL_", "DJANGO_", "AXES_"))
        and k not in {"DEBUG", "DATABASE_URL", "CACHE_URL"}
    }
    cache = "redis://127.0.0.1:6379/13" if reachable("127.0.0.1", 6379) else "locmemcache://"
    env.update(
        SECRET_KEY=secrets.token_urlsafe(50),
        DEBUG="0",
        ENV_FILE="/nonexistent/.env",
        ALLOWED_HOSTS="127.0.0.1",
        DATABASE_URL=database_url,
        CACHE_URL=cache,
        STATIC_ROOT=str(tmp / "static"),
        # Production settings, but served over plain http on loopback.
        SECURE_SSL_REDIRECT="0",
        SESSION_COOKIE_SECURE="0",
        CSRF_COOKIE_SECURE="0",
        SECURE_HSTS_SECONDS="0",
        FLG_API_KEY="bench-key",
        FLG_TIMEOUT=str(FLG_TIMEOUT),
        # One simulated customer books every second or so; the abuse guard is not under test.
        BOOKING_SESSIONS_PER_MINUTE="100000",
        LOG_LEVEL="WARNING",
    )
    return env


def manage(env: dict[str, str], *args: str) -> None:
    subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, check=True, capture_output=True
    )


def gunicorn(
    env: dict[str, str], port: int, workers: int, threads: int, log: Path
) -> subprocess.Popen:
    env = {
        **env,
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "WEB_CONCURRENCY": str(workers),
        "GUNICORN_THREADS": str(threads),
    }
    process = subprocess.Popen(
        [str(BIN / "gunicorn"), "--config", "gunicorn.conf.py", "bookingportal.wsgi"],
        cwd=ROOT,
        env=env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    processes.append(process)
    for _ in range(200):
        try:
            requests.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
            return process
        except requests.RequestException:
            time.sleep(0.1)
    raise RuntimeError(f"gunicorn on port {port} did not start; see {log}")


def sandbox_calls(env: dict[str, str]) -> int:
    out = subprocess.run(
        [
            sys.executable,
            "manage.py",
            "shell",
            "-c",
            "from flg_sandbox.models import ApiCall; print(ApiCall.objects.count())",
        ],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    return int(out.stdout.strip().splitlines()[-1])


def set_fault(env: dict[str, str], mode: str, hang_seconds: int = 30) -> None:
    code = (
        "from flg_sandbox.models import Fault; "
        f"Fault.objects.update_or_create(pk=1, defaults={{'mode': {mode!r}, "
        f"'latency_ms': {INJECTED_MS}, 'hang_seconds': {hang_seconds}, 'times': None}})"
    )
    manage(env, "shell", "-c", code)


# --- Counting FLG calls per action, with a plain HTTP client -------------------------------


def signed_in(portal: str, number: int) -> requests.Session:
    import re

    session = requests.Session()
    page = session.get(portal + "/accounts/login/")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    session.post(
        portal + "/accounts/login/",
        {
            "username": f"bench-{number}@example.com",
            "password": "bench-password-1",
            "csrfmiddlewaretoken": token,
        },
    )
    return session


def sandbox_p50_ms(sandbox: str, n: int = 10) -> float:
    """FLG's own time for a session, as the portal's client sees it, injected latency included."""
    client = requests.Session()
    timings = []
    for i in range(n):
        clock = time.perf_counter()
        client.post(
            sandbox + "/sandbox/api/v2/appointment-sessions",
            json={
                "lead": str(500000 + i),
                "appointmentType": "39594a1c-72db-4990-a63f-8d5139a5e4e1",
            },
            headers={"Authorization": "Bearer bench-key"},
        )
        timings.append((time.perf_counter() - clock) * 1000)
    return round(sorted(timings)[n // 2], 1)


def count_calls(portal: str, env: dict[str, str], n: int = 10) -> dict[str, float]:
    import re

    customers = [signed_in(portal, CUSTOMERS - 1 - i) for i in range(n)]
    before = sandbox_calls(env)
    pages, timings = [], []
    for session in customers:
        home = session.get(portal + "/")
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', home.text).group(1)
        clock = time.perf_counter()
        started = session.post(
            portal + "/book/consultation/", {"csrfmiddlewaretoken": token}, allow_redirects=False
        )
        timings.append((time.perf_counter() - clock) * 1000)
        pages.append(started.headers["Location"])
    after_starts = sandbox_calls(env)
    for session, page in zip(customers, pages, strict=True):
        session.get(portal + page)
    after_reloads = sandbox_calls(env)
    for session, page in zip(customers, pages, strict=True):
        html = session.get(portal + page).text
        token = re.search(r'data-csrf-token="([^"]+)"', html).group(1)
        session.post(portal + page + "refresh/", headers={"X-CSRFToken": token})
    after_refreshes = sandbox_calls(env)
    return {
        "flg_calls_per_start": (after_starts - before) / n,
        "flg_calls_per_reload": (after_reloads - after_starts) / n,
        "flg_calls_per_refresh": (after_refreshes - after_reloads) / n,
        "start_overhead_p50_ms_unloaded": round(sorted(timings)[n // 2] - INJECTED_MS, 1),
    }


def saturate(
    portal: str, path: str, session: requests.Session | None, seconds: float = 5, clients: int = 8
) -> float:
    """Requests per second a closed loop of `clients` gets from `path`, as fast as it can."""
    done = [0] * clients
    stop = time.monotonic() + seconds

    def loop(i: int) -> None:
        own = requests.Session()
        if session is not None:
            own.cookies.update(session.cookies)
        while time.monotonic() < stop:
            if own.get(portal + path, timeout=10).status_code == 200:
                done[i] += 1

    threads = [threading.Thread(target=loop, args=(i,)) for i in range(clients)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return round(sum(done) / (time.monotonic() - started), 1)


# --- Load --------------------------------------------------------------------------------


class RssSampler(threading.Thread):
    """Peak resident memory of each of the portal's gunicorn workers, sampled while loaded."""

    def __init__(self, master_pid: int) -> None:
        super().__init__(daemon=True)
        self.master_pid = master_pid
        self.peak_kb: dict[int, int] = {}
        self.running = True

    def workers(self) -> list[int]:
        children = Path(f"/proc/{self.master_pid}/task/{self.master_pid}/children")
        try:
            return [int(pid) for pid in children.read_text().split()]
        except OSError:
            return []

    def run(self) -> None:
        while self.running:
            for pid in self.workers():
                try:
                    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                        if line.startswith("VmRSS:"):
                            kb = int(line.split()[1])
                            self.peak_kb[pid] = max(self.peak_kb.get(pid, 0), kb)
                except OSError:
                    pass
            time.sleep(0.25)

    def peak_mb(self) -> float:
        return round(max(self.peak_kb.values(), default=0) / 1024, 1)


def load(portal: str, out: Path, label: str, duration: str) -> dict:
    prefix = out / label
    status_file = out / f"{label}-statuses.json"
    env = {
        **os.environ,
        "BENCH_CUSTOMERS": str(CUSTOMERS - 20),
        "BENCH_STATUS_FILE": str(status_file),
    }
    subprocess.run(
        [
            str(BIN / "locust"),
            "-f",
            str(ROOT / "bench" / "locustfile.py"),
            "--headless",
            "-u",
            str(USERS),
            "-r",
            str(USERS),
            "-t",
            duration,
            "--host",
            portal,
            "--csv",
            str(prefix),
            "--only-summary",
            "--loglevel",
            "WARNING",
        ],
        env=env,
        check=False,
        capture_output=True,
        text=True,
        timeout=600,
    )
    endpoints = {}
    with open(f"{prefix}_stats.csv", newline="") as stats:
        for row in csv.DictReader(stats):
            if row["Name"] == "Aggregated":
                continue
            name = row["Name"]
            # GET and POST of login share a name; keep the busier.
            if name in endpoints and int(row["Request Count"]) < endpoints[name]["requests"]:
                continue
            endpoints[name] = {
                "requests": int(row["Request Count"]),
                "rps": round(float(row["Requests/s"]), 1),
                "p50_ms": float(row["50%"]),
                "p95_ms": float(row["95%"]),
                "p99_ms": float(row["99%"]),
                "mean_ms": round(float(row["Average Response Time"]), 1),
            }
    statuses = json.loads(status_file.read_text()) if status_file.exists() else {}
    return {"endpoints": endpoints, "statuses": statuses}


def main() -> int:
    started = time.monotonic()
    tmp = Path(tempfile.mkdtemp(prefix="bench-"))
    out = ROOT / "bench" / "out"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    try:
        database_url, database_name = database(tmp)
        env = base_env(tmp, database_url)
        print(f"Database: {database_name}; cache: {env['CACHE_URL']}", flush=True)
        manage(env, "migrate", "--noinput")
        manage(env, "collectstatic", "--noinput")
        subprocess.run(
            [sys.executable, "bench/seed.py", "base", str(CUSTOMERS)], cwd=ROOT, env=env, check=True
        )

        sandbox_port, portal_port = free_port(), free_port()
        sandbox_env = {**env, "FLG_SANDBOX": "1", "FLG_SANDBOX_SESSION_TTL": "1800"}
        gunicorn(sandbox_env, sandbox_port, 2, 16, out / "sandbox.log")
        portal_env = {
            **env,
            "FLG_SANDBOX": "0",
            "FLG_DOMAIN": f"http://127.0.0.1:{sandbox_port}/sandbox",
            "FLG_BOOKING_HOSTS": f"127.0.0.1:{sandbox_port}",
        }
        portal_process = gunicorn(
            portal_env, portal_port, PORTAL_WORKERS, PORTAL_THREADS, out / "portal.log"
        )
        portal = f"http://127.0.0.1:{portal_port}"

        print("Counting FLG calls per action…", flush=True)
        calls = count_calls(portal, env)
        flg_p50 = sandbox_p50_ms(f"http://127.0.0.1:{sandbox_port}")

        print("Saturating /healthz, then home, with 8 clients for 5 s each…", flush=True)
        healthz_rps = saturate(portal, "/healthz", None)
        home_rps = saturate(portal, "/", signed_in(portal, CUSTOMERS - 15))

        print(f"Healthy load: {USERS} customers for {DURATION}…", flush=True)
        sampler = RssSampler(portal_process.pid)
        sampler.start()
        healthy = load(portal, out, "healthy", DURATION)
        sampler.running = False
        eps = healthy["endpoints"]

        print(
            f"Degraded load: FLG hangs past FLG_TIMEOUT ({FLG_TIMEOUT} s) for {SHORT}…", flush=True
        )
        set_fault(env, "hang", hang_seconds=FLG_TIMEOUT + 7)
        degraded = load(portal, out, "degraded", SHORT)
        set_fault(env, "none")
        time.sleep(1)

        print("Scale: adding 10,000 customers and 100,000 past sessions…", flush=True)
        subprocess.run(
            [sys.executable, "bench/seed.py", "scale", "10000", "100000"],
            cwd=ROOT,
            env=env,
            check=True,
        )
        # The degraded run opened the circuit breaker; close it before measuring again.
        if env["CACHE_URL"].startswith("redis"):
            manage(env, "shell", "-c", "from appointments import flg; flg.breaker_reset()")
        else:
            time.sleep(31)
        scale = load(portal, out, "scale", SHORT)

        home, start = eps.get("home", {}), eps.get("start", {})
        results = {
            "date": dt.date.today().isoformat(),
            "machine": f"{os.cpu_count()} cores",
            "database": database_name,
            "portal": f"gunicorn gthread, {PORTAL_WORKERS} workers x {PORTAL_THREADS} threads",
            "users": USERS,
            "injected_latency_ms": INJECTED_MS,
            "endpoints": eps,
            **calls,
            "start_overhead_p50_ms": round(start.get("p50_ms", 0) - INJECTED_MS, 1),
            # The sandbox's own answer time, injected latency included, measured directly: the
            # part of a start's overhead that is FLG's (here, the sandbox's), not the portal's.
            "sandbox_session_p50_ms": flg_p50,
            # Capacity of a worker thread for each: the inverse of its mean service time.
            # Saturated throughput of home against /healthz: same servers, same run.
            "home_rps_saturated": home_rps,
            "healthz_rps_saturated": healthz_rps,
            "home_to_healthz_rps_ratio": round(home_rps / healthz_rps, 2) if healthz_rps else None,
            "rss_mb_per_worker": sampler.peak_mb(),
            "degraded": {
                "flg_timeout_s": FLG_TIMEOUT,
                "home_p95_ms": degraded["endpoints"].get("home", {}).get("p95_ms"),
                "home_p95_ratio": round(degraded["endpoints"]["home"]["p95_ms"] / home["p95_ms"], 2)
                if home.get("p95_ms") and "home" in degraded["endpoints"]
                else None,
                "server_errors": sum(
                    n for key, n in degraded["statuses"].items() if key.endswith(" 500")
                ),
                "statuses": degraded["statuses"],
            },
            "scale": {
                "customers": CUSTOMERS + 10000,
                "past_sessions": 100000,
                "home_p50_ms": scale["endpoints"].get("home", {}).get("p50_ms"),
                "session_p50_ms": scale["endpoints"].get("session", {}).get("p50_ms"),
                "small_home_p50_ms": home.get("p50_ms"),
                "small_session_p50_ms": eps.get("session", {}).get("p50_ms"),
            },
            "server_errors_healthy": sum(
                n for key, n in healthy["statuses"].items() if key.endswith(" 500")
            ),
            "seconds": round(time.monotonic() - started),
        }
        RESULTS.write_text(json.dumps(results, indent=2) + "\n")
        print_table(results)
        return 0
    finally:
        for process in processes:
            try:
                os.killpg(process.pid, signal.SIGTERM)
                process.wait(timeout=15)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                pass
        drop_database()
        shutil.rmtree(tmp, ignore_errors=True)


def print_table(r: dict) -> None:
    print()
    print(f"{'endpoint':<10}{'req/s':>8}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'requests':>10}")
    for name, e in sorted(r["endpoints"].items()):
        print(
            f"{name:<10}{e['rps']:>8}{e['p50_ms']:>9.0f}{e['p95_ms']:>9.0f}"
            f"{e['p99_ms']:>9.0f}{e['requests']:>10}"
        )
    print()
    rows = [
        (
            "FLG calls per start / reload / refresh",
            " / ".join(
                str(r[k])
                for k in ("flg_calls_per_start", "flg_calls_per_reload", "flg_calls_per_refresh")
            ),
        ),
        ("start overhead p50 (start p50 - 200 ms), under load", f"{r['start_overhead_p50_ms']} ms"),
        ("start overhead p50, one customer at a time", f"{r['start_overhead_p50_ms_unloaded']} ms"),
        (
            "  of which the sandbox's own answer beyond 200 ms",
            f"{round(r['sandbox_session_p50_ms'] - INJECTED_MS, 1)} ms",
        ),
        (
            "home : healthz saturated req/s",
            f"{r['home_to_healthz_rps_ratio']} ({r['home_rps_saturated']} / "
            f"{r['healthz_rps_saturated']})",
        ),
        ("peak RSS per portal worker", f"{r['rss_mb_per_worker']} MB"),
        ("hanging FLG: home p95 vs healthy", r["degraded"]["home_p95_ratio"]),
        ("hanging FLG: responses with status 500", r["degraded"]["server_errors"]),
        (
            "10k customers, 100k sessions: home p50",
            f"{r['scale']['home_p50_ms']} ms (small: {r['scale']['small_home_p50_ms']} ms)",
        ),
        (
            "10k customers, 100k sessions: session p50",
            f"{r['scale']['session_p50_ms']} ms (small: {r['scale']['small_session_p50_ms']} ms)",
        ),
    ]
    for label, value in rows:
        print(f"{label:<55}{value}")
    print(
        f"\n{r['database']}, {r['portal']}, {r['users']} simulated customers; "
        f"{r['seconds']} s in all. Written to bench/results.json."
    )


if __name__ == "__main__":
    sys.exit(main())
