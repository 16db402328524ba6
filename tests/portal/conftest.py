"""A private Redis per test, started on a free port and stopped by its own process id."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import time

import pytest
import redis

from tests.processes import manage


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RedisServer:
    """A redis-server of the test's own; never the shared one on 6379."""

    def __init__(self, directory: str) -> None:
        self.port = free_port()
        self.directory = directory
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen[bytes] | None = None
        self.start()

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                self.directory,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        client = self.client()
        for _ in range(100):
            try:
                client.ping()
                return
            except redis.RedisError:
                time.sleep(0.05)
        raise RuntimeError(f"redis-server did not start on port {self.port}")

    def client(self) -> redis.Redis:
        return redis.Redis(port=self.port, socket_timeout=1, socket_connect_timeout=1)

    def kill(self) -> None:
        assert self.process is not None
        self.process.kill()
        self.process.wait(timeout=10)

    def stall(self) -> None:
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGSTOP)

    def resume(self) -> None:
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGCONT)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.resume()
            self.kill()


@pytest.fixture
def redis_server(tmp_path):
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed (apt-get install redis-server); CI has it")
    server = RedisServer(str(tmp_path))
    yield server
    server.stop()


SHOW_CACHE_SETTINGS = """
import json
from django.conf import settings as s
print(json.dumps({
    "CACHES": s.CACHES,
    "SESSION_ENGINE": s.SESSION_ENGINE,
    "SESSION_CACHE_ALIAS": s.SESSION_CACHE_ALIAS,
}))
"""


@pytest.fixture
def redis_cache(redis_server, settings):
    """The portal's cache and sessions as settings.py configures them for CACHE_URL=redis://."""
    done = manage(
        "shell",
        "-c",
        SHOW_CACHE_SETTINGS,
        SECRET_KEY="redis-outage-tests-" + "k" * 40,
        CACHE_URL=redis_server.url,
    )
    assert done.returncode == 0, done.stderr
    chosen = json.loads(done.stdout.strip().splitlines()[-1])
    settings.CACHES = chosen["CACHES"]
    settings.SESSION_ENGINE = chosen["SESSION_ENGINE"]
    settings.SESSION_CACHE_ALIAS = chosen["SESSION_CACHE_ALIAS"]
    yield redis_server
    from django.core.cache import caches

    for alias in settings.CACHES:
        caches[alias].close()


@pytest.fixture
def setenv(monkeypatch):
    """Set an environment variable for the test, or unset it with None."""

    def set_(name: str, value: str | None) -> None:
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)

    return set_
