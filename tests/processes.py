"""Running the portal in a subprocess with an environment of the test's choosing only."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent

# Everything the portal reads, so a test's subprocess never inherits the suite's own values
# (pyproject's pytest env, or DJANGO_ALLOW_ASYNC_UNSAFE from the browser tests).
PREFIXES = (
    "FLG_",
    "SECURE_",
    "PORTAL_",
    "DJANGO_",
    "AXES_",
    "BOOKING_",
    "GUNICORN_",
    "EMAIL_",
    "LOG_",
    "PROMETHEUS_",
    "WEB_CONCURRENCY",
    "STAFF_",
    "OUTBOX_",
    "WORKER_",
)
NAMES = {
    "SECRET_KEY",
    "DEBUG",
    "DATABASE_URL",
    "CACHE_URL",
    "ALLOWED_HOSTS",
    "SESSION_COOKIE_SECURE",
    "CSRF_COOKIE_SECURE",
    "LOG_FORMAT",
    "TRUST_X_FORWARDED_PROTO",
    "TRUSTED_PROXIES",
    "STATIC_ROOT",
    "METRICS_TOKEN",
    "PORT",
}


def clean_env(**overrides: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in NAMES and not k.startswith(PREFIXES)}
    env["ENV_FILE"] = "/nonexistent/.env"
    env.update(overrides)
    return env


def production_env(tmp: Path, name: str, **overrides: str) -> dict[str, str]:
    """Production settings for a portal a test serves under gunicorn: DEBUG off, SQLite and
    static files in `tmp`, one worker of two threads, JSON logs."""
    return {
        "SECRET_KEY": f"{name}-" + "s" * 50,
        "DEBUG": "0",
        "ALLOWED_HOSTS": "127.0.0.1",
        "DATABASE_URL": f"sqlite:///{tmp / 'db.sqlite3'}",
        "STATIC_ROOT": str(tmp / "static"),
        "FLG_DOMAIN": "demo.flg360.co.uk",
        "FLG_API_KEY": f"{name}-key",
        "WEB_CONCURRENCY": "1",
        "GUNICORN_THREADS": "2",
        "LOG_FORMAT": "json",
        **overrides,
    }


def manage(*args: str, timeout: int | str = 60, **env: str) -> subprocess.CompletedProcess[str]:
    # (`timeout` may arrive as text, since callers pass the environment as **dict[str, str].)
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=clean_env(**env),
        capture_output=True,
        text=True,
        timeout=float(timeout),
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class Gunicorn:
    """The portal under gunicorn with gunicorn.conf.py, as the image runs it, on a free port."""

    def __init__(self, log: Path, port: int | None = None, /, **env: str) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        self._out = log.open("w")
        self.process = subprocess.Popen(
            # No control socket: several servers (and the bench's) would share one path.
            [
                str(BIN / "gunicorn"),
                *("-c", "gunicorn.conf.py", "--no-control-socket", "bookingportal.wsgi"),
            ],
            cwd=ROOT,
            env=clean_env(GUNICORN_BIND=f"127.0.0.1:{self.port}", **env),
            stdout=self._out,
            stderr=subprocess.STDOUT,
        )

    def wait_ready(self, workers: int = 1, timeout: float = 30) -> Gunicorn:
        """Until /healthz answers and every worker has booted."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited:\n{self.log.read_text()[-3000:]}")
            try:
                answered = requests.get(self.url + "/healthz", timeout=1).status_code == 200
                if answered and len(self.workers()) >= workers:
                    return self
            except requests.RequestException:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"gunicorn did not start:\n{self.log.read_text()[-3000:]}")

    def workers(self) -> list[int]:
        """The worker processes' ids (the master's children)."""
        found = []
        for status in Path("/proc").glob("[0-9]*/status"):
            try:
                text = status.read_text()
            except OSError:
                continue
            if f"\nPPid:\t{self.process.pid}\n" in text:
                found.append(int(status.parent.name))
        return sorted(found)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self._out.close()


def postgres_admin_url() -> str:
    """The PostgreSQL server the suite runs on, by its maintenance database."""
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        url = "postgres://postgres@127.0.0.1:5432/postgres"
    return url.split("?", 1)[0].rsplit("/", 1)[0] + "/postgres"


def postgres_admin(why: str):  # -> psycopg.Connection
    """A connection to that server's maintenance database, or a skip saying `why` it is needed."""
    import pytest

    psycopg = pytest.importorskip("psycopg")
    url = postgres_admin_url()
    try:
        return psycopg.connect(url, autocommit=True, connect_timeout=3)
    except psycopg.Error as exc:
        pytest.skip(f"PostgreSQL is not reachable at {url} ({exc}); {why}")


@contextmanager
def postgres_database(name: str, *, why: str) -> Iterator[str]:
    """A fresh database of that name on the suite's server (its URL), dropped afterwards."""
    with postgres_admin(why) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {name}")
    try:
        yield postgres_admin_url().rsplit("/", 1)[0] + "/" + name
    finally:
        with postgres_admin(why) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
