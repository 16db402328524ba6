"""/metrics: Prometheus' page, only for a scraper with the token, true for the whole instance."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path
from urllib.parse import urlencode

import pytest
import requests
from django.test import Client
from prometheus_client.mmap_dict import MmapedDict
from prometheus_client.parser import text_string_to_metric_families

from flg import breaker
from tests.processes import Gunicorn

TOKEN = "tests-only-metrics-token-0123456789"
FORM = "application/x-www-form-urlencoded"
BEARER = {"HTTP_AUTHORIZATION": f"Bearer {TOKEN}"}

# Every series the page promises, present (at zero) before anything has happened.
NAMED = [
    "portal_http_requests_total",
    "portal_http_request_duration_seconds_count",
    "portal_flg_calls_total",
    "portal_flg_call_duration_seconds_bucket",
    "portal_flg_breaker_open",
    "portal_flg_breaker_openings_total",
    "portal_flg_breaker_fast_failures_total",
    "portal_sessions_started_total",
    "portal_sessions_refreshed_total",
    "portal_bookings_reported_total",
    "portal_webhook_deliveries_total",
    "portal_sign_in_link_emails_total",
    "portal_sign_in_lockouts_total",
]

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def parse(text: str) -> Samples:
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


@pytest.fixture
def token(settings):
    settings.METRICS_TOKEN = TOKEN


def scrape(client: Client | None = None) -> Samples:
    response = (client or Client()).get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=")
    return parse(response.content.decode())


def test_without_a_token_set_there_is_no_metrics_page(settings, db):
    settings.METRICS_TOKEN = ""
    assert Client().get("/metrics").status_code == 404
    assert Client().get("/metrics", **BEARER).status_code == 404


def test_it_refuses_a_scraper_without_the_token(token, db):
    response = Client().get("/metrics")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="metrics"'
    assert "portal_" not in response.content.decode()


@pytest.mark.parametrize(
    "authorization",
    [f"Bearer {TOKEN}x", f"Bearer {TOKEN[:-1]}", f"Basic {TOKEN}", TOKEN, "Bearer "],
)
def test_it_refuses_a_wrong_token(token, db, authorization):
    response = Client().get("/metrics", HTTP_AUTHORIZATION=authorization)
    assert response.status_code == 401
    assert "portal_" not in response.content.decode()


def test_it_answers_prometheus_by_the_pods_address_over_plain_http(token, settings, db):
    # Prometheus scrapes each pod by its IP: no host the portal lists, and no TLS inside.
    settings.SECURE_SSL_REDIRECT = True
    response = Client().get("/metrics", HTTP_HOST="10.244.1.7:8000", **BEARER)
    assert response.status_code == 200


def test_every_named_series_is_on_the_page_before_anything_happens(token, db):
    names = {name for name, _ in scrape()}
    assert set(NAMED) - names == set()


def test_a_booking_through_the_sandbox_shows_on_the_page(
    token, sandbox, customer, type_for_all, client
):
    sandbox.mirror()
    client.force_login(customer.user)
    before = scrape()
    first = client.post(f"/book/{type_for_all.slug}/")
    again = client.post(f"/book/{type_for_all.slug}/")
    assert first.status_code == again.status_code == 303
    assert sandbox.calls() == 1
    after = scrape()

    def grew(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert grew("portal_flg_calls_total", outcome="ok") == 1
    assert grew("portal_flg_call_duration_seconds_count", outcome="ok") == 1
    assert grew("portal_sessions_started_total", result="created") == 1
    assert grew("portal_sessions_started_total", result="reused") == 1
    assert grew("portal_http_requests_total", method="POST", status="3xx") == 2
    assert value(after, "portal_flg_breaker_open") == 0


def test_a_refresh_is_counted_apart_from_a_start(token, sandbox, customer, type_for_all, client):
    sandbox.mirror()
    client.force_login(customer.user)
    page = client.post(f"/book/{type_for_all.slug}/")["Location"]
    before = scrape()
    assert client.post(page + "refresh/").status_code == 200
    after = scrape()
    created = ("portal_sessions_refreshed_total", frozenset({("result", "created")}))
    assert after[created] - before.get(created, 0) == 1


def test_the_page_names_no_customer(token, sandbox, customer, type_for_all, client):
    sandbox.mirror()
    client.force_login(customer.user)
    client.post(f"/book/{type_for_all.slug}/")
    page = Client().get("/metrics", **BEARER).content.decode()
    assert customer.user.email not in page
    assert customer.lead_id not in page
    # Labels only of kinds with a short, fixed list of values: none can name a person.
    names = {
        name for series, labels in parse(page) if series.startswith("portal_") for name, _ in labels
    }
    assert names <= {"method", "status", "outcome", "result", "le"}


def test_the_breaker_opening_shows_on_the_page(token, sandbox, customer, type_for_all, client):
    sandbox.mirror()
    sandbox.fault("503")
    client.force_login(customer.user)
    before = scrape()
    for _ in range(breaker.THRESHOLD):
        assert client.post(f"/book/{type_for_all.slug}/", {"start_over": "1"}).status_code == 503
    calls = sandbox.calls()
    assert client.post(f"/book/{type_for_all.slug}/", {"start_over": "1"}).status_code == 503
    assert sandbox.calls() == calls  # failed fast, without calling FLG
    after = scrape()
    assert value(after, "portal_flg_breaker_open") == 1
    assert (
        value(after, "portal_flg_breaker_openings_total")
        - value(before, "portal_flg_breaker_openings_total")
        == 1
    )
    assert (
        value(after, "portal_flg_breaker_fast_failures_total")
        - value(before, "portal_flg_breaker_fast_failures_total")
        == 1
    )
    assert (
        value(after, "portal_flg_calls_total", outcome="unavailable")
        - value(before, "portal_flg_calls_total", outcome="unavailable")
        == breaker.THRESHOLD
    )


def test_a_lockout_shows_on_the_page(token, customer, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    before = value(scrape(), "portal_sign_in_lockouts_total")
    statuses = [
        Client()
        .post("/accounts/login/", {"username": customer.user.email, "password": "wrong"})
        .status_code
        for _ in range(settings.AXES_FAILURE_LIMIT)
    ]
    assert statuses[-1] == 429
    after = value(scrape(), "portal_sign_in_lockouts_total")
    assert after - before == 1


# --- Under gunicorn: several workers, one page -----------------------------------------------


def per_worker_requests(directory: Path, method: str) -> dict[int, float]:
    """What each worker's own file holds for portal_http_requests_total{method, 2xx}."""
    counts: dict[int, float] = {}
    for path in directory.glob("counter_*.db"):
        pid = int(path.stem.split("_")[1])
        for key, count, _timestamp, _pos in MmapedDict.read_all_values_from_file(str(path)):
            name, sample, labels, _help = json.loads(key)
            if (
                name == "portal_http_requests"
                and sample == "portal_http_requests_total"
                and labels == {"method": method, "status": "2xx"}
            ):
                counts[pid] = counts.get(pid, 0) + count
    return counts


@pytest.mark.subprocess
def test_two_gunicorn_workers_counts_add_up_on_one_page(tmp_path):
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    # Left over from an earlier run: gunicorn.conf.py empties the directory at start.
    (metrics_dir / "counter_999999.db").write_bytes(b"stale")
    server = Gunicorn(
        tmp_path / "gunicorn.log",
        SECRET_KEY="metrics-test-" + "s" * 50,
        DEBUG="0",
        ALLOWED_HOSTS="127.0.0.1",
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        FLG_DOMAIN="demo.flg360.co.uk",
        FLG_API_KEY="production-key",
        SECURE_SSL_REDIRECT="0",
        WEB_CONCURRENCY="2",
        GUNICORN_THREADS="4",
        PROMETHEUS_MULTIPROC_DIR=str(metrics_dir),
        METRICS_TOKEN=TOKEN,
    )
    try:
        server.wait_ready(workers=2)
        assert not (metrics_dir / "counter_999999.db").exists()
        sent = 0
        # HEAD requests, so the scrapes (GET) never mix into the count being checked.
        for _ in range(30):
            assert requests.head(server.url + "/healthz", timeout=5).status_code == 200
            sent += 1
        # A worker that counted some stops (as max_requests or a crash would have it) and
        # gunicorn starts another: what it counted still counts, beside the others' counts.
        counted = per_worker_requests(metrics_dir, "HEAD")
        first = max(counted, key=lambda pid: counted[pid])
        os.kill(first, signal.SIGTERM)
        deadline = time.monotonic() + 20
        while (first in server.workers() or len(server.workers()) < 2) and (
            time.monotonic() < deadline
        ):
            time.sleep(0.1)
        for _ in range(30):
            assert requests.head(server.url + "/healthz", timeout=5).status_code == 200
            sent += 1
        page = requests.get(
            server.url + "/metrics", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=5
        )
        assert page.status_code == 200
        total = value(parse(page.text), "portal_http_requests_total", method="HEAD", status="2xx")
        by_worker = per_worker_requests(metrics_dir, "HEAD")
        assert total == sent
        assert sum(by_worker.values()) == sent
        assert len([pid for pid, n in by_worker.items() if n > 0]) >= 2, by_worker
        assert first in by_worker
    finally:
        server.stop()


def test_sign_in_link_emails_sent_and_refused_show_on_the_page(token, customer, mailoutbox):
    before = scrape()
    for _ in range(4):  # one a minute for one address; the others are held back
        answer = Client().post("/accounts/login/link/", {"email": customer.user.email})
        assert answer.status_code == 302
    after = scrape()
    assert len(mailoutbox) == 1

    def grew(result: str) -> float:
        return value(after, "portal_sign_in_link_emails_total", result=result) - value(
            before, "portal_sign_in_link_emails_total", result=result
        )

    assert (grew("sent"), grew("refused")) == (1, 3)


def test_lead_deliveries_show_on_the_page_by_outcome(token, settings, db):
    from tests.flg.test_webhooks import FLG_LEAD

    hook_token = "xV3q9Lr2TbN8wKc1Zp7Hd4Fj6Gs0Ma5E-metrics"
    settings.FLG_WEBHOOK_TOKENS = [hook_token]
    url = f"/flg/webhooks/leads/{hook_token}/"

    def deliver(fields: dict[str, str]):
        # Form-encoded, as FLG posts it.
        return Client().post(url, urlencode(fields), content_type=FORM)

    before = scrape()
    assert deliver(FLG_LEAD).json()["outcome"] == "created"
    assert deliver(FLG_LEAD).json()["outcome"] == "unchanged"
    assert deliver({**FLG_LEAD, "id": "not-digits"}).status_code == 400
    after = scrape()

    def grew(outcome: str) -> float:
        return value(after, "portal_webhook_deliveries_total", outcome=outcome) - value(
            before, "portal_webhook_deliveries_total", outcome=outcome
        )

    assert [grew(o) for o in ("created", "unchanged", "refused", "conflict")] == [1, 1, 1, 0]
    assert FLG_LEAD["id"] not in Client().get("/metrics", **BEARER).content.decode()


def test_a_booking_the_page_reports_shows_once_on_the_page(
    token, sandbox, customer, type_for_all, client, django_capture_on_commit_callbacks
):
    sandbox.mirror()
    client.force_login(customer.user)
    page = client.post(f"/book/{type_for_all.slug}/")["Location"]
    before = value(scrape(), "portal_bookings_reported_total")
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(page + "booked/").status_code == 200
        # Another tab reports the same booking: still one.
        assert client.post(page + "booked/").status_code == 200
    assert value(scrape(), "portal_bookings_reported_total") - before == 1
