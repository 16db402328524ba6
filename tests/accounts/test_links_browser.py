"""Password-free entry in real Chromium: a sign-in link by email, and a personal booking link."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.core import mail

from appointments import booking_links
from appointments.models import AppointmentType
from bookingportal.logging import mask_secrets
from tests.appointments.test_browser import axe_report, new_page, wait_for_booking_screen
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
SESSION_PAGE = re.compile(r"/book/initial-consultation/session/[0-9a-f-]{36}/$")


@pytest.fixture
def page(browser):
    yield from new_page(browser)


@pytest.fixture
def portal(sandbox, customer, type_for_all, type_for_homeowners, settings, live_server):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.PORTAL_URL = live_server.url  # the links in emails lead to this portal
    sandbox.mirror()
    return sandbox


def test_a_customer_asks_for_a_link_opens_it_and_lands_signed_in(page, live_server, portal):
    page.goto(live_server.url + "/accounts/login/")
    page.get_by_role("link", name="Email me a sign-in link").click()
    page.get_by_label("Email address").fill("Casey@Example.com")
    page.get_by_role("button", name="Email me a sign-in link").click()
    page.get_by_text("If we know Casey@Example.com, a link is on its way.").wait_for()

    [message] = mail.outbox
    link = re.search(r"(http://\S+/accounts/login/link/\S+/)", message.body)[1]
    page.goto(link)
    assert page.get_by_text("You are signing in as").is_visible()
    page.get_by_role("button", name="Continue as c\u2022\u2022\u2022@example.com").click()
    page.wait_for_url(live_server.url + "/")
    assert page.get_by_text("Signed in as casey@example.com").is_visible()
    assert page.locator(".type-card h2").all_inner_texts() == [
        "Initial consultation",
        "Home survey",
    ]
    assert portal.calls() == 0
    assert page.console.errors == []


def test_a_booking_link_reaches_flgs_screen_in_two_clicks(page, live_server, portal, customer):
    link = booking_links.booking_link_create(
        customer=customer,
        appointment_type=type_of("initial-consultation"),
        base_url=live_server.url,
    )
    page.goto(link.url)  # the first click, in the email
    page.get_by_role("heading", name="Initial consultation").wait_for()
    assert portal.calls() == 0
    page.get_by_role("button", name="Book Initial consultation").click()  # the second
    page.wait_for_url(SESSION_PAGE)
    wait_for_booking_screen(page)
    assert portal.calls() == 1
    assert page.get_by_text("Signed in as casey@example.com").is_visible()
    assert page.console.errors == []


# --- No Referer carries a token ----------------------------------------------------------------


class Referers:
    """The Referer of every request the page and its frames make."""

    def __init__(self, page) -> None:
        self.requests: list = []
        page.on("request", lambda request: self.requests.append(request))

    def all(self) -> list[str]:
        found = [request.header_value("referer") for request in self.requests]
        return [referer for referer in found if referer]


def test_no_request_from_a_sign_in_link_carries_its_token_as_referer(page, live_server, portal):
    referers = Referers(page)
    page.goto(live_server.url + "/accounts/login/link/")
    page.get_by_label("Email address").fill("casey@example.com")
    page.get_by_role("button", name="Email me a sign-in link").click()
    page.get_by_text("If we know casey@example.com, a link is on its way.").wait_for()
    link = re.search(r"(http://\S+/accounts/login/link/\S+/)", mail.outbox[-1].body)[1]
    token = link.rstrip("/").rsplit("/", 1)[1]

    page.goto(link)
    assert page.url == live_server.url + "/accounts/login/link/continue/"
    page.get_by_role("button", name="Continue as c\u2022\u2022\u2022@example.com").click()
    page.wait_for_url(live_server.url + "/")  # the form's POST passed Django's CSRF check
    assert page.get_by_text("Signed in as casey@example.com").is_visible()

    # The page's stylesheet, script and favicon were fetched, and the POST made, from an
    # address without the token.
    assert len(referers.all()) >= 4
    assert [r for r in referers.all() if token in r or mask_secrets(r) != r] == []
    assert page.console.errors == []


def test_no_request_from_a_booking_link_carries_a_token_as_referer(
    page, live_server, portal, customer
):
    referers = Referers(page)
    link = booking_links.booking_link_create(
        customer=customer,
        appointment_type=type_of("initial-consultation"),
        base_url=live_server.url,
    )
    token = link.url.rstrip("/").rsplit("/", 1)[1]
    page.goto(link.url)
    assert page.url == live_server.url + "/book/initial-consultation/link/"
    page.get_by_role("button", name="Book Initial consultation").click()
    page.wait_for_url(SESSION_PAGE)  # signed in and booked through the CSRF check
    wait_for_booking_screen(page)
    # The booking screen's own address holds its token too: nothing it loads sends it on.
    frame = page.frame_locator("#booking-frame")
    frame.locator("input[name=slot]").nth(1).check()
    frame.get_by_role("button", name="Book this appointment").click()
    # The screen's confirmation loads, and the portal's takes the frame's place.
    frame.get_by_text(re.compile(r"^Your appointment is booked for ")).wait_for(state="attached")
    page.locator("#booked-panel").wait_for()

    assert len(referers.all()) >= 4
    assert [r for r in referers.all() if token in r or mask_secrets(r) != r] == []
    assert page.console.errors == []


def type_of(slug):
    return AppointmentType.objects.get(slug=slug)


@pytest.fixture
def axe_page(browser):
    if not AXE.exists():
        pytest.skip(f"axe-core is not installed at {AXE} (run `npm install`; .ci/run does)")
    yield from new_page(browser, bypass_csp=True)


def test_axe_finds_no_violations_on_the_link_pages(axe_page, live_server, portal, customer):
    page = axe_page
    pages = {
        "the link request": "/accounts/login/link/",
        "the sign-in page": "/accounts/login/",
        "a spent sign-in link": "/accounts/login/link/0.zz.AAAAAAAAAAAA/",
        "a booking link": booking_links.booking_link_create(
            customer=customer,
            appointment_type=type_of("initial-consultation"),
            base_url="",
        ).url,
        "a spent booking link": "/book/initial-consultation/link/0.zz.AAAAAAAAAAAA/",
    }
    for where, path in pages.items():
        page.goto(live_server.url + path)
        report = axe_report(page)
        assert report == "", f"axe-core found violations on {where}:\n{report}"
