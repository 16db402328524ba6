"""The staff lists in real Chromium at 1280x800: every list of our apps fits, and the pages this
round changed (customers, appointment types) are clean under axe-core."""

from __future__ import annotations

import datetime as dt
import uuid
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone

from appointments.models import (
    AppointmentSession,
    AppointmentType,
    FlgFailure,
    LeadDelivery,
)
from outbox.models import EmailRecord, JobRun
from tests.appointments.test_browser import SCREENSHOTS, axe_report, new_page
from tests.conftest import CHROMIUM, make_customer, staff_sign_in

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not Path(CHROMIUM).exists(),
        reason=f"Chromium is not installed at {CHROMIUM} (apt-get install chromium, or set "
        "CHROMIUM_PATH; .ci/run installs it)",
    ),
]

AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
# Every changelist of our apps (and the user list accounts changes), by its admin URL name.
LISTS = [
    "appointments_leadgroup",
    "appointments_appointmenttype",
    "appointments_customer",
    "appointments_appointmentsession",
    "appointments_flgfailure",
    "appointments_leaddelivery",
    "outbox_emailrecord",
    "outbox_jobrun",
    "auth_user",
    "flg_sandbox_accesskey",
    "flg_sandbox_lead",
    "flg_sandbox_appointmenttype",
    "flg_sandbox_session",
    "flg_sandbox_apicall",
    "flg_sandbox_fault",
]


@pytest.fixture
def history(sandbox, customer, other_customer, type_for_all, type_for_homeowners):
    """Rows as long as real ones get: a long address and name, a session, a failure, a delivery,
    an invitation and a job run; the sandbox mirrors the portal."""
    long = make_customer(
        "alexandra.montgomery-fitzwilliam@example-property-management.co.uk", "108123799", None
    )
    long.user.first_name, long.user.last_name = "Alexandra", "Montgomery-Fitzwilliam"
    long.user.last_login = timezone.now()
    long.user.save()
    now = timezone.now()
    session = AppointmentSession.objects.create(
        flg_session_id=uuid.uuid4(),
        customer=customer,
        appointment_type=type_for_homeowners,
        lead_id=customer.lead_id,
        public_url="https://platform.getflg.com/appointments/book/" + "a" * 200,
        closes_at=now + dt.timedelta(minutes=30),
        booked_at=now,
    )
    assert session.pk
    FlgFailure.objects.create(
        appointment_type=type_for_all,
        customer=long,
        code="rejected",
        status=400,
        customer_message="This appointment cannot be booked online at the moment.",
        detail="FLG refused the lead or the appointment type (400): the type id may be wrong, "
        "or the lead's group may not match the type's lead group. FLG said: The lead's lead "
        "group does not match the appointment's lead group.",
    )
    LeadDelivery.objects.create(
        lead_id="108123799",
        outcome=LeadDelivery.Outcome.CONFLICT,
        reason="The email address belongs to another customer (lead 108123759); a delivery "
        "never moves it. Nothing changed.",
        changed="email, first name, last name, lead group, status",
        customer=long,
        source="203.0.113.200",
        invited=True,
    )
    EmailRecord.objects.create(
        kind="invite",
        user_id=long.user_id,
        recipient="a•••@example-property-management.co.uk",
        status=EmailRecord.Status.FAILED,
        last_error="SMTPRecipientsRefused: {'<address>': (550, b'5.1.1 The email account "
        "that you tried to reach does not exist.')}",
        batch="invite-20261205-101500-abcdef",
    )
    JobRun.objects.create(job="email_records_prune", period=1, result="3 email records")
    AppointmentType.objects.filter(pk=type_for_all.pk).update(
        flg_check=AppointmentType.FlgCheck.UNKNOWN
    )
    sandbox.mirror()
    return sandbox


@pytest.fixture
def staff_page(browser, live_server, history):
    user = get_user_model().objects.create_superuser("boss", "boss@example.com", "pw-boss-1")
    client = staff_sign_in(Client(), user)
    pages = new_page(browser, bypass_csp=True)
    page = next(pages)
    page.context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}]
    )
    yield page
    next(pages, None)


def overflow(page) -> dict[str, int]:
    """How many pixels the page, and the list's own scrolling box, are wider than they show."""
    return page.evaluate(
        """() => {
            const doc = document.documentElement;
            const results = document.querySelector('#changelist .results');
            return {
                page: doc.scrollWidth - doc.clientWidth,
                list: results ? results.scrollWidth - results.clientWidth : 0,
            };
        }"""
    )


@pytest.mark.parametrize("name", LISTS)
def test_every_list_fits_1280_pixels(staff_page, live_server, name):
    app, model = name.rsplit("_", 1)
    staff_page.goto(f"{live_server.url}/admin/{app}/{model}/")
    staff_page.locator("#changelist").wait_for()
    assert overflow(staff_page) == {"page": 0, "list": 0}, name
    if app == "appointments":
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        staff_page.screenshot(path=str(SCREENSHOTS / f"admin-{model}-1280x800.png"))


def changed_pages(live_server, customer, type_for_all) -> dict[str, str]:
    admin = live_server.url + "/admin/appointments"
    return {
        "the customer list": f"{admin}/customer/",
        "a customer's page": f"{admin}/customer/{customer.pk}/change/",
        "the customer import": f"{admin}/customer/import/",
        "the appointment type list": f"{admin}/appointmenttype/",
        "an appointment type FLG does not know": (
            f"{admin}/appointmenttype/{type_for_all.pk}/change/"
        ),
    }


def test_axe_finds_no_violations_on_the_changed_admin_pages(
    staff_page, live_server, customer, type_for_all
):
    if not AXE.exists():
        pytest.skip(f"axe-core is not installed at {AXE} (run `npm install`; .ci/run does)")
    for where, url in changed_pages(live_server, customer, type_for_all).items():
        staff_page.goto(url)
        report = axe_report(staff_page)
        assert report == "", f"axe-core found violations on {where}:\n{report}"


def test_staff_copy_a_booking_link_with_one_press(staff_page, live_server, customer):
    staff_page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    staff_page.goto(f"{live_server.url}/admin/appointments/customer/{customer.pk}/change/")
    link = staff_page.get_by_role("textbox", name="Home survey").input_value()
    staff_page.get_by_role("button", name="Copy the link for Home survey").click()
    staff_page.get_by_role("status").filter(has_text="Copied the link for Home survey.").wait_for()
    assert staff_page.evaluate("() => navigator.clipboard.readText()") == link
    assert "/book/home-survey/" in link
    assert staff_page.console.errors == []
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    staff_page.screenshot(
        path=str(SCREENSHOTS / "admin-customer-page-1280x800.png"), full_page=True
    )


def test_the_demo_offers_to_add_a_type_flg_does_not_know_to_the_sandbox(
    staff_page, live_server, type_for_all
):
    from flg_sandbox.models import AppointmentType as SandboxType

    SandboxType.objects.filter(pk=type_for_all.flg_id).delete()
    staff_page.goto(
        f"{live_server.url}/admin/appointments/appointmenttype/{type_for_all.pk}/change/"
    )
    staff_page.get_by_role("button", name="Add it to the sandbox").click()
    staff_page.get_by_text("Initial consultation: FLG 360 knows its id.").wait_for()
    assert SandboxType.objects.filter(pk=type_for_all.flg_id).exists()
    assert staff_page.get_by_role("button", name="Add it to the sandbox").count() == 0


def test_a_partial_import_preview_lists_the_refused_rows_and_is_clean_under_axe(
    staff_page, live_server
):
    if not AXE.exists():
        pytest.skip(f"axe-core is not installed at {AXE} (run `npm install`; .ci/run does)")
    text = (
        "email,first_name,last_name,lead_id,lead_group_id\n"
        "new@example.com,New,Person,901,101\n"
        "not-an-address,Bad,Row,902,101\n"
    )
    staff_page.goto(f"{live_server.url}/admin/appointments/customer/import/")
    staff_page.get_by_label("CSV file").set_input_files(
        files=[{"name": "customers.csv", "mimeType": "text/csv", "buffer": text.encode()}]
    )
    staff_page.get_by_label("Import the good rows and list the bad ones").check()
    staff_page.get_by_role("button", name="Preview").click()
    staff_page.get_by_role("heading", name="To be left out: 1 row with a problem").wait_for()
    with staff_page.expect_download() as download:
        staff_page.get_by_role("button", name="Download the refused rows (CSV)").click()
    assert "not-an-address" in Path(download.value.path()).read_text()
    report = axe_report(staff_page)
    assert report == "", f"axe-core found violations on a partial import's preview:\n{report}"
