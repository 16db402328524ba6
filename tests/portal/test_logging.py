"""Logs: one line per request and per FLG call, a request id on every line, no secrets."""

from __future__ import annotations

import io
import json
import logging
import os
import signal
import time

import pytest
import requests
from django.conf import settings as django_settings
from django.contrib.auth.tokens import default_token_generator
from django.test import Client
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from bookingportal.logging import JsonFormatter, PlainFormatter, RequestIdFilter
from tests.conftest import PASSWORD
from tests.processes import Gunicorn


class Lines:
    """What the production handler writes: JSON lines, each through the request-id filter."""

    def __init__(self) -> None:
        self.stream = io.StringIO()
        self.handler = logging.StreamHandler(self.stream)
        self.handler.addFilter(RequestIdFilter())
        self.handler.setFormatter(JsonFormatter())

    @property
    def text(self) -> str:
        return self.stream.getvalue()

    def all(self) -> list[dict]:
        return [json.loads(line) for line in self.text.splitlines()]

    def events(self, event: str) -> list[dict]:
        return [line for line in self.all() if line.get("event") == event]


@pytest.fixture
def lines():
    captured = Lines()
    root = logging.getLogger()
    root.addHandler(captured.handler)
    yield captured
    root.removeHandler(captured.handler)


def test_each_request_is_one_line_with_its_fields(customer_client, customer, lines):
    response = customer_client.get("/")
    [line] = lines.events("request")
    assert line["method"] == "GET"
    assert line["path"] == "/"
    assert line["status"] == 200
    assert isinstance(line["latency_ms"], int | float) and line["latency_ms"] >= 0
    assert line["user_id"] == customer.user.pk
    assert line["request_id"] == response["X-Request-ID"]
    assert line["level"] == "INFO" and line["logger"] == "bookingportal.access"
    assert "casey@example.com" not in lines.text


@pytest.mark.parametrize("request_id", ["abc-123", "A.b_c-9", "x" * 64, "0f" * 16])
def test_a_sane_request_id_from_the_proxy_is_kept_and_returned(client, lines, request_id):
    response = client.get("/healthz", HTTP_X_REQUEST_ID=request_id)
    assert response["X-Request-ID"] == request_id
    assert lines.events("request")[0]["request_id"] == request_id


@pytest.mark.parametrize(
    "request_id", ["bad id", "x" * 65, "abc\nforged line", "", "a/b", "caf\u00e9", "<script>"]
)
def test_any_other_request_id_is_replaced_with_a_fresh_one(client, lines, request_id):
    response = client.get("/healthz", HTTP_X_REQUEST_ID=request_id)
    assert response["X-Request-ID"] != request_id
    assert len(response["X-Request-ID"]) == 32
    assert lines.events("request")[0]["request_id"] == response["X-Request-ID"]


def test_every_request_gets_its_own_id(client):
    ids = {client.get("/healthz")["X-Request-ID"] for _ in range(5)}
    assert len(ids) == 5


def test_a_line_outside_any_request_says_so(lines):
    logging.getLogger("appointments").warning("a management command speaks")
    assert lines.all()[0]["request_id"] == "-"


# --- FLG calls --------------------------------------------------------------------------------


def test_an_flg_call_is_one_line_with_its_fields_and_the_request_id(
    sandbox, customer, type_for_all, lines
):
    sandbox.mirror()
    client = Client()
    client.force_login(customer.user)
    response = client.post("/book/initial-consultation/", HTTP_X_REQUEST_ID="req-42")
    assert response.status_code == 303

    [call] = lines.events("flg_call")
    assert call["flg_status"] == 200
    assert call["outcome"] == "ok"
    assert isinstance(call["latency_ms"], int) and call["latency_ms"] >= 0
    assert call["appointment_type"] == str(type_for_all.flg_id)
    assert call["customer_id"] == customer.pk
    assert call["request_id"] == "req-42"
    assert call["logger"] == "flg.sessions"
    portal_line = [r for r in lines.events("request") if r["path"].startswith("/book/")]
    assert portal_line[0]["request_id"] == "req-42"
    # The whole log of the request, the sandbox's side included, holds no key and no email.
    assert sandbox.GOOD_KEY not in lines.text
    assert "casey@example.com" not in lines.text


def test_a_refused_flg_call_logs_the_outcome_but_never_the_key(
    sandbox, customer, type_for_all, settings, lines
):
    sandbox.mirror()
    settings.FLG_API_KEY = "wrong-key-that-must-stay-secret-123"
    client = Client()
    client.force_login(customer.user)
    response = client.post("/book/initial-consultation/")
    assert response.status_code == 502

    [call] = lines.events("flg_call")
    assert (call["flg_status"], call["outcome"]) == (401, "key_invalid")
    assert lines.events("flg_failure")[0]["customer_id"] == customer.pk
    assert "wrong-key-that-must-stay-secret-123" not in lines.text
    assert "casey@example.com" not in lines.text


# --- What never reaches a log ---------------------------------------------------------------


def test_signing_in_logs_neither_the_email_nor_the_password(customer, lines, settings):
    client = Client()
    client.post("/accounts/login/", {"username": "casey@example.com", "password": "guess-1"})
    client.post("/accounts/login/", {"username": "casey@example.com", "password": PASSWORD})
    access = lines.events("request")
    assert [line["status"] for line in access] == [200, 302]
    assert access[1]["user_id"] == customer.user.pk
    for line in access:
        assert "casey" not in json.dumps(line)
    assert "guess-1" not in lines.text and PASSWORD not in lines.text


def test_a_reset_link_is_logged_without_its_token(client, customer, lines):
    uid = urlsafe_base64_encode(force_bytes(customer.user.pk))
    token = default_token_generator.make_token(customer.user)
    response = client.get(f"/accounts/reset/{uid}/{token}/")
    assert response.status_code == 302
    assert token not in lines.text
    assert lines.events("request")[0]["path"] == f"/accounts/reset/{uid}/[token]/"


# --- Formats ----------------------------------------------------------------------------------


def test_json_lines_carry_a_traceback_as_one_field(lines):
    try:
        raise ValueError("boom")
    except ValueError:
        logging.getLogger("appointments").exception("it failed")
    [line] = lines.all()
    assert line["level"] == "ERROR" and line["message"] == "it failed"
    assert "ValueError: boom" in line["exception"]
    assert len(lines.text.strip().splitlines()) == 1


def test_development_lines_are_readable(client):
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(PlainFormatter())
    access = logging.getLogger("bookingportal.access")
    access.addHandler(handler)
    try:
        response = client.get("/healthz")
    finally:
        access.removeHandler(handler)
    request_id = response["X-Request-ID"]
    assert f" INFO [{request_id}] bookingportal.access GET /healthz 200 " in stream.getvalue()


def test_the_format_follows_log_format(settings):
    # pyproject.toml runs the suite with LOG_FORMAT=plain; production defaults to json
    # (tests/test_deploy.py). The handler writes whichever was chosen.
    assert django_settings.LOGGING["handlers"]["console"]["formatter"] == settings.LOG_FORMAT
    assert django_settings.LOGGING["handlers"]["console"]["filters"] == [
        "request_id",
        "mask_secrets",
    ]


# --- gunicorn's own lines ----------------------------------------------------------------------


def gunicorn_env(tmp_path, **overrides: str) -> dict[str, str]:
    return {
        "SECRET_KEY": "json-logs-test-" + "s" * 50,
        "DEBUG": "0",
        "ALLOWED_HOSTS": "127.0.0.1",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "FLG_DOMAIN": "demo.flg360.co.uk",
        "FLG_API_KEY": "production-key",
        "SECURE_SSL_REDIRECT": "0",
        "WEB_CONCURRENCY": "2",
        "GUNICORN_THREADS": "2",
        "LOG_FORMAT": "json",
        **overrides,
    }


def json_lines(text: str) -> list[dict]:
    lines = [line for line in text.splitlines() if line.strip()]
    parsed = []
    for line in lines:
        try:
            parsed.append(json.loads(line))
        except ValueError:
            pytest.fail(f"not a JSON line: {line!r}")
    return parsed


@pytest.mark.subprocess
def test_every_line_gunicorn_and_the_portal_write_is_json(tmp_path):
    server = Gunicorn(tmp_path / "gunicorn.log", **gunicorn_env(tmp_path))
    try:
        server.wait_ready(workers=2)
        assert requests.get(server.url + "/healthz", timeout=5).status_code == 200
        assert requests.post(server.url + "/healthz", timeout=5).status_code == 405
        # A worker killed from outside: gunicorn's error line, and a new worker's boot.
        killed = server.workers()[0]
        os.kill(killed, signal.SIGKILL)
        deadline = time.monotonic() + 20
        while (killed in server.workers() or len(server.workers()) < 2) and (
            time.monotonic() < deadline
        ):
            time.sleep(0.1)
    finally:
        server.stop()
    lines = json_lines(server.log.read_text())
    messages = [line["message"] for line in lines]
    assert any(m.startswith("Starting gunicorn") for m in messages)
    assert sum(m.startswith("Booting worker") for m in messages) >= 3
    assert any(f"Worker (pid:{killed}) was sent SIGKILL" in m for m in messages)
    assert any(m.startswith("Shutting down: Master") for m in messages)
    assert any(line.get("event") == "request" and line["path"] == "/healthz" for line in lines)
    assert any(line.get("status") == 405 for line in lines)
    # No collectstatic here, so whitenoise warns: a Python warning is a JSON line too.
    assert any(
        line["logger"] == "py.warnings" and "No directory at" in m
        for line, m in zip(lines, messages, strict=True)
    )
    assert all({"time", "level", "logger", "message"} <= line.keys() for line in lines)


@pytest.mark.subprocess
def test_a_configuration_error_under_gunicorn_is_one_json_line_and_gunicorn_stops(tmp_path):
    server = Gunicorn(tmp_path / "gunicorn.log", **gunicorn_env(tmp_path, DATABASE_URL="nonsense"))
    try:
        status = server.process.wait(timeout=30)
    finally:
        server.stop()
    assert status == 3  # gunicorn's "failed to boot"
    lines = json_lines(server.log.read_text())
    errors = [line for line in lines if line["message"].startswith("Configuration error:")]
    assert len(errors) == 1
    assert "DATABASE_URL must be postgres://" in errors[0]["message"]
    assert errors[0]["level"] == "CRITICAL"
    assert "Traceback" not in server.log.read_text()
    # Checked in the master, before any worker started.
    assert not any(line["message"].startswith("Booting worker") for line in lines)
