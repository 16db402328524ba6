"""Staff two-factor in real Chromium: enrolment from the page's own key, then a recovery code."""

from __future__ import annotations

import re
from base64 import b32decode
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django_otp.oath import totp

from tests.appointments.test_browser import axe_report, new_page
from tests.conftest import CHROMIUM

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not Path(CHROMIUM).exists(),
        reason=f"Chromium is not installed at {CHROMIUM} (apt-get install chromium, or set "
        "CHROMIUM_PATH; .ci/run installs it)",
    ),
]

AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
EMAIL = "sam@example.com"
PASSWORD = "pw-staff-sam-1"
INDEX = "Appointment types, lead groups and customers"


@pytest.fixture
def page(browser):
    yield from new_page(browser)


@pytest.fixture
def axe_page(browser):
    if not AXE.exists():
        pytest.skip(f"axe-core is not installed at {AXE} (run `npm install`; .ci/run does)")
    # axe goes in as an inline script, which our CSP rightly refuses.
    yield from new_page(browser, bypass_csp=True)


@pytest.fixture
def sam(transactional_db, live_server):
    return get_user_model().objects.create_superuser(EMAIL, EMAIL, PASSWORD)


def password_step(page, live_server):
    page.goto(live_server.url + "/admin/")
    page.get_by_label("Email address").fill(EMAIL)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()


def code_from_the_page(page) -> str:
    """What an authenticator app given the key typed from the page would show."""
    secret = page.locator("#two-factor-secret").inner_text()
    return f"{totp(b32decode(secret.replace(' ', ''))):06d}"


def test_a_staff_member_enrols_then_signs_in_with_a_recovery_code(page, live_server, sam):
    password_step(page, live_server)
    page.wait_for_url(re.compile(r"/accounts/two-factor/enrol/\?next=%2Fadmin%2F$"))
    qr = page.get_by_role("img", name=re.compile(r"^QR code for your authenticator app"))
    # The data: image loads under the CSP and is big enough for a phone's camera.
    assert qr.evaluate("img => img.complete && img.naturalWidth") >= 150

    page.get_by_label("Code").fill(code_from_the_page(page))
    page.get_by_role("button", name="Confirm").click()
    page.get_by_role("heading", name="Your recovery codes").wait_for()
    codes = page.locator("#recovery-codes code").all_inner_texts()
    assert len(codes) == 10
    page.get_by_role("link", name="Continue to the admin").click()
    page.get_by_role("heading", name=INDEX).wait_for()
    assert page.console.errors == [], "enrolment"

    page.get_by_role("button", name="Log out").click()
    password_step(page, live_server)
    page.wait_for_url(re.compile(r"/accounts/two-factor/\?next=%2Fadmin%2F$"))
    page.get_by_label("Code").fill("000000")
    page.get_by_role("button", name="Continue").click()
    page.get_by_text("That code is not right.").wait_for()
    page.get_by_label("Code").fill(codes[0])
    page.get_by_role("button", name="Continue").click()
    page.get_by_role("heading", name=INDEX).wait_for()
    page.get_by_text(re.compile(r"You signed in with a recovery code.*9 left")).wait_for()
    assert page.console.errors == [], "code page"


def test_axe_finds_no_violations_on_the_two_factor_pages(axe_page, live_server, sam):
    page = axe_page
    password_step(page, live_server)
    page.get_by_role("heading", name="Set up two-factor sign-in").wait_for()
    report = axe_report(page)
    assert report == "", f"axe-core found violations on enrolment:\n{report}"

    page.get_by_label("Code").fill("12")
    page.get_by_role("button", name="Confirm").click()
    page.get_by_text("That code is not right.").wait_for()
    report = axe_report(page)
    assert report == "", f"axe-core found violations on a refused code:\n{report}"

    page.wait_for_timeout(1_100)  # the wait a wrong code earns (OTP_TOTP_THROTTLE_FACTOR)
    page.get_by_label("Code").fill(code_from_the_page(page))
    page.get_by_role("button", name="Confirm").click()
    page.get_by_role("heading", name="Your recovery codes").wait_for()
    report = axe_report(page)
    assert report == "", f"axe-core found violations on the recovery codes:\n{report}"
    codes = page.locator("#recovery-codes code").all_inner_texts()

    page.get_by_role("button", name="Log out").click()
    password_step(page, live_server)
    page.get_by_role("heading", name="Two-factor code").wait_for()
    report = axe_report(page)
    assert report == "", f"axe-core found violations on the code page:\n{report}"

    page.get_by_label("Code").fill(codes[0])
    page.get_by_role("button", name="Continue").click()
    page.get_by_role("link", name="Recovery codes").click()
    page.get_by_role("button", name="Make new recovery codes").wait_for()
    report = axe_report(page)
    assert report == "", f"axe-core found violations on making new recovery codes:\n{report}"
