"""The portal as production runs it: gunicorn, collected static files, JSON logs, Redis, Docker."""

from __future__ import annotations

import gzip
import json
import logging
import os
import re
import socket
import subprocess
import time

import pytest
import requests
from django.test import override_settings

from appointments import services
from bookingportal.logging import JsonFormatter, RequestIdFilter
from flg import sessions
from tests.processes import BIN, ROOT, clean_env, manage, production_env


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def gunicorn_portal(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("gunicorn")
    port = free_port()
    env = production_env(
        tmp,
        "gunicorn-test",
        TRUSTED_PROXIES="127.0.0.1",
        CSRF_COOKIE_SECURE="1",
        GUNICORN_BIND=f"127.0.0.1:{port}",
    )
    for command in (["migrate", "--noinput"], ["collectstatic", "--noinput"]):
        done = manage(*command, timeout=120, **env)
        assert done.returncode == 0, done.stderr
    log = (tmp / "gunicorn.log").open("w")
    server = subprocess.Popen(
        [str(BIN / "gunicorn"), "--config", "gunicorn.conf.py", "bookingportal.wsgi"],
        cwd=ROOT,
        env=clean_env(**env),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                requests.get(url + "/healthz", timeout=1)
                break
            except requests.RequestException:
                time.sleep(0.1)
        yield url, tmp / "gunicorn.log"
    finally:
        server.terminate()
        server.wait(timeout=20)
        log.close()


HTTPS = {"X-Forwarded-Proto": "https"}


@pytest.mark.subprocess
def test_gunicorn_answers_healthz(gunicorn_portal):
    url, _ = gunicorn_portal
    response = requests.get(url + "/healthz", timeout=5)
    assert response.status_code == 200
    assert response.text == "ok"


@pytest.mark.subprocess
def test_gunicorn_redirects_plain_http_to_https(gunicorn_portal):
    url, _ = gunicorn_portal
    response = requests.get(url + "/accounts/login/", allow_redirects=False, timeout=5)
    assert response.status_code == 301
    assert response.headers["Location"].startswith("https://")


@pytest.mark.subprocess
def test_gunicorn_serves_the_sign_in_page_with_every_header(gunicorn_portal):
    url, log = gunicorn_portal
    response = requests.get(url + "/accounts/login/", headers=HTTPS, timeout=5)
    h = response.headers
    assert response.status_code == 200
    assert "Sign in" in response.text
    assert h["Strict-Transport-Security"].startswith("max-age=31536000")
    assert "default-src 'self'" in h["Content-Security-Policy"]
    assert "frame-src https://platform.getflg.com" in h["Content-Security-Policy"]
    assert h["X-Frame-Options"] == "DENY"
    assert h["X-Content-Type-Options"] == "nosniff"
    assert h["Referrer-Policy"] == "same-origin"
    assert h["Cross-Origin-Opener-Policy"] == "same-origin"
    assert "camera=()" in h["Permissions-Policy"]
    assert h["X-Request-ID"]
    cookie = h["Set-Cookie"]
    assert "Secure" in cookie and "HttpOnly" in cookie
    lines = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    access = [line for line in lines if line.get("event") == "request"]
    assert any(line["path"] == "/accounts/login/" and line["status"] == 200 for line in access)
    assert all(line["request_id"] != "-" for line in access)


@pytest.mark.subprocess
def test_gunicorn_serves_hashed_css_compressed(gunicorn_portal):
    url, _ = gunicorn_portal
    page = requests.get(url + "/accounts/login/", headers=HTTPS, timeout=5).text
    css = re.search(r'href="(/static/css/portal\.[0-9a-f]{12}\.css)"', page).group(1)
    response = requests.get(
        url + css, headers={**HTTPS, "Accept-Encoding": "gzip"}, timeout=5, stream=True
    )
    assert response.status_code == 200
    assert response.headers["Content-Encoding"] == "gzip"
    assert "immutable" in response.headers["Cache-Control"]
    assert b".booking-frame" in gzip.decompress(response.raw.read())


@pytest.mark.subprocess
def test_an_flg_call_is_logged_with_its_fields_and_never_the_key(
    sandbox, customer, type_for_all, caplog
):
    sandbox.mirror()
    caplog.set_level(logging.INFO, logger="flg.sessions")
    sessions.create(
        lead=customer.lead_id, appointment_type=type_for_all.flg_id, customer_id=customer.pk
    )
    [record] = [r for r in caplog.records if getattr(r, "event", "") == "flg_call"]
    RequestIdFilter().filter(record)
    line = json.loads(JsonFormatter().format(record))
    assert line["flg_status"] == 200
    assert line["outcome"] == "ok"
    assert isinstance(line["latency_ms"], int)
    assert line["appointment_type"] == str(type_for_all.flg_id)
    assert line["customer_id"] == customer.pk
    assert "request_id" in line
    text = json.dumps(line)
    assert sandbox.GOOD_KEY not in text
    assert customer.user.email not in text


def redis_reachable() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=1):
            return True
    except OSError:
        return False


@pytest.mark.skipif(not redis_reachable(), reason="Redis is not reachable at 127.0.0.1:6379")
def test_the_session_limit_is_shared_through_redis(settings, customer):
    import redis

    prefix = f"test-{os.getpid()}"
    shared = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:6379/15",
            "KEY_PREFIX": prefix,
        }
    }
    # This process's keys only, and the cache back to the suite's before teardown: a
    # `cache.clear()` empties the whole Redis database, where other test processes (make
    # test's other worker, test_rate_limit.py) count too.
    raw = redis.Redis(host="127.0.0.1", port=6379, db=15)
    for key in raw.scan_iter(f"{prefix}:*"):
        raw.delete(key)
    try:
        with override_settings(CACHES=shared):
            for _ in range(settings.BOOKING_SESSIONS_PER_MINUTE):
                services._take_rate_slot(customer)
            # Another worker sees the same count: it lives in Redis, not in this process.
            # (One count per ten seconds: the loop may have crossed from one into the next.)
            counts = [int(raw.get(key)) for key in raw.keys(f"{prefix}:*session-rate*")]
            assert sum(counts) == settings.BOOKING_SESSIONS_PER_MINUTE
            with pytest.raises(services.SessionLimitReached):
                services._take_rate_slot(customer)
    finally:
        for key in raw.scan_iter(f"{prefix}:*"):
            raw.delete(key)


@pytest.mark.subprocess
def test_hadolint_finds_nothing_at_warning_level_or_above():
    hadolint = BIN / "hadolint"
    if not hadolint.exists():
        pytest.skip("hadolint is not installed (pip install -r requirements-dev.txt)")
    result = subprocess.run(
        [str(hadolint), "--failure-threshold", "warning", "Dockerfile"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_image_runs_as_a_non_root_user_with_a_healthcheck_and_no_secret():
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "\nUSER 10001:10001\n" in dockerfile
    assert "HEALTHCHECK" in dockerfile and "/healthz" in dockerfile
    assert "collectstatic" in dockerfile
    assert "ENV SECRET_KEY" not in dockerfile and "ARG SECRET_KEY" not in dockerfile
    compose = (ROOT / "docker-compose.yml").read_text()
    for service in ("portal:", "db:", "redis:", "image: postgres:16", "migrate", "--noinput"):
        assert service in compose


def test_the_worker_timeout_outlasts_flg(monkeypatch):
    import runpy

    monkeypatch.setenv("FLG_TIMEOUT", "10")
    config = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    assert config["timeout"] > 10
    assert config["worker_class"] == "gthread"
