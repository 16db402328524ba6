"""Signing out is final on every replica, through a Redis stall and a Redis restart.

Two gunicorn servers share one database and one private Redis, as two replicas behind a load
balancer do. Sessions once lived in Redis as well: signed out on A while Redis was stalled,
the cookie still opened the home page on B once Redis resumed.
"""

from __future__ import annotations

import re

import pytest
import requests

from tests.processes import Gunicorn, manage

PASSWORD = "a-long-enough-password-9"
SEED = f"""
from django.contrib.auth.models import User
from appointments.models import Customer
user = User.objects.create_user("casey@example.com", "casey@example.com", "{PASSWORD}")
Customer.objects.create(user=user, lead_id="4242")
"""


@pytest.fixture
def replicas(redis_server, tmp_path):
    env = {
        "SECRET_KEY": "sign-out-final-" + "s" * 50,
        "DEBUG": "0",
        "ALLOWED_HOSTS": "127.0.0.1",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "CACHE_URL": redis_server.url,
        "STATIC_ROOT": str(tmp_path / "static"),
        "FLG_DOMAIN": "demo.flg360.co.uk",
        "FLG_API_KEY": "production-key",
        "SECURE_SSL_REDIRECT": "0",
        "SESSION_COOKIE_SECURE": "0",
        "CSRF_COOKIE_SECURE": "0",
        "WEB_CONCURRENCY": "2",
        "GUNICORN_THREADS": "2",
        "LOG_FORMAT": "json",
    }
    for command in (
        ["migrate", "--noinput"],
        ["collectstatic", "--noinput"],
        ["shell", "-c", SEED],
    ):
        done = manage(*command, timeout=180, **env)
        assert done.returncode == 0, done.stderr
    servers = [Gunicorn(tmp_path / f"portal-{name}.log", **env) for name in "ab"]
    try:
        for server in servers:
            server.wait_ready(workers=2)
        yield servers
    finally:
        for server in servers:
            server.stop()


def csrf_token(browser: requests.Session, url: str) -> str:
    page = browser.get(url, timeout=10).text
    found = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    assert found is not None
    return found[1]


def signed_in(url: str, cookie: str) -> bool:
    # A new connection each time, so the answers come from both workers of the server.
    home = requests.get(url + "/", cookies={"sessionid": cookie}, allow_redirects=False, timeout=10)
    assert home.status_code in {200, 302}, home.status_code
    return home.status_code == 200


def test_signing_out_while_redis_is_stalled_is_final_on_every_replica(replicas, redis_server):
    a, b = replicas
    browser = requests.Session()
    answer = browser.post(
        a.url + "/accounts/login/",
        {
            "username": "casey@example.com",
            "password": PASSWORD,
            "csrfmiddlewaretoken": csrf_token(browser, a.url + "/accounts/login/"),
        },
        allow_redirects=False,
        timeout=10,
    )
    assert answer.status_code == 302
    cookie = browser.cookies["sessionid"]
    assert all(signed_in(server.url, cookie) for server in (a, b) for _ in range(4))

    token = csrf_token(browser, a.url + "/")
    redis_server.stall()
    try:
        out = browser.post(
            a.url + "/accounts/logout/",
            {"csrfmiddlewaretoken": token},
            allow_redirects=False,
            timeout=10,
        )
        assert out.status_code == 302
    finally:
        redis_server.resume()

    still_in = [server.url for server in (a, b, b, a, b, a, b, a) if signed_in(server.url, cookie)]
    assert still_in == []

    # And through a restart of Redis.
    redis_server.kill()
    redis_server.start()
    still_in = [server.url for server in (a, b, b, a) if signed_in(server.url, cookie)]
    assert still_in == []
