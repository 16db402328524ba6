"""Every page carries the security headers: customer pages, error pages, the admin, sign-in."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from axes.models import AccessAttempt
from csp.constants import HEADER, HEADER_REPORT_ONLY
from csp.middleware import CSPMiddleware
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.http import HttpResponse
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from bookingportal.middleware import PortalCSPMiddleware
from flg.sessions import booking_origins as frame_sources
from tests.conftest import CHROMIUM, PASSWORD, staff_sign_in
from tests.helpers import assert_security_headers, csp_of

pytestmark = pytest.mark.django_db

STAFF_EMAIL = "boss@example.com"
STAFF_PASSWORD = "pw-boss-correct-1"


@pytest.fixture
def staff_client(db):
    staff = get_user_model().objects.create_superuser("boss", STAFF_EMAIL, STAFF_PASSWORD)
    client = Client()
    return staff_sign_in(client, staff)


def test_a_customer_page_has_every_header_and_frames_only_the_booking_hosts(
    customer_client, settings
):
    settings.FLG_BOOKING_HOSTS = ["platform.getflg.com", "127.0.0.1:8000"]
    response = customer_client.get("/")
    assert response.status_code == 200
    csp = assert_security_headers(response)
    assert csp["frame-src"] == [
        "https://platform.getflg.com",
        "https://127.0.0.1:8000",
        "http://127.0.0.1:8000",
    ]


def test_the_sign_in_page_has_every_header(client):
    response = client.get("/accounts/login/")
    assert response.status_code == 200
    assert_security_headers(response)


def test_a_not_found_page_has_every_header(customer_client):
    response = customer_client.get("/no/such/page/")
    assert response.status_code == 404
    assert_security_headers(response)


def test_a_refused_form_has_every_header():
    response = Client(enforce_csrf_checks=True).post("/accounts/login/", {"username": "x"})
    assert response.status_code == 403
    assert_security_headers(response)


@pytest.mark.parametrize(
    "url", ["/admin/", "/admin/appointments/customer/", "/admin/appointments/appointmenttype/add/"]
)
def test_the_admin_has_every_header(staff_client, customer, url):
    response = staff_client.get(url)
    assert response.status_code == 200
    assert_security_headers(response)


def test_the_frame_sources_are_https_and_plain_http_only_on_loopback():
    assert frame_sources(["platform.getflg.com", "127.0.0.1:8000", "[::1]:8001", "localhost"]) == [
        "https://platform.getflg.com",
        "https://127.0.0.1:8000",
        "http://127.0.0.1:8000",
        "https://[::1]:8001",
        "http://[::1]:8001",
        "https://localhost",
        "http://localhost",
    ]


def test_with_no_booking_hosts_nothing_may_be_framed(client, settings):
    settings.FLG_BOOKING_HOSTS = []
    assert csp_of(client.get("/accounts/login/"))["frame-src"] == ["'none'"]


def test_only_the_sandbox_booking_screen_may_be_framed_and_only_by_the_portal(client):
    from flg_sandbox.models import AppointmentType, Lead, Session

    session = Session.objects.create(
        lead=Lead.objects.create(lead_id="1", lead_group_id=1),
        appointment_type=AppointmentType.objects.create(name="Survey"),
        closes_at=timezone.now() + timezone.timedelta(hours=1),
    )
    response = client.get(reverse("flg_sandbox:book", kwargs={"token": session.token}))
    assert response.status_code == 200
    assert "X-Frame-Options" not in response
    assert csp_of(response)["frame-ancestors"][0] == "'self'"
    assert "*" not in csp_of(response)["frame-ancestors"]


class LibraryCSPMiddleware(PortalCSPMiddleware):
    """The portal's policy parts, written out by django-csp's own process_response."""

    process_response = CSPMiddleware.process_response


RESPONSE_POLICIES: dict[str, dict[str, Any]] = {
    "the site's": {},
    "updated": {"_csp_update": {"img-src": ["https://img.example"]}},
    "replaced": {"_csp_replace": {"frame-ancestors": ["'self'", "http://127.0.0.1:*"]}},
    "its own": {"_csp_config": {"default-src": ["'none'"], "sandbox": True}},
    "exempt": {"_csp_exempt": True},
    "report-only updated": {"_csp_update_ro": {"script-src": ["https://cdn.example"]}},
}


@pytest.mark.parametrize("report_only", [False, True])
def test_each_policy_built_once_is_the_one_django_csp_writes(rf, settings, report_only):
    if report_only:
        settings.CONTENT_SECURITY_POLICY_REPORT_ONLY = {
            "EXCLUDE_URL_PREFIXES": ["/reports/"],
            "DIRECTIVES": {"default-src": ["'self'"], "report-uri": "/csp-report/"},
        }

    def answer(middleware_class: type[CSPMiddleware], case: str, path: str) -> dict[str, Any]:
        response = HttpResponse("page")
        for name, value in RESPONSE_POLICIES[case].items():
            setattr(response, name, value)
        request = rf.get(path)
        middleware = middleware_class(lambda request: response)
        middleware.process_request(request)
        written = middleware.process_response(request, response)
        return {name: written.get(name) for name in (HEADER, HEADER_REPORT_ONLY)}

    # Every case twice, one after another in one process: built, then remembered, and never
    # one response's policy for another's.
    for _ in range(2):
        for case in RESPONSE_POLICIES:
            for path in ["/", "/reports/page/"]:
                expected = answer(LibraryCSPMiddleware, case, path)
                assert answer(PortalCSPMiddleware, case, path) == expected, (case, path)
                assert expected[HEADER] is not None or case == "exempt"


# --- Production: HTTPS, HSTS, cookies -------------------------------------------------------
# The suite runs over plain http with the redirect and secure cookies switched off in
# pyproject.toml; here they are on, as DEBUG off makes them by default.


def test_https_answers_carry_hsts_for_a_year_with_subdomains_and_no_preload(client):
    response = client.get("/accounts/login/", secure=True)
    assert response["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"


def test_production_sends_every_page_over_https_but_the_probes(client, settings):
    settings.SECURE_SSL_REDIRECT = True
    response = client.get("/accounts/login/?next=/")
    assert response.status_code == 301
    assert response["Location"] == "https://testserver/accounts/login/?next=/"
    assert client.get("/accounts/login/", secure=True).status_code == 200
    assert client.get("/healthz").status_code == 200
    assert client.get("/readyz").status_code == 200


def test_production_cookies_are_secure_http_only_and_same_site(customer, settings):
    settings.SESSION_COOKIE_SECURE = True
    settings.CSRF_COOKIE_SECURE = True
    client = Client()
    page = client.get("/accounts/login/", secure=True)
    csrf = page.cookies["csrftoken"]
    assert csrf["secure"] and csrf["httponly"]
    signed_in = client.post(
        "/accounts/login/",
        {"username": "casey@example.com", "password": PASSWORD},
        secure=True,
    )
    assert signed_in.status_code == 302
    session = signed_in.cookies["sessionid"]
    assert session["secure"] and session["httponly"]
    assert session["samesite"] == "Lax"


# --- The admin under the policy -------------------------------------------------------------

INLINE_SCRIPT = re.compile(r"<script\b(?![^>]*\bsrc=)(?![^>]*application/json)[^>]*>", re.I)
INLINE_HANDLER = re.compile(r"<[^>]+\son[a-z]+\s*=", re.I)
INLINE_STYLE = re.compile(r"<style\b|<[^>]+\sstyle\s*=|javascript:", re.I)


def admin_pages() -> list[str]:
    pages = ["/admin/", "/admin/password_change/"]
    for model in admin.site._registry:
        app, name = model._meta.app_label, model._meta.model_name
        pages += [
            reverse(f"admin:{app}_{name}_changelist"),
            reverse(f"admin:{app}_{name}_add"),
        ]
    return pages


def test_no_admin_page_needs_inline_script_or_style(
    staff_client, customer, type_for_homeowners, settings
):
    AccessAttempt.objects.create(
        username="casey@example.com",
        ip_address="203.0.113.5",
        user_agent="test",
        failures_since_start=5,
    )
    pages = [
        *admin_pages(),
        reverse("admin:appointments_customer_change", args=[customer.pk]),
        reverse("admin:appointments_appointmenttype_change", args=[type_for_homeowners.pk]),
        reverse("admin:auth_user_change", args=[customer.user.pk]),
    ]
    for url in pages:
        response = staff_client.get(url)
        if response.status_code == 403:  # a model staff may not add to (the session log)
            continue
        assert response.status_code == 200, url
        html = response.content.decode()
        for pattern in (INLINE_SCRIPT, INLINE_HANDLER, INLINE_STYLE):
            found = pattern.search(html)
            assert found is None, f"{url}: {found and found.group(0)}"


@pytest.mark.browser
@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"Chromium is not installed at {CHROMIUM}")
def test_the_admin_works_in_a_browser_without_a_policy_violation(
    transactional_db, live_server, browser, type_for_all
):
    from django_otp.oath import totp
    from django_otp.plugins.otp_totp.models import TOTPDevice

    boss = get_user_model().objects.create_superuser("boss", STAFF_EMAIL, STAFF_PASSWORD)
    app = TOTPDevice.objects.create(user=boss, name="Authenticator app", confirmed=True)
    context = browser.new_context()
    page = context.new_page()
    page.set_default_timeout(10_000)
    errors = []
    page.on("console", lambda m: m.type == "error" and errors.append(m.text))
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.add_init_script(
        "document.addEventListener('securitypolicyviolation', e => "
        "console.error('CSP refused ' + e.violatedDirective + ' ' + e.blockedURI));"
    )
    page.goto(live_server.url + "/admin/")
    page.get_by_label("Email address").fill(STAFF_EMAIL)
    page.get_by_label("Password").fill(STAFF_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    # Then the second factor the admin asks staff for (accounts.two_factor).
    page.get_by_label("Code").fill(f"{totp(app.bin_key):06d}")
    page.get_by_label("Code").press("Enter")
    page.wait_for_url(live_server.url + "/admin/")

    # The admin's own scripts run: the slug follows the name as it is typed.
    page.goto(live_server.url + "/admin/appointments/appointmenttype/add/")
    page.locator("#id_name").press_sequentially("Boiler service")
    assert page.locator("#id_slug").input_value() == "boiler-service"
    # The action bar's "select all" is script too.
    page.goto(live_server.url + "/admin/appointments/appointmenttype/")
    page.locator("#action-toggle").check()
    assert page.locator("input.action-select").first.is_checked()
    for url in admin_pages():
        page.goto(live_server.url + url)
        page.wait_for_load_state("load")
    context.close()
    # The add pages of logs staff may not add to answer 403; anything else is a failure.
    assert [e for e in errors if "status of 403 (Forbidden)" not in e] == []
