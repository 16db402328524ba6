"""/healthz (the process answers) and /readyz (ready for customers), for the orchestrator."""

from __future__ import annotations

import time

import pytest
from django.db import connection

pytestmark = pytest.mark.django_db


def test_healthz_says_ok_without_touching_the_database(client, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = client.get("/healthz")
    assert response.status_code == 200
    assert response.content == b"ok"
    assert response["Content-Type"].startswith("text/plain")


def test_healthz_answers_while_the_database_is_down(client, monkeypatch):
    monkeypatch.setattr(connection, "cursor", broken)
    assert client.get("/healthz").status_code == 200


def test_healthz_takes_no_time(client):
    client.get("/healthz")
    started = time.perf_counter()
    for _ in range(50):
        client.get("/healthz")
    assert (time.perf_counter() - started) / 50 < 0.02


def test_readyz_is_ok_when_the_database_answers_and_flg_is_configured(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "cache": "ok", "worker": "not seen"}


def broken(*args, **kwargs):
    raise ConnectionError("database down")


def test_readyz_is_503_with_a_reason_when_the_database_is_down(client, monkeypatch):
    monkeypatch.setattr(connection, "cursor", broken)
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json() == {
        "status": "unavailable",
        "reason": "database: ConnectionError",
        "cache": "ok",
    }


@pytest.mark.parametrize("setting", ["FLG_API_KEY", "FLG_BASE_URL"])
def test_readyz_is_503_with_a_reason_when_flg_is_not_configured(client, settings, setting):
    setattr(settings, setting, "")
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json() == {
        "status": "unavailable",
        "reason": "FLG_DOMAIN or FLG_API_KEY is not set",
        "cache": "ok",
    }


@pytest.mark.parametrize("url", ["/healthz", "/readyz"])
def test_probes_are_never_cached(client, url):
    cache_control = client.get(url)["Cache-Control"]
    for word in ("no-cache", "no-store", "must-revalidate", "max-age=0"):
        assert word in cache_control


@pytest.mark.parametrize("url", ["/healthz", "/readyz"])
def test_probes_need_no_sign_in_and_no_https(client, settings, url):
    settings.SECURE_SSL_REDIRECT = True
    assert client.get(url).status_code == 200


@pytest.mark.parametrize("url", ["/healthz", "/readyz"])
def test_probes_answer_by_any_host_name(client, settings, url):
    # Docker's HEALTHCHECK asks for 127.0.0.1:8000, a load balancer for the container's address.
    settings.ALLOWED_HOSTS = ["book.example.com"]
    assert client.get(url, HTTP_HOST="172.18.0.5:8000").status_code == 200
    assert client.get("/accounts/login/", HTTP_HOST="172.18.0.5:8000").status_code == 400


@pytest.mark.parametrize("url", ["/healthz", "/readyz"])
def test_probes_answer_head_but_refuse_a_post(client, url):
    assert client.head(url).status_code == 200
    assert client.post(url).status_code == 405


def test_the_favicon_is_found_where_browsers_look(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 301
    assert response["Location"].endswith("favicon.svg")
