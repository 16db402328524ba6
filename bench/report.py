"""The benchmark behind `make bench`: the portal under load, healthy, degraded and at scale.

Two gunicorn processes on loopback with production settings (gunicorn.conf.py): the FLG sandbox
with 200 ms of injected latency, and the portal pointed at it. locust, in a process of its own,
plays customers who sign in, view home, start a booking, reload the page three times and refresh
once, with one more user probing /healthz. Prints a table and writes bench/results.json. It
measures and reports; it asserts nothing, and exits non-zero only when it could not run.

Phases: set-up; a counting pass (FLG calls per action, at the sandbox); CPU per request at the
portal's processes (healthz, home, session page); the healthy load; the same load with FLG
hanging past FLG_TIMEOUT; 10,000 customers and 100,000 past sessions added, then CPU per request
and the load again. Everything it starts is stopped, and its database dropped, on the way out,
Ctrl-C and SIGTERM included.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import json
import math
import os
import re
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
from typing import Any

import requests

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
OUT = ROOT / "bench" / "out"
RESULTS = ROOT / "bench" / "results.json"
# What the servers run: a copy of the working tree taken at the start (see snapshot()).
CODE = ["manage.py", "gunicorn.conf.py", "bookingportal", "appointments", "flg_sandbox"]
CODE += ["templates", "static", "bench/seed.py", "bench/locustfile.py"]
SRC = ROOT

INJECTED_MS = 200
# Small, so the degraded phase sees several timeouts; the portal's default is 10 s.
FLG_TIMEOUT = 3
HANG_SECONDS = FLG_TIMEOUT + 7
# Ten customers keep this 2-core machine busy without queueing every request behind the CPU
# (locust, both servers, PostgreSQL and Redis share it); BENCH_USERS=30 shows it saturated.
USERS = int(os.environ.get("BENCH_USERS", "10"))
DURATION = os.environ.get("BENCH_DURATION", "40s")
SHORT = os.environ.get("BENCH_SHORT_DURATION", "30s")
CUSTOMERS = 200  # the last RESERVED are the counting pass's and the CPU measurement's
RESERVED = 20
SCALE_CUSTOMERS, SCALE_SESSIONS = 10_000, 100_000
PORTAL_WORKERS, PORTAL_THREADS = 2, 8
SANDBOX_WORKERS, SANDBOX_THREADS = 2, 16
PG_ADMIN = os.environ.get("BENCH_PG_ADMIN", "postgres://postgres@127.0.0.1:5432/test")
PG_NAME = "bench_portal"
REDIS_DB = 13  # the test suite uses 15; the bench empties 13 before and after
TYPE_SLUG = "consultation"
PASSWORD = "bench-password-1"  # bench/seed.py's customers
TOKEN = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
PAGE_TOKEN = re.compile(r'data-csrf-token="([^"]+)"')

servers: list[subprocess.Popen] = []
loaders: list[subprocess.Popen] = []


def say(message: str) -> None:
    print(message, flush=True)


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


# --- Database and cache --------------------------------------------------------------------


def postgres_wanted() -> bool:
    return os.environ.get("BENCH_DATABASE", "") != "sqlite" and reachable("127.0.0.1", 5432)


def database(tmp: Path) -> tuple[str, str]:
    """A fresh PostgreSQL database where one is reachable, else a SQLite file."""
    if postgres_wanted():
        import psycopg

        try:
            with psycopg.connect(PG_ADMIN, autocommit=True, connect_timeout=5) as conn:
                conn.execute(f"DROP DATABASE IF EXISTS {PG_NAME} WITH (FORCE)")
                conn.execute(f"CREATE DATABASE {PG_NAME}")
            return PG_ADMIN.rsplit("/", 1)[0] + "/" + PG_NAME, "PostgreSQL"
        except psycopg.Error as exc:
            say(f"PostgreSQL answers but refused the bench database ({exc}); using SQLite.")
    forced = os.environ.get("BENCH_DATABASE", "") == "sqlite"
    why = "BENCH_DATABASE=sqlite" if forced else "PostgreSQL not reachable"
    return f"sqlite:///{tmp / 'bench.sqlite3'}", f"SQLite ({why})"


def drop_database(name: str) -> None:
    if name != "PostgreSQL":
        return
    import psycopg

    try:
        with psycopg.connect(PG_ADMIN, autocommit=True, connect_timeout=5) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {PG_NAME} WITH (FORCE)")
    except psycopg.Error as exc:
        say(f"Could not drop the database {PG_NAME}: {exc}")


def cache_url() -> str:
    if reachable("127.0.0.1", 6379):
        return f"redis://127.0.0.1:6379/{REDIS_DB}"
    return "locmemcache://bench"


def flush_cache(url: str) -> None:
    # A breaker left open or sessions left over by an earlier run would change what we measure.
    if url.startswith("redis://"):
        import redis

        try:
            redis.Redis.from_url(url, socket_timeout=5).flushdb()
        except redis.RedisError as exc:
            say(f"Could not empty Redis database {REDIS_DB}: {exc}")


def base_env(tmp: Path, database_url: str, cache: str) -> dict[str, str]:
    """Production settings (DEBUG off, a fresh random key), served over plain http on loopback."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("FLG_", "SECURE_", "PORTAL_", "DJANGO_", "AXES_", "GUNICORN_", "LOG_"))
        and k not in {"DEBUG", "DATABASE_URL", "CACHE_URL", "WEB_CONCURRENCY", "ALLOWED_HOSTS"}
    }
    env.update(
        SECRET_KEY=secrets.token_urlsafe(50),
        DEBUG="0",
        ENV_FILE="/nonexistent/.env",
        ALLOWED_HOSTS="127.0.0.1",
        DATABASE_URL=database_url,
        CACHE_URL=cache,
        STATIC_ROOT=str(tmp / "static"),
        # The switches settings.py offers for production settings over plain http.
        SECURE_SSL_REDIRECT="0",
        SESSION_COOKIE_SECURE="0",
        CSRF_COOKIE_SECURE="0",
        SECURE_HSTS_SECONDS="0",
        FLG_API_KEY="bench-key",
        FLG_TIMEOUT=str(FLG_TIMEOUT),
        # Each simulated customer books every two seconds or so, far past the abuse guard of
        # 10 a minute; the guard's cost (two cache calls a start) is still paid.
        BOOKING_SESSIONS_PER_MINUTE="100000",
        # As in production: one JSON line per request, and one per FLG call (which run.py reads
        # back to split a start's time between the portal and FLG).
        LOG_LEVEL="INFO",
        LOG_FORMAT="json",
    )
    return env


def manage(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=SRC,
        env=env,
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise RuntimeError(f"manage.py {' '.join(args[:2])} failed:\n{done.stderr[-3000:]}")
    return done.stdout


def seed(env: dict[str, str], *args: str) -> None:
    subprocess.run([sys.executable, "bench/seed.py", *args], cwd=SRC, env=env, check=True)


def sandbox_calls(env: dict[str, str]) -> int:
    """Requests that reached FLG's endpoint so far: the sandbox's own count (ApiCall rows)."""
    code = "from flg_sandbox.models import ApiCall; print(ApiCall.objects.count())"
    return int(manage(env, "shell", "-c", code).strip().splitlines()[-1])


def set_fault(env: dict[str, str], mode: str) -> None:
    code = (
        "from flg_sandbox.models import Fault; "
        f"Fault.objects.update_or_create(pk=1, defaults={{'mode': {mode!r}, "
        f"'latency_ms': {INJECTED_MS}, 'hang_seconds': {HANG_SECONDS}, 'times': None}})"
    )
    manage(env, "shell", "-c", code)


def snapshot(tmp: Path) -> Path:
    """Copy the code the servers run, so the whole run measures one version of it.

    gunicorn recycles a worker every couple of thousand requests (max_requests), and a new
    worker imports what is on disk then: an edit saved mid-run would be half measured, or a
    half-finished one would answer 500s.
    """
    src = tmp / "src"
    for name in CODE:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(
                source, src / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc")
            )
        else:
            (src / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, src / name)
    return src


# --- Processes -----------------------------------------------------------------------------


def gunicorn(
    env: dict[str, str], port: int, workers: int, threads: int, log: Path
) -> subprocess.Popen:
    """gunicorn with the project's gunicorn.conf.py, as the Dockerfile runs it."""
    env = {
        **env,
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "WEB_CONCURRENCY": str(workers),
        "GUNICORN_THREADS": str(threads),
    }
    process = subprocess.Popen(
        # No control socket: two servers (and the test suite's) would share one path.
        [
            str(BIN / "gunicorn"),
            "-c",
            "gunicorn.conf.py",
            "--no-control-socket",
            "bookingportal.wsgi",
        ],
        cwd=SRC,
        env=env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    servers.append(process)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn on port {port} exited; see {log}")
        try:
            if requests.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                # Every worker up, not just the first.
                while len(children(process.pid)) < workers and time.monotonic() < deadline:
                    time.sleep(0.1)
                return process
        except requests.RequestException:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"gunicorn on port {port} did not answer /healthz in 30 s; see {log}")


def stop_everything() -> None:
    for process in loaders:
        if process.poll() is None:
            process.terminate()
    for process in servers:
        try:
            os.killpg(process.pid, signal.SIGTERM)
        except ProcessLookupError:
            continue
    for process in loaders + servers:
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            try:
                os.killpg(process.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                process.kill()
            process.wait(timeout=5)


def _terminate(signum: int, frame: Any) -> None:
    raise SystemExit(128 + signum)


# --- /proc: CPU time and memory of the portal's processes ---------------------------------

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _stat(pid: int) -> list[str]:
    # Fields after the command name, which may itself hold spaces: [0] is field 3 (state).
    return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()


def children(pid: int) -> list[int]:
    found = []
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                if int(_stat(int(entry.name))[1]) == pid:
                    found.append(int(entry.name))
            except (OSError, IndexError):
                continue
    return found


def tree_cpu_seconds(master: int) -> float:
    """CPU of a gunicorn master, its live workers, and the workers it has reaped."""
    total = 0
    for pid in children(master):
        try:
            fields = _stat(pid)
            total += int(fields[11]) + int(fields[12])  # utime, stime
        except (OSError, IndexError):
            continue
    fields = _stat(master)
    total += sum(int(x) for x in fields[11:15])  # utime, stime, cutime, cstime
    return total / CLOCK_TICKS


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


class RssSampler(threading.Thread):
    """Peak resident memory of any one of the portal's workers, sampled four times a second."""

    def __init__(self, master: int) -> None:
        super().__init__(daemon=True)
        self.master = master
        self.peak_kb = 0
        self.stopping = threading.Event()

    def run(self) -> None:
        while not self.stopping.is_set():
            for pid in children(self.master):
                with contextlib.suppress(OSError):
                    self.peak_kb = max(self.peak_kb, rss_kb(pid))
            self.stopping.wait(0.25)

    def take_peak_mb(self) -> float:
        peak, self.peak_kb = self.peak_kb, 0
        return round(peak / 1024, 1)


# --- Plain HTTP clients: counting FLG calls, CPU per request ------------------------------


def signed_in(portal: str, number: int) -> requests.Session:
    client = requests.Session()
    page = client.get(portal + "/accounts/login/", timeout=30)
    answer = client.post(
        portal + "/accounts/login/",
        {
            "username": f"bench-{number}@example.com",
            "password": PASSWORD,
            "csrfmiddlewaretoken": TOKEN.search(page.text).group(1),
        },
        allow_redirects=False,
        timeout=30,
    )
    if answer.status_code != 302:
        raise RuntimeError(f"Sign-in as bench-{number} answered {answer.status_code}")
    return client


def start(portal: str, client: requests.Session) -> str:
    """POST a plain start (as a customer's first click) and return the session page's path."""
    home = client.get(portal + "/", timeout=30)
    answer = client.post(
        portal + f"/book/{TYPE_SLUG}/",
        {"csrfmiddlewaretoken": TOKEN.search(home.text).group(1)},
        allow_redirects=False,
        timeout=30,
    )
    if answer.status_code != 303:
        raise RuntimeError(f"A start answered {answer.status_code}, not 303")
    return answer.headers["Location"]


def count_calls(portal: str, env: dict[str, str], n: int = 10) -> dict[str, float]:
    """N starts, N reloads, N refreshes, one customer at a time; FLG calls counted at FLG."""
    clients = [signed_in(portal, CUSTOMERS - 1 - i) for i in range(n)]
    before = sandbox_calls(env)
    pages = [start(portal, client) for client in clients]
    after_starts = sandbox_calls(env)
    tokens = []
    for client, page in zip(clients, pages, strict=True):
        html = client.get(portal + page, timeout=30).text
        tokens.append(PAGE_TOKEN.search(html).group(1))
    after_reloads = sandbox_calls(env)
    for client, page, token in zip(clients, pages, tokens, strict=True):
        answer = client.post(portal + page + "refresh/", headers={"X-CSRFToken": token}, timeout=30)
        if answer.status_code != 200:
            raise RuntimeError(f"A refresh answered {answer.status_code}, not 200")
    after_refreshes = sandbox_calls(env)
    return {
        "flg_calls_per_start": (after_starts - before) / n,
        "flg_calls_per_reload": (after_reloads - after_starts) / n,
        "flg_calls_per_refresh": (after_refreshes - after_reloads) / n,
    }


def one_at_a_time_starts(portal: str, n: int = 15) -> list[float]:
    """Wall time of real starts (start over), one customer, nothing else running."""
    client = signed_in(portal, CUSTOMERS - 12)
    token = TOKEN.search(client.get(portal + "/", timeout=30).text).group(1)
    timings = []
    for _ in range(n):
        clock = time.perf_counter()
        answer = client.post(
            portal + f"/book/{TYPE_SLUG}/",
            {"csrfmiddlewaretoken": token, "start_over": "1"},
            allow_redirects=False,
            timeout=30,
        )
        timings.append((time.perf_counter() - clock) * 1000)
        if answer.status_code != 303:
            raise RuntimeError(f"A start answered {answer.status_code}, not 303")
    return timings


def cpu_per_request(master: int, client: requests.Session, url: str, n: int) -> dict[str, float]:
    """CPU the portal's processes spend on one request, over N sequential requests.

    Counted at the server, so neither the client nor anything else on the machine is in it.
    A worker recycled by max_requests mid-measurement would bring its boot into the sum: then
    it measures again.
    """
    for _ in range(10):
        client.get(url, timeout=10)
    for _ in range(3):
        workers = set(children(master))
        before, clock, errors = tree_cpu_seconds(master), time.perf_counter(), 0
        for _ in range(n):
            if client.get(url, timeout=10).status_code != 200:
                errors += 1
        wall = time.perf_counter() - clock
        used = tree_cpu_seconds(master) - before
        if set(children(master)) == workers:
            break
    return {
        "cpu_ms": round(used / n * 1000, 2),
        "wall_ms": round(wall / n * 1000, 2),
        "requests": n,
        "errors": errors,
    }


def cpu_costs(master: int, portal: str, customer: int) -> dict[str, dict[str, float]]:
    """CPU per request of /healthz, home and a session page: the least of three interleaved
    rounds, since anything else running on the machine can only make a round costlier."""
    client = signed_in(portal, customer)
    page = start(portal, client)
    targets = {
        # As an orchestrator's probe asks: no cookie.
        "healthz": (requests.Session(), portal + "/healthz", 500),
        "home": (client, portal + "/", 150),
        "session": (client, portal + page, 150),
    }
    best: dict[str, dict[str, float]] = {}
    for _ in range(3):
        for name, (who, url, n) in targets.items():
            measured = cpu_per_request(master, who, url, n)
            if name not in best or measured["cpu_ms"] < best[name]["cpu_ms"]:
                best[name] = measured
    return best


# --- The portal's own log: a start's time, split between the portal and FLG ---------------


def percentile(values: list[float], p: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)], 1)


def log_breakdown(log: Path, since: int, until: int) -> dict[str, Any]:
    """From the JSON lines between two offsets: per start and refresh, the request's time in
    Django and the FLG call's time within it (same request id)."""
    with log.open("rb") as f:
        f.seek(since)
        text = f.read(until - since).decode(errors="replace")
    by_id: dict[str, dict[str, Any]] = {}
    for line in text.splitlines():
        if not line.startswith("{"):
            continue
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if record.get("event") in {"request", "flg_call"}:
            by_id.setdefault(record.get("request_id", "-"), {})[record["event"]] = record
    split: dict[str, dict[str, list[float]]] = {
        "start": {"own": [], "flg": []},
        "refresh": {"own": [], "flg": []},
    }
    for item in by_id.values():
        request, call = item.get("request"), item.get("flg_call")
        if not request or not call or request.get("method") != "POST":
            continue
        kind = "refresh" if request["path"].endswith("/refresh/") else "start"
        split[kind]["own"].append(request["latency_ms"] - call["latency_ms"])
        split[kind]["flg"].append(call["latency_ms"])
    result: dict[str, Any] = {}
    for kind, values in split.items():
        result[kind] = {
            "count": len(values["own"]),
            "portal_own_p50_ms": percentile(values["own"], 50),
            "portal_own_p95_ms": percentile(values["own"], 95),
            "flg_call_p50_ms": percentile(values["flg"], 50),
            "flg_beyond_injected_p50_ms": (
                round(percentile(values["flg"], 50) - INJECTED_MS, 1) if values["flg"] else None
            ),
        }
    return result


def breaker_openings(log: Path, since: int, until: int, origin: float) -> list[float]:
    """When (seconds after `origin`) the portal logged its FLG circuit breaker opening."""
    with log.open("rb") as f:
        f.seek(since)
        text = f.read(until - since).decode(errors="replace")
    moments = set()
    for line in text.splitlines():
        if line.startswith("{") and "circuit breaker open" in line:
            with contextlib.suppress(ValueError, KeyError):
                at = dt.datetime.fromisoformat(json.loads(line)["time"]).timestamp()
                moments.add(round(at - origin))
    return sorted(moments)


# --- Load ----------------------------------------------------------------------------------


def load(portal: str, label: str, duration: str) -> dict[str, Any]:
    """One headless locust run; per endpoint: req/s, and latency percentiles of every answer."""
    prefix = OUT / label
    status_file = OUT / f"{label}-statuses.json"
    env = {
        **os.environ,
        "BENCH_CUSTOMERS": str(CUSTOMERS - RESERVED),
        "BENCH_STATUS_FILE": str(status_file),
        "BENCH_SLOW_MS": str(FLG_TIMEOUT * 1000 * 0.9),
    }
    with (OUT / f"{label}-locust.log").open("w") as log:
        process = subprocess.Popen(
            [
                str(BIN / "locust"),
                "-f",
                str(SRC / "bench" / "locustfile.py"),
                "--headless",
                "--users",
                str(USERS + 1),
                "--spawn-rate",
                str(USERS + 1),
                "--run-time",
                duration,
                "--stop-timeout",
                "5",
                "--host",
                portal,
                "--csv",
                str(prefix),
                "--only-summary",
                "--loglevel",
                "WARNING",
            ],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        loaders.append(process)
        process.wait(timeout=600)
    endpoints: dict[str, dict[str, float]] = {}
    stats = Path(f"{prefix}_stats.csv")
    if not stats.exists():
        raise RuntimeError(f"locust wrote no statistics; see {OUT / (label + '-locust.log')}")
    with stats.open(newline="") as rows:
        for row in csv.DictReader(rows):
            if row["Name"] == "Aggregated":
                continue
            endpoints[row["Name"]] = {
                "requests": int(row["Request Count"]),
                "rps": round(float(row["Requests/s"]), 1),
                "p50_ms": float(row["50%"]),
                "p95_ms": float(row["95%"]),
                "p99_ms": float(row["99%"]),
                "mean_ms": round(float(row["Average Response Time"]), 1),
            }
    counted = json.loads(status_file.read_text()) if status_file.exists() else {}
    # locust rounds its percentiles to two significant figures (230, 240 ms): exact ones from
    # every response time instead, where the locustfile wrote them.
    for name, values in counted.get("times", {}).items():
        if name in endpoints:
            for p in (50, 95, 99):
                endpoints[name][f"p{p}_ms"] = percentile(values, p)
    return {
        "endpoints": endpoints,
        "statuses": counted.get("statuses", {}),
        "slow": counted.get("slow", []),
    }


def with_status(statuses: dict[str, int], suffix: str) -> int:
    return sum(n for key, n in statuses.items() if key.endswith(suffix))


# --- The run -------------------------------------------------------------------------------


def main() -> int:
    signal.signal(signal.SIGTERM, _terminate)
    signal.signal(signal.SIGHUP, _terminate)
    clock = time.monotonic()
    load_before = os.getloadavg()
    tmp = Path(tempfile.mkdtemp(prefix="bench-"))
    shutil.rmtree(OUT, ignore_errors=True)
    OUT.mkdir(parents=True)
    database_name = ""
    cache = cache_url()
    global SRC
    try:
        SRC = snapshot(tmp)
        database_url, database_name = database(tmp)
        flush_cache(cache)
        env = base_env(tmp, database_url, cache)
        say(f"Database: {database_name}; cache: {cache}. Logs in bench/out/.")
        if load_before[0] > 1.5:
            say(
                f"Note: the machine is already busy (load average {load_before[0]:.1f} on "
                f"{os.cpu_count()} cores); latencies will be higher than on a quiet machine."
            )
        manage(env, "migrate", "--noinput")
        manage(env, "collectstatic", "--noinput")
        seed(env, "base", str(CUSTOMERS))

        sandbox_port, portal_port = free_port(), free_port()
        sandbox_env = {**env, "FLG_SANDBOX": "1", "FLG_SANDBOX_SESSION_TTL": "1800"}
        gunicorn(sandbox_env, sandbox_port, SANDBOX_WORKERS, SANDBOX_THREADS, OUT / "sandbox.log")
        portal_env = {
            **env,
            "FLG_SANDBOX": "0",
            "FLG_DOMAIN": f"http://127.0.0.1:{sandbox_port}/sandbox",
            "FLG_BOOKING_HOSTS": f"127.0.0.1:{sandbox_port}",
        }
        portal_log = OUT / "portal.log"
        portal_process = gunicorn(
            portal_env, portal_port, PORTAL_WORKERS, PORTAL_THREADS, portal_log
        )
        master = portal_process.pid
        # What a worker spends starting (Django and the app loaded); max_requests pays it again.
        booted = [_stat(pid) for pid in children(master)]
        boot_cpu_ms = round(
            sum(int(f[11]) + int(f[12]) for f in booted) / CLOCK_TICKS * 1000 / len(booted)
        )
        portal = f"http://127.0.0.1:{portal_port}"

        say("Counting FLG calls per start, reload and refresh, one customer at a time…")
        calls = count_calls(portal, env)
        mark = portal_log.stat().st_size
        alone = one_at_a_time_starts(portal)
        alone_split = log_breakdown(portal_log, mark, portal_log.stat().st_size)

        say("CPU per request at the portal's processes: /healthz, home, session page…")
        costs = cpu_costs(master, portal, CUSTOMERS - 15)

        say(f"Healthy load: {USERS} customers and a /healthz probe for {DURATION}…")
        sampler = RssSampler(master)
        sampler.start()
        boots_before = portal_log.read_text().count("Booting worker")
        mark = portal_log.stat().st_size
        healthy = load(portal, "healthy", DURATION)
        healthy_split = log_breakdown(portal_log, mark, portal_log.stat().st_size)
        rss_healthy = sampler.take_peak_mb()
        restarts = portal_log.read_text().count("Booting worker") - boots_before
        eps = healthy["endpoints"]

        say(
            f"Degraded load: FLG hangs {HANG_SECONDS} s, past FLG_TIMEOUT ({FLG_TIMEOUT} s), "
            f"for {DURATION}…"
        )
        calls_before = sandbox_calls(env)
        set_fault(env, "hang")
        degraded_from, mark = time.time(), portal_log.stat().st_size
        degraded = load(portal, "degraded", DURATION)
        opened = breaker_openings(portal_log, mark, portal_log.stat().st_size, degraded_from)
        set_fault(env, "none")
        degraded_calls = sandbox_calls(env) - calls_before

        say(f"Scale: adding {SCALE_CUSTOMERS:,} customers and {SCALE_SESSIONS:,} past sessions…")
        seeded = time.monotonic()
        seed(env, "scale", str(SCALE_CUSTOMERS), str(SCALE_SESSIONS))
        seed_seconds = round(time.monotonic() - seeded, 1)
        # The degraded phase left the circuit breaker open; close it before measuring again.
        if cache.startswith("redis"):
            manage(env, "shell", "-c", "from appointments import flg; flg.breaker_reset()")
        else:
            time.sleep(31)  # per-process breakers: wait out the cool-down
        scale_costs = cpu_costs(master, portal, CUSTOMERS - 16)
        scale = load(portal, "scale", SHORT)
        rss_all = max(rss_healthy, sampler.take_peak_mb())
        sampler.stopping.set()

        start_ep, home_ep = eps.get("start", {}), eps.get("home", {})
        degraded_eps = degraded["endpoints"]
        healthz_cpu, home_cpu = costs["healthz"]["cpu_ms"], costs["home"]["cpu_ms"]
        results = {
            "date": dt.date.today().isoformat(),
            "machine": {
                "cores": os.cpu_count(),
                "load_average_before": round(load_before[0], 2),
                "load_average_after": round(os.getloadavg()[0], 2),
            },
            "database": database_name,
            "cache": "Redis" if cache.startswith("redis") else "local memory (Redis not reachable)",
            "portal": (
                f"gunicorn gthread, {PORTAL_WORKERS} workers x {PORTAL_THREADS} threads "
                "(gunicorn.conf.py)"
            ),
            "sandbox": f"gunicorn gthread, {SANDBOX_WORKERS} workers x {SANDBOX_THREADS} threads",
            "users": USERS,
            "duration": DURATION,
            "injected_latency_ms": INJECTED_MS,
            "endpoints": eps,
            **calls,
            "start_overhead_p50_ms": round(start_ep["p50_ms"] - INJECTED_MS, 1)
            if start_ep
            else None,
            "start_breakdown": {
                "under_load": healthy_split["start"],
                "one_at_a_time": {
                    "start_overhead_p50_ms": round(percentile(alone, 50) - INJECTED_MS, 1),
                    **alone_split["start"],
                },
            },
            "refresh_breakdown_under_load": healthy_split["refresh"],
            # CPU the portal's processes spend per request, counted at the server: the ratio
            # of the requests per second each can serve when the CPU is the limit.
            "home_to_healthz_rps_ratio": round(healthz_cpu / home_cpu, 2) if home_cpu else None,
            "cpu_per_request": costs,
            "capacity_rps_per_core": {
                name: round(1000 / cost["cpu_ms"]) if cost["cpu_ms"] else None
                for name, cost in costs.items()
            },
            # The same comparison from the load run itself: mean latency, light load.
            "home_to_healthz_mean_latency_ratio": round(
                eps["healthz"]["mean_ms"] / home_ep["mean_ms"], 2
            )
            if home_ep.get("mean_ms") and eps.get("healthz")
            else None,
            "rss_mb_per_worker": rss_healthy,
            "rss_mb_per_worker_all_phases": rss_all,
            "worker_boot_cpu_ms": boot_cpu_ms,
            "worker_restarts_in_healthy_load": restarts,
            "server_errors_healthy": with_status(healthy["statuses"], " 500"),
            "statuses_healthy": healthy["statuses"],
            "degraded": {
                "flg_timeout_s": FLG_TIMEOUT,
                "hang_seconds": HANG_SECONDS,
                "home_p95_ms": degraded_eps.get("home", {}).get("p95_ms"),
                "home_p95_ratio": round(degraded_eps["home"]["p95_ms"] / home_ep["p95_ms"], 2)
                if home_ep.get("p95_ms") and "home" in degraded_eps
                else None,
                "server_errors": with_status(degraded["statuses"], " 500"),
                "start_p50_ms": degraded_eps.get("start", {}).get("p50_ms"),
                "starts": degraded_eps.get("start", {}).get("requests"),
                "starts_waiting_for_timeout": degraded["statuses"].get("start slow", 0),
                "flg_calls": degraded_calls,
                "breaker_opened_at_s": opened,
                # Anything besides sign-in and starts that took that long, and when (seconds
                # into the phase): a worker whose threads all wait on FLG would show here.
                "slow_answers": [
                    {"name": name, "at_s": round(at - degraded_from, 1), "ms": ms}
                    for name, at, ms in degraded["slow"]
                    if name not in {"start", "login"}
                ],
                "statuses": degraded["statuses"],
                "endpoints": degraded_eps,
            },
            "scale": {
                "customers": CUSTOMERS + SCALE_CUSTOMERS,
                "past_sessions": SCALE_SESSIONS,
                "seed_seconds": seed_seconds,
                "home_p50_ms": scale["endpoints"].get("home", {}).get("p50_ms"),
                "session_p50_ms": scale["endpoints"].get("session", {}).get("p50_ms"),
                "small_home_p50_ms": home_ep.get("p50_ms"),
                "small_session_p50_ms": eps.get("session", {}).get("p50_ms"),
                "cpu_per_request": scale_costs,
                "small_cpu_per_request": costs,
                "server_errors": with_status(scale["statuses"], " 500"),
                "endpoints": scale["endpoints"],
            },
            "seconds": round(time.monotonic() - clock),
        }
        RESULTS.write_text(json.dumps(results, indent=2) + "\n")
        print_table(results)
        return 0
    except (KeyboardInterrupt, SystemExit):
        say("\nInterrupted; stopping everything the bench started.")
        return 130
    except Exception as exc:  # the bench itself could not run: say why, clean up, fail
        say(f"\nThe benchmark could not run: {exc}")
        return 1
    finally:
        stop_everything()
        drop_database(database_name)
        flush_cache(cache)
        shutil.rmtree(tmp, ignore_errors=True)


def print_table(r: dict[str, Any]) -> None:
    say("")
    say(f"{'endpoint':<12}{'req/s':>8}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'requests':>10}")
    order = ["login", "home", "start", "session", "refresh", "healthz"]
    for name in sorted(r["endpoints"], key=lambda n: order.index(n) if n in order else 99):
        e = r["endpoints"][name]
        say(
            f"{name:<12}{e['rps']:>8}{e['p50_ms']:>9.0f}{e['p95_ms']:>9.0f}"
            f"{e['p99_ms']:>9.0f}{e['requests']:>10}"
        )
    alone = r["start_breakdown"]["one_at_a_time"]
    loaded = r["start_breakdown"]["under_load"]
    cpu = r["cpu_per_request"]
    scale_cpu = r["scale"]["cpu_per_request"]
    d, s = r["degraded"], r["scale"]
    rows = [
        ("figure", "result", "goal"),
        (
            "FLG calls per start / reload / refresh",
            f"{r['flg_calls_per_start']:g} / {r['flg_calls_per_reload']:g} / "
            f"{r['flg_calls_per_refresh']:g}",
            "1 / 0 / 1",
        ),
        (
            "start overhead p50 (start p50 - 200 ms), load",
            f"{r['start_overhead_p50_ms']} ms",
            "<= 15",
        ),
        (
            "  of which FLG (the sandbox) beyond its 200 ms",
            f"{loaded['flg_beyond_injected_p50_ms']} ms",
            "",
        ),
        ("  of which the portal's own, in Django", f"{loaded['portal_own_p50_ms']} ms", ""),
        ("start overhead p50, one customer at a time", f"{alone['start_overhead_p50_ms']} ms", ""),
        (
            "  FLG beyond 200 ms / the portal's own",
            f"{alone['flg_beyond_injected_p50_ms']} / {alone['portal_own_p50_ms']} ms",
            "",
        ),
        (
            "home : healthz capacity (CPU per request)",
            f"{r['home_to_healthz_rps_ratio']} ({cpu['home']['cpu_ms']} / "
            f"{cpu['healthz']['cpu_ms']} ms)",
            ">= 0.5",
        ),
        (
            "  the same from the load, mean latency",
            f"{r['home_to_healthz_mean_latency_ratio']}",
            "",
        ),
        ("peak RSS per portal worker", f"{r['rss_mb_per_worker']} MB", ""),
        (
            "FLG hanging: home p95 against healthy",
            f"{d['home_p95_ratio']} ({d['home_p95_ms']:g} ms)",
            "<= 2",
        ),
        (
            "responses with status 500: healthy / scale",
            f"{r['server_errors_healthy']} / {s['server_errors']}",
            "0",
        ),
        ("FLG hanging: responses with status 500", f"{d['server_errors']}", "0"),
        (
            "FLG hanging: starts / waited for the timeout",
            f"{d['starts']} / {d['starts_waiting_for_timeout']} ({d['flg_calls']} FLG calls)",
            "",
        ),
        (
            "10k customers, 100k sessions: home p50",
            f"{s['home_p50_ms']:g} ms (small: {s['small_home_p50_ms']:g} ms)",
            "flat",
        ),
        (
            "  session page p50",
            f"{s['session_p50_ms']:g} ms (small: {s['small_session_p50_ms']:g} ms)",
            "flat",
        ),
        (
            "  CPU per home / session page",
            f"{scale_cpu['home']['cpu_ms']} / {scale_cpu['session']['cpu_ms']} ms "
            f"(small: {cpu['home']['cpu_ms']} / {cpu['session']['cpu_ms']} ms)",
            "flat",
        ),
    ]
    say("")
    for label, value, goal in rows:
        say(f"{label:<48}{value:<42}{goal}")
    m = r["machine"]
    say(
        f"\n{r['database']}, {r['cache']}; portal: {r['portal']}; {r['users']} simulated "
        f"customers; {m['cores']} cores, load average {m['load_average_before']} before; "
        f"{r['seconds']} s in all. Written to bench/results.json."
    )


if __name__ == "__main__":
    sys.exit(main())
