"""Security headers, HTTPS, sign-in lockout, health endpoints and the deploy check."""

from __future__ import annotations

from pathlib import Path

import pytest
from axes.models import AccessAttempt
from django.contrib.auth import get_user_model
from django.test import Client

from tests.conftest import PASSWORD, staff_sign_in
from tests.helpers import assert_security_headers
from tests.processes import manage

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.django_db

PRODUCTION_ENV = {
    "SECRET_KEY": "k" * 20 + "-production-like-secret-0123456789-abcdefghijklmnop",
    "DEBUG": "0",
    "ALLOWED_HOSTS": "book.example.com",
    "FLG_DOMAIN": "demo.flg360.co.uk",
    "FLG_API_KEY": "a-real-looking-key",
    "FLG_SANDBOX": "0",
    "PORTAL_URL": "https://book.example.com",
    "SECURE_SSL_REDIRECT": "1",
    "SESSION_COOKIE_SECURE": "1",
    "CSRF_COOKIE_SECURE": "1",
    "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
    "EMAIL_HOST": "smtp.example.com",
}


def headers_of(response):
    return {k.lower(): v for k, v in response.items()}


def test_a_customer_page_has_every_header_and_frames_only_booking_hosts(customer_client, settings):
    settings.FLG_BOOKING_HOSTS = ["platform.getflg.com", "127.0.0.1:8000"]
    csp = assert_security_headers(customer_client.get("/"))
    assert csp["frame-src"] == [
        "https://platform.getflg.com",
        "https://127.0.0.1:8000",
        "http://127.0.0.1:8000",
    ]


def test_an_error_page_has_every_header(customer_client):
    response = customer_client.get("/no/such/page/")
    assert response.status_code == 404
    assert_security_headers(response)


def test_the_admin_has_every_header(admin_client):
    assert_security_headers(admin_client.get("/admin/"))


def test_the_sign_in_page_has_every_header(client):
    assert_security_headers(client.get("/accounts/login/"))


def test_only_the_sandbox_screen_may_be_framed(client):
    from flg_sandbox.models import AppointmentType, Lead, Session

    lead = Lead.objects.create(lead_id="1", lead_group_id=1)
    kind = AppointmentType.objects.create(name="x")
    from django.utils import timezone

    session = Session.objects.create(
        lead=lead, appointment_type=kind, closes_at=timezone.now() + timezone.timedelta(hours=1)
    )
    h = headers_of(client.get(f"/sandbox/appointments/book/{session.token}"))
    assert "x-frame-options" not in h
    assert "frame-ancestors 'self'" in h["content-security-policy"]


def test_a_sane_request_id_is_kept_and_a_bad_one_replaced(client):
    assert client.get("/healthz", HTTP_X_REQUEST_ID="abc-123")["X-Request-ID"] == "abc-123"
    replaced = client.get("/healthz", HTTP_X_REQUEST_ID="bad id\nwith newline")["X-Request-ID"]
    assert replaced != "bad id\nwith newline" and len(replaced) == 32


def test_production_redirects_to_https_except_health(client, settings):
    settings.SECURE_SSL_REDIRECT = True
    response = client.get("/accounts/login/")
    assert response.status_code == 301
    assert response["Location"].startswith("https://")
    assert client.get("/healthz").status_code == 200
    assert client.get("/readyz").status_code == 200


@pytest.mark.subprocess
def test_x_forwarded_proto_is_trusted_only_when_configured():
    env = {**PRODUCTION_ENV, "TRUSTED_PROXIES": "127.0.0.1"}
    code = (
        "from django.test import RequestFactory; "
        "print(RequestFactory().get('/', HTTP_X_FORWARDED_PROTO='https').is_secure())"
    )
    trusted = manage("shell", "-c", code, **env)
    untrusted = manage("shell", "-c", code, **{**env, "TRUSTED_PROXIES": ""})
    assert trusted.stdout.strip().splitlines()[-1] == "True", trusted.stderr
    assert untrusted.stdout.strip().splitlines()[-1] == "False", untrusted.stderr


@pytest.mark.subprocess
def test_the_deploy_check_passes_with_production_settings():
    result = manage("check", "--deploy", "--fail-level", "WARNING", **PRODUCTION_ENV)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


@pytest.mark.subprocess
def test_the_deploy_check_fails_with_the_sandbox_on():
    env = {**PRODUCTION_ENV, "FLG_SANDBOX": "1"}
    result = manage("check", "--deploy", "--fail-level", "WARNING", **env)
    assert result.returncode != 0
    # Without FLG_SANDBOX_DEMO_HOST the sandbox refuses to mount: an error, not just a warning
    # (tests/flg_sandbox/test_sandbox_key.py has the demo host's warning, flg.W003).
    assert "flg.E002" in result.stdout + result.stderr


# --- Health -------------------------------------------------------------------------------


def test_healthz_answers_without_the_database(client, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = client.get("/healthz")
    assert response.status_code == 200
    assert response.content == b"ok"
    assert "no-cache" in response["Cache-Control"]


def test_readyz_is_ok_when_ready(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "cache": "ok", "worker": "not seen"}


def test_readyz_is_503_with_a_reason_when_flg_is_not_configured(client, settings):
    settings.FLG_API_KEY = ""
    response = client.get("/readyz")
    assert response.status_code == 503
    assert "FLG" in response.json()["reason"]


def test_readyz_is_503_when_the_database_is_down(client, monkeypatch):
    from django.db import connection

    def broken_cursor(*args, **kwargs):
        raise ConnectionError("database down")

    monkeypatch.setattr(connection, "cursor", broken_cursor)
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["reason"].startswith("database")


# --- Lockout --------------------------------------------------------------------------------


def attempt(client, email, password, address):
    return client.post(
        "/accounts/login/", {"username": email, "password": password}, REMOTE_ADDR=address
    )


def test_repeated_failures_lock_out_the_email_from_that_address_only(customer, settings):
    client = Client()
    for n in range(settings.AXES_FAILURE_LIMIT):
        email = "casey@example.com" if n % 2 else "CASEY@example.com"
        attempt(client, email, "wrong", "203.0.113.5")
    locked = attempt(client, "casey@example.com", PASSWORD, "203.0.113.5")
    assert locked.status_code == 429
    assert "Too many attempts to sign in" in locked.content.decode()
    assert "Please try again after" in locked.content.decode()
    assert int(locked["Retry-After"]) == settings.AXES_COOLOFF_MINUTES * 60

    elsewhere = attempt(Client(), "casey@example.com", PASSWORD, "198.51.100.7")
    assert elsewhere.status_code == 302


def test_staff_unlock_a_customer_in_the_admin(customer, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        attempt(Client(), "casey@example.com", "wrong", "203.0.113.5")
    assert attempt(Client(), "casey@example.com", PASSWORD, "203.0.113.5").status_code == 429

    staff = get_user_model().objects.create_superuser("boss", "boss@example.com", "pw-boss-1")
    admin = Client()
    staff_sign_in(admin, staff)
    listing = admin.get("/admin/axes/accessattempt/")
    assert "casey@example.com" in listing.content.decode()
    ids = [str(pk) for pk in AccessAttempt.objects.values_list("pk", flat=True)]
    admin.post(
        "/admin/axes/accessattempt/",
        {"action": "delete_selected", "_selected_action": ids, "post": "yes"},
    )
    assert not AccessAttempt.objects.exists()
    assert attempt(Client(), "casey@example.com", PASSWORD, "203.0.113.5").status_code == 302


def test_behind_the_proxy_the_address_is_the_proxys_own_entry(customer, settings):
    from django.test import RequestFactory

    from bookingportal.proxy import client_ip

    request = RequestFactory().get(
        "/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="1.2.3.4, 203.0.113.9"
    )
    settings.TRUSTED_PROXIES = []
    assert client_ip(request) == "10.0.0.2"
    settings.TRUSTED_PROXIES = ["10.0.0.0/24"]
    assert client_ip(request) == "203.0.113.9"
    forged = RequestFactory().get("/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="nonsense")
    assert client_ip(forged) == "10.0.0.2"
    assert client_ip(RequestFactory().get("/", REMOTE_ADDR="")) is None


def test_the_favicon_is_found_where_browsers_look(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 301
    assert response["Location"].endswith("favicon.svg")
