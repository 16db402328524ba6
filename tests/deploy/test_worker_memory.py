"""A gunicorn worker whose memory has passed GUNICORN_WORKER_MEMORY_MB is replaced, and no request
is lost on the way (gunicorn.conf.py's post_request)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
import requests

from tests.processes import Gunicorn, production_env

pytestmark = pytest.mark.subprocess

REPLACED = "Worker's memory reached"


def portal(tmp_path: Path, **env: str) -> Gunicorn:
    settings = production_env(tmp_path, "worker-memory", **env)
    return Gunicorn(tmp_path / "gunicorn.log", **settings).wait_ready()


def test_a_worker_past_its_memory_is_replaced_while_every_request_is_answered(tmp_path):
    # Every worker is past 1 MB: each is replaced after the request that finds it so.
    server = portal(tmp_path, GUNICORN_WORKER_MEMORY_MB="1")
    try:
        seen = set(server.workers())
        statuses = []
        deadline = time.monotonic() + 20
        while len(seen) < 3 and time.monotonic() < deadline:
            statuses.append(requests.get(server.url + "/healthz", timeout=10).status_code)
            seen.update(server.workers())
            time.sleep(0.05)
    finally:
        server.stop()
    log = server.log.read_text()
    assert len(seen) >= 3, log[-3000:]
    assert set(statuses) == {200}
    assert "GUNICORN_WORKER_MEMORY_MB is 1" in log
    # Replaced after a request or two each: the operator is told the limit is too low.
    lines = [json.loads(line) for line in log.splitlines() if REPLACED in line]
    assert lines
    assert {line["level"] for line in lines} == {"WARNING"}
    assert "raise GUNICORN_WORKER_MEMORY_MB" in lines[0]["message"]


def test_a_worker_within_its_memory_serves_on(tmp_path):
    server = portal(tmp_path)  # the default, 160 MB
    try:
        (worker,) = server.workers()
        for _ in range(30):
            assert requests.get(server.url + "/healthz", timeout=10).status_code == 200
        assert server.workers() == [worker]
    finally:
        server.stop()
    assert REPLACED not in server.log.read_text()
