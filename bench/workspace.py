"""What the servers run, and with what: a snapshot of the code, production settings in the
environment, and manage.py and bench/seed.py run against the same database."""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from bench import database, processes
from bench.config import FLG_TIMEOUT, ROOT

# What the servers run: a copy of the working tree taken at the start (see snapshot()).
CODE = ["manage.py", "gunicorn.conf.py", "bookingportal", "appointments", "flg_sandbox"]
CODE += ["flg", "accounts", "outbox", "business", "privacy", "precompiled", "templates", "static"]
CODE += ["bench"]
# Packages being carved out of appointments/ (issue 10): copied once they exist, so the bench
# runs on either side of that move.
NOT_YET = {"flg", "accounts"}
# The bench's own output is no part of the code.
LEFT_OUT = shutil.ignore_patterns("__pycache__", "*.pyc", "out", "results.json")


@dataclass(frozen=True)
class Workspace:
    """The snapshot the servers run, and the environment every process of the run shares."""

    src: Path
    env: dict[str, str]
    cache: str


def snapshot(tmp: Path) -> Path:
    """Copy the code the servers run, so the whole run measures one version of it.

    gunicorn recycles a worker every couple of thousand requests (max_requests), and a new
    worker imports what is on disk then: an edit saved mid-run would be half measured, or a
    half-finished one would answer 500s.
    """
    src = tmp / "src"
    for name in CODE:
        source = ROOT / name
        if name in NOT_YET and not source.exists():
            continue
        if source.is_dir():
            shutil.copytree(source, src / name, ignore=LEFT_OUT)
        else:
            (src / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, src / name)
    return src


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
        # migrate, bench/seed.py and the stages' manage.py calls reach the sandbox's tables too,
        # which exist only with it installed; the portal's server turns it off for itself.
        FLG_SANDBOX="1",
        FLG_SANDBOX_DEMO_HOST="1",
        # Each simulated customer books every two seconds or so, far past the abuse guard of
        # 10 a minute; the guard's cost (two cache calls a start) is still paid.
        BOOKING_SESSIONS_PER_MINUTE="100000",
        # As in production: one JSON line per request, and one per FLG call (which the bench
        # reads back, in stats.log_breakdown, to split a start's time between the portal and FLG).
        LOG_LEVEL="INFO",
        LOG_FORMAT="json",
    )
    return env


@dataclass(frozen=True)
class Prepared:
    """A run's workspace, migrated and seeded, and the database it uses ("PostgreSQL" or
    "SQLite (why)")."""

    work: Workspace
    database: str


@contextmanager
def prepared(prefix: str, *, customers: int, static: bool = True) -> Iterator[Prepared]:
    """The set-up every run shares: a snapshot of the code, a fresh database and cache,
    migrated (static files collected) and seeded with `customers`; and, however the run ends,
    every process it started stopped, the database dropped and the cache emptied."""
    tmp = Path(tempfile.mkdtemp(prefix=prefix))
    database_name = ""
    cache = database.cache_url()
    try:
        src = snapshot(tmp)
        database_url, database_name = database.database(tmp)
        database.flush_cache(cache)
        work = Workspace(src=src, env=base_env(tmp, database_url, cache), cache=cache)
        manage(work, "migrate", "--noinput")
        if static:
            manage(work, "collectstatic", "--noinput")
        seed(work, "base", str(customers))
        yield Prepared(work=work, database=database_name)
    finally:
        processes.stop_everything()
        database.drop_database(database_name)
        database.flush_cache(cache)
        shutil.rmtree(tmp, ignore_errors=True)


def manage(workspace: Workspace, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=workspace.src,
        env=workspace.env,
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise RuntimeError(f"manage.py {' '.join(args[:2])} failed:\n{done.stderr[-3000:]}")
    return done.stdout


def seed(workspace: Workspace, *args: str) -> None:
    subprocess.run(
        [sys.executable, "bench/seed.py", *args],
        cwd=workspace.src,
        env=workspace.env,
        check=True,
    )


def seed_output(workspace: Workspace, *args: str) -> str:
    """bench/seed.py, for what it prints."""
    done = subprocess.run(
        [sys.executable, "bench/seed.py", *args],
        cwd=workspace.src,
        env=workspace.env,
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise RuntimeError(f"bench/seed.py {' '.join(args)} failed:\n{done.stderr[-3000:]}")
    return done.stdout
