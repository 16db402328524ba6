"""In real Chromium: a customer downloads their data, then deletes their account."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from appointments.models import Customer
from privacy.models import Erasure
from tests.appointments.test_browser import axe_report, new_page, sign_in
from tests.conftest import CHROMIUM, PASSWORD
from tests.privacy.conftest import session_create

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not Path(CHROMIUM).exists(),
        reason=f"Chromium is not installed at {CHROMIUM} (apt-get install chromium, or set "
        "CHROMIUM_PATH; .ci/run installs it)",
    ),
]


@pytest.fixture
def page(browser):
    yield from new_page(browser, accept_downloads=True)


def test_a_customer_downloads_their_data_then_deletes_their_account(
    page, live_server, customer, type_for_all
):
    from django.utils import timezone

    session_create(customer, type_for_all, created=timezone.now(), booked=True)
    sign_in(page, live_server, email="casey@example.com")
    page.get_by_role("link", name="Your data").click()
    page.get_by_role("heading", name="Your data").wait_for()

    with page.expect_download() as download:
        page.get_by_role("button", name="Download my data").click()
    data = json.loads(Path(download.value.path()).read_text())
    assert data["account"]["email"] == "casey@example.com"
    assert data["booking_sessions"][0]["appointment_type"] == "Initial consultation"
    assert "customer" in data["about"]

    page.get_by_label("Your password").fill("not my password")
    page.get_by_role("button", name="Delete my account").click()
    page.get_by_text("That is not your password").wait_for()
    assert Customer.objects.get(pk=customer.pk).erased_at is None

    page.get_by_label("Your password").fill(PASSWORD)
    page.get_by_role("button", name="Delete my account").click()
    page.get_by_role("heading", name="Your account is deleted").wait_for()
    assert page.get_by_text("keeps its own records").is_visible()
    assert page.get_by_role("link", name="Sign in").is_visible()
    assert Customer.objects.get(pk=customer.pk).erased_at is not None
    assert Erasure.objects.get().reason == Erasure.Reason.CUSTOMER
    page.get_by_role("link", name="Privacy notice").click()
    page.get_by_role("heading", name="Privacy notice").wait_for()
    assert page.console.errors == []


def test_the_your_data_page_passes_axe(browser, live_server, customer):
    from tests.appointments.test_browser import AXE

    if not AXE.exists():
        pytest.skip(f"axe-core is not installed at {AXE} (run `npm install`)")
    for page in new_page(browser, bypass_csp=True):
        sign_in(page, live_server, email="casey@example.com")
        page.goto(live_server.url + "/your-data/")
        assert axe_report(page) == ""
