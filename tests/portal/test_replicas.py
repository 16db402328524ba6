"""Several replicas, proven: two portal instances (two gunicorn masters, as two pods would be)
share one PostgreSQL, one Redis and one FLG (the sandbox, under its own gunicorn).

What must hold across them: simultaneous starts make one FLG call, the per-customer session
limit and the FLG circuit breaker are counted once for both, and a customer signed in on one is
signed in on the other. Needs PostgreSQL (the suite's server, a database of its own made and
dropped here) and a redis-server binary (a private server on a free port); skips and says why
without them.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from tests.processes import Gunicorn, free_port, manage, postgres_database

# Runs in `make test`'s PostgreSQL pass, on that server, in a database of its own.
pytestmark = [pytest.mark.postgres, pytest.mark.subprocess]


PASSWORD = "replica-password-1"
KEY = "replicas-sandbox-key"
TYPE_ID = "39594a1c-72db-4990-a63f-8d5139a5e4e1"
SLUG = "consultation"
CUSTOMERS = 12
SESSIONS_PER_MINUTE = 4
# The stand-in for FLG, which production settings mount only on a host that says it is a demo.
SANDBOX = {"FLG_SANDBOX": "1", "FLG_SANDBOX_DEMO_HOST": "1"}
TOKEN = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


def token_in(page: str) -> str:
    found = TOKEN.search(page)
    assert found, "no form with a CSRF token on the page"
    return found.group(1)


SEED = f"""
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from appointments.models import AppointmentType, Customer, LeadGroup
from flg_sandbox import models as sandbox

group = LeadGroup.objects.create(flg_id=101, name="Replicas")
AppointmentType.objects.create(flg_id="{TYPE_ID}", name="Consultation", slug="{SLUG}")
hashed = make_password("{PASSWORD}")
for n in range({CUSTOMERS}):
    user = get_user_model().objects.create(
        username=f"replica-{{n}}@example.com", email=f"replica-{{n}}@example.com", password=hashed
    )
    Customer.objects.create(user=user, lead_id=str(700000 + n), lead_group=group)
    sandbox.Lead.objects.create(lead_id=str(700000 + n), lead_group_id=101)
sandbox.AccessKey.objects.create(key="{KEY}", name="replicas", allow_appointments=True)
sandbox.AppointmentType.objects.create(id="{TYPE_ID}", name="Consultation", lead_group_id=None)
# Slow enough that ten simultaneous starts really overlap at FLG.
sandbox.Fault.objects.update_or_create(pk=1, defaults={{"mode": "none", "latency_ms": 300}})
"""


@pytest.fixture(scope="module")
def database() -> Iterator[str]:
    with postgres_database(f"replicas_{os.getpid()}", why="it holds what replicas share") as url:
        yield url


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory) -> Iterator[str]:
    server = shutil.which("redis-server")
    if server is None:
        pytest.skip("redis-server is not installed; replicas share limits and the breaker there")
    port = free_port()
    process = subprocess.Popen(
        [server, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        cwd=tmp_path_factory.mktemp("redis"),
        stdout=subprocess.DEVNULL,
    )
    import redis

    client = redis.Redis(port=port)
    try:
        for _ in range(100):
            try:
                client.ping()
                break
            except redis.ConnectionError:
                time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        process.wait(timeout=10)


@dataclass
class Replicas:
    a: Gunicorn
    b: Gunicorn
    database: str
    redis_url: str
    # What a manage.py command beside them needs: the same database, cache and key.
    env: dict[str, str]

    def flg_calls(self) -> int:
        """Requests that reached FLG's endpoint, as the sandbox counts them."""
        import psycopg

        with psycopg.connect(self.database) as conn:
            row = conn.execute("SELECT count(*) FROM flg_sandbox_apicall").fetchone()
        assert row is not None
        return int(row[0])

    def fault(self, mode: str, latency_ms: int) -> None:
        import psycopg

        with psycopg.connect(self.database) as conn:
            conn.execute(
                "UPDATE flg_sandbox_fault SET mode = %s, latency_ms = %s", (mode, latency_ms)
            )

    def breaker_reset(self) -> None:
        import redis

        client = redis.Redis.from_url(self.redis_url)
        for key in client.scan_iter("*flg:breaker*"):
            client.delete(key)


@pytest.fixture(scope="module")
def replicas(database, redis_url, tmp_path_factory) -> Iterator[Replicas]:
    tmp: Path = tmp_path_factory.mktemp("replicas")
    shared = {
        "SECRET_KEY": "replicas-test-" + "s" * 50,
        "DEBUG": "0",
        "ALLOWED_HOSTS": "127.0.0.1",
        "DATABASE_URL": database,
        "CACHE_URL": redis_url,
        "SECURE_SSL_REDIRECT": "0",
        "SESSION_COOKIE_SECURE": "0",
        "CSRF_COOKIE_SECURE": "0",
        "LOG_FORMAT": "json",
        "FLG_API_KEY": KEY,
        "FLG_TIMEOUT": "5",
        "BOOKING_SESSIONS_PER_MINUTE": str(SESSIONS_PER_MINUTE),
        "STATIC_ROOT": str(tmp / "static"),
    }
    for command in (["migrate", "--noinput"], ["collectstatic", "--noinput"]):
        done = manage(*command, timeout=180, **shared, **SANDBOX)
        assert done.returncode == 0, done.stderr
    seeded = manage("shell", "-c", SEED, **shared, **SANDBOX)
    assert seeded.returncode == 0, seeded.stderr

    servers: list[Gunicorn] = []
    try:
        sandbox = Gunicorn(
            tmp / "sandbox.log",
            **shared,
            **SANDBOX,
            WEB_CONCURRENCY="1",
            GUNICORN_THREADS="16",
        )
        servers.append(sandbox)
        sandbox.wait_ready()
        portal = {
            **shared,
            "FLG_SANDBOX": "0",
            "FLG_DOMAIN": sandbox.url + "/sandbox",
            "FLG_BOOKING_HOSTS": f"127.0.0.1:{sandbox.port}",
            "WEB_CONCURRENCY": "2",
            "GUNICORN_THREADS": "4",
        }
        a = Gunicorn(tmp / "portal-a.log", **portal)
        servers.append(a)
        b = Gunicorn(tmp / "portal-b.log", **portal)
        servers.append(b)
        a.wait_ready(workers=2)
        b.wait_ready(workers=2)
        yield Replicas(a=a, b=b, database=database, redis_url=redis_url, env=shared)
    finally:
        for server in servers:
            server.stop()


def sign_in(url: str, n: int) -> requests.Session:
    client = requests.Session()
    page = client.get(url + "/accounts/login/", timeout=30)
    answer = client.post(
        url + "/accounts/login/",
        {
            "username": f"replica-{n}@example.com",
            "password": PASSWORD,
            "csrfmiddlewaretoken": token_in(page.text),
        },
        allow_redirects=False,
        timeout=30,
    )
    assert answer.status_code == 302, answer.text[:300]
    return client


def form_token(client: requests.Session, url: str) -> str:
    return token_in(client.get(url + "/", timeout=30).text)


def start(client: requests.Session, url: str, token: str, **data: str) -> requests.Response:
    return client.post(
        url + f"/book/{SLUG}/",
        {"csrfmiddlewaretoken": token, **data},
        allow_redirects=False,
        timeout=30,
    )


def test_a_customer_signed_in_on_one_replica_is_signed_in_on_the_other(replicas):
    # One browser, two replicas behind a load balancer: the same cookies reach both.
    browser = sign_in(replicas.a.url, 0)
    home = browser.get(replicas.b.url + "/", allow_redirects=False, timeout=30)
    assert home.status_code == 200
    assert "Consultation" in home.text
    # Signing out on B signs out on A too.
    token = form_token(browser, replicas.b.url)
    out = browser.post(
        replicas.b.url + "/accounts/logout/", {"csrfmiddlewaretoken": token}, timeout=30
    )
    assert out.status_code == 200
    again = browser.get(replicas.a.url + "/", allow_redirects=False, timeout=30)
    assert again.status_code == 302
    assert "/accounts/login/" in again.headers["Location"]


def test_ten_simultaneous_starts_spread_over_both_make_one_flg_call(replicas):
    browser = sign_in(replicas.a.url, 1)
    token = form_token(browser, replicas.a.url)
    before = replicas.flg_calls()
    answers: list[requests.Response] = []
    ready = threading.Barrier(10)

    def press_book(i: int) -> None:
        tab = requests.Session()  # one tab each, the same cookies
        tab.cookies.update(browser.cookies)
        ready.wait()
        answers.append(start(tab, (replicas.a, replicas.b)[i % 2].url, token))

    threads = [threading.Thread(target=press_book, args=(i,)) for i in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert [answer.status_code for answer in answers] == [303] * 10
    assert len({answer.headers["Location"] for answer in answers}) == 1
    assert replicas.flg_calls() - before == 1


def test_the_per_customer_session_limit_is_counted_once_for_both(replicas):
    browser = sign_in(replicas.a.url, 2)
    token = form_token(browser, replicas.a.url)
    # "Start over" always makes a new session: each counts against the limit.
    statuses = [
        start(browser, server.url, token, start_over="1").status_code
        for server in [replicas.a, replicas.b] * SESSIONS_PER_MINUTE
    ][: SESSIONS_PER_MINUTE + 1]
    # Neither replica alone has seen more than three, yet the fifth is refused.
    assert statuses == [303] * SESSIONS_PER_MINUTE + [429]


def test_the_flg_circuit_breaker_opened_on_one_replica_holds_on_the_other(replicas):
    from flg import breaker

    browsers = [sign_in(replicas.a.url, 3 + n) for n in range(breaker.THRESHOLD + 1)]
    replicas.fault("503", 0)
    try:
        for browser in browsers[:-1]:
            token = form_token(browser, replicas.a.url)
            assert start(browser, replicas.a.url, token).status_code == 503
        calls = replicas.flg_calls()
        last = browsers[-1]
        token = form_token(last, replicas.b.url)
        clock = time.monotonic()
        refused = start(last, replicas.b.url, token)
        assert refused.status_code == 503
        # B did not call FLG: the breaker A opened is in Redis, where B looked first.
        assert replicas.flg_calls() == calls
        assert time.monotonic() - clock < 2
    finally:
        replicas.fault("none", 300)
        replicas.breaker_reset()


def test_one_customers_presses_on_both_replicas_share_one_call_while_flg_hangs(replicas):
    # The replicas share the customer's lock through Redis: the presses queued behind the
    # first one's call get its answer, instead of each calling FLG after it timed out.
    browser = sign_in(replicas.a.url, 10)
    token = form_token(browser, replicas.a.url)
    before = replicas.flg_calls()
    answers: list[tuple[int, float]] = []
    ready = threading.Barrier(10)

    def press_book(i: int) -> None:
        tab = requests.Session()
        tab.cookies.update(browser.cookies)
        ready.wait()
        clock = time.monotonic()
        status = start(tab, (replicas.a, replicas.b)[i % 2].url, token).status_code
        answers.append((status, time.monotonic() - clock))

    replicas.fault("hang", 0)
    try:
        threads = [threading.Thread(target=press_book, args=(i,)) for i in range(10)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=90)
        assert [status for status, _ in answers] == [503] * 10
        assert replicas.flg_calls() - before == 1
        # One FLG timeout (5 s) for all of them, not one after another.
        assert max(took for _, took in answers) < 2 * 5
    finally:
        replicas.fault("none", 300)
        replicas.breaker_reset()


SAVE_BRAND = """
from business.models import PortalSettings
row = PortalSettings.get_solo()
row.portal_name = "Harbour Dental"
row.save()
"""


def test_a_brand_saved_elsewhere_shows_on_every_replica_within_its_second(replicas):
    from business.branding import BRAND_REMEMBERED_SECONDS

    browsers = [(sign_in(server.url, 2), server.url) for server in (replicas.a, replicas.b)]
    for browser, url in browsers:  # each replica's workers now remember the old brand
        for _ in range(4):
            assert "Harbour Dental" not in browser.get(url + "/", timeout=30).text
    # A third process (as staff's admin save on another worker would): no signal reaches them.
    saved = manage("shell", "-c", SAVE_BRAND, **replicas.env, **SANDBOX)
    assert saved.returncode == 0, saved.stderr
    time.sleep(BRAND_REMEMBERED_SECONDS)
    for browser, url in browsers:
        for _ in range(4):  # whichever worker answers
            assert "Harbour Dental" in browser.get(url + "/", timeout=30).text
