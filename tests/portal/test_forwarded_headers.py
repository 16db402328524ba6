"""X-Forwarded-For and X-Forwarded-Proto count only when our own proxy sends them."""

from __future__ import annotations

import subprocess
import sys

import pytest
from axes.models import AccessAttempt
from django.test import Client

from tests.conftest import PASSWORD
from tests.processes import ROOT, clean_env, manage

PROXY = "10.0.0.2"
STRANGER = "203.0.113.66"  # reaches gunicorn directly, past the proxy
HOME = "203.0.113.5"
VICTIM_HOME = "198.51.100.7"


@pytest.fixture
def behind_our_proxy(settings):
    """Settings as TRUSTED_PROXIES=10.0.0.2 makes them."""
    settings.TRUSTED_PROXIES = [f"{PROXY}/32"]
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    # How the portal was put behind a proxy before TRUSTED_PROXIES; it must not matter now.
    settings.TRUST_X_FORWARDED_PROTO = True
    return settings


def sign_in(password, peer, forwarded_for=None):
    headers = {"HTTP_X_FORWARDED_FOR": forwarded_for} if forwarded_for else {}
    return Client().post(
        "/accounts/login/",
        {"username": "casey@example.com", "password": password},
        REMOTE_ADDR=peer,
        **headers,
    )


def test_from_our_proxy_lockouts_count_the_address_it_saw(customer, behind_our_proxy):
    for n in range(behind_our_proxy.AXES_FAILURE_LIMIT):
        sign_in("wrong", PROXY, f"10.9.9.{n}, {HOME}")
    assert AccessAttempt.objects.get().ip_address == HOME
    assert sign_in(PASSWORD, PROXY, HOME).status_code == 429
    assert sign_in(PASSWORD, PROXY, VICTIM_HOME).status_code == 302


def test_a_stranger_cannot_dodge_the_lockout_with_a_forged_x_forwarded_for(
    customer, behind_our_proxy
):
    for n in range(behind_our_proxy.AXES_FAILURE_LIMIT):
        sign_in("wrong", STRANGER, f"192.0.2.{n}")
    assert AccessAttempt.objects.get().ip_address == STRANGER
    assert sign_in(PASSWORD, STRANGER, "192.0.2.200").status_code == 429


def test_a_stranger_cannot_lock_a_victim_out_from_the_victims_address(customer, behind_our_proxy):
    for _ in range(behind_our_proxy.AXES_FAILURE_LIMIT):
        sign_in("wrong", STRANGER, VICTIM_HOME)
    assert not AccessAttempt.objects.filter(ip_address=VICTIM_HOME).exists()
    assert sign_in(PASSWORD, PROXY, VICTIM_HOME).status_code == 302


def test_a_chain_of_our_proxies_is_walked_to_the_first_address_not_ours(customer, behind_our_proxy):
    behind_our_proxy.TRUSTED_PROXIES = ["10.0.0.0/24"]
    sign_in("wrong", PROXY, f"192.0.2.9, {HOME}, 10.0.0.7")
    assert AccessAttempt.objects.get().ip_address == HOME


def test_x_forwarded_proto_from_a_stranger_does_not_make_a_request_https(behind_our_proxy, db):
    # (db: a page reads the business's settings, from the database when the cache has none.)
    behind_our_proxy.SECURE_SSL_REDIRECT = True
    client = Client()
    forged = client.get("/accounts/login/", REMOTE_ADDR=STRANGER, HTTP_X_FORWARDED_PROTO="https")
    assert forged.status_code == 301
    assert forged["Location"].startswith("https://")
    proxied = client.get("/accounts/login/", REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_PROTO="https")
    assert proxied.status_code == 200


SHOW = "from django.conf import settings as s; print(s.TRUSTED_PROXIES, s.SECURE_PROXY_SSL_HEADER)"
PRODUCTION_ENV = {
    "SECRET_KEY": "Yq3-production-like-secret-7hV9kQ2mZx8WcT4pLr6NbD1sFg5JuE0aHo-iKy",
    "ALLOWED_HOSTS": "book.example.com",
    "FLG_DOMAIN": "demo.flg360.co.uk",
    "FLG_API_KEY": "a-real-looking-access-key",
}


@pytest.mark.subprocess
def test_trusted_proxies_takes_addresses_and_ranges():
    done = manage("shell", "-c", SHOW, **PRODUCTION_ENV, TRUSTED_PROXIES=" 10.0.0.5, fd00::/8 ")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == (
        "['10.0.0.5/32', 'fd00::/8'] ('HTTP_X_FORWARDED_PROTO', 'https')"
    )


@pytest.mark.subprocess
@pytest.mark.parametrize("entry", ["proxy.internal", "10.0.0.5/8", "10.0.0.300"])
def test_a_bad_trusted_proxy_stops_start_up_with_one_line_naming_it(entry):
    done = manage("check", **PRODUCTION_ENV, TRUSTED_PROXIES=f"10.0.0.1,{entry}")
    assert done.returncode != 0
    assert "Traceback" not in done.stderr
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("Configuration error: TRUSTED_PROXIES")
    assert repr(entry) in last


@pytest.mark.subprocess
def test_the_old_switch_says_what_replaced_it():
    done = manage("check", **PRODUCTION_ENV, TRUST_X_FORWARDED_PROTO="1")
    assert done.returncode != 0
    assert "TRUSTED_PROXIES" in done.stderr.strip().splitlines()[-1]


@pytest.mark.subprocess
def test_gunicorn_trusts_the_same_proxies():
    code = "import runpy; print(runpy.run_path('gunicorn.conf.py')['forwarded_allow_ips'])"
    read = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=clean_env(TRUSTED_PROXIES="10.0.0.5, 172.16.0.0/12"),
        capture_output=True,
        text=True,
        check=True,
    )
    assert read.stdout.strip() == "10.0.0.5,172.16.0.0/12"
    nobody = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=clean_env(), capture_output=True, text=True
    )
    assert nobody.stdout.strip() == ""


def test_compose_publishes_the_portal_on_loopback_only():
    compose = (ROOT / "docker-compose.yml").read_text()
    assert '"8000:8000"' not in compose
    assert "127.0.0.1:8000}:8000" in compose or '"127.0.0.1:8000:8000"' in compose
