"""The database and cache the servers share: PostgreSQL and Redis where they are reachable,
else a SQLite file and local memory. Made fresh for a run and emptied after it."""

from __future__ import annotations

import os
import socket
from pathlib import Path

from bench.report import say

PG_ADMIN = os.environ.get("BENCH_PG_ADMIN", "postgres://postgres@127.0.0.1:5432/test")
# Dropped and made again by each run: give each of several people sharing a server their own.
PG_NAME = os.environ.get("BENCH_PG_NAME", "bench_portal")
REDIS_DB = 13  # the test suite uses 15; the bench empties 13 before and after


def reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


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
    # BENCH_CACHE=local leaves a shared Redis alone (the bench empties its database 13).
    if os.environ.get("BENCH_CACHE", "") != "local" and reachable("127.0.0.1", 6379):
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
