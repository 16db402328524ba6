"""Every booking recorded, whichever window it was made in, with its day and time, in Chromium.

The portal, the sandbox's booking screen (in the frame and in a window of its own), the mail
queue and the calendar file are the real ones; the sandbox runs on live_server.
"""

# ruff: noqa: F811  (the fixtures shared with test_browser.py are imported by name)
from __future__ import annotations

import datetime as dt
import re
import uuid

import icalendar
import pytest
from django.core import mail
from django.utils import timezone
from playwright.sync_api import Error as PlaywrightError

from appointments.models import AppointmentSession, AppointmentType, BookedVia
from flg_sandbox.models import Session as SandboxSession
from tests.appointments.test_browser import (  # noqa: F401
    SCREENSHOTS,
    axe_page,
    axe_report,
    book,
    new_page,
    page,
    portal,
    pytestmark,
    session_id,
    set_visibility,
    sign_in,
    wait_for_booking_screen,
)

SIZES = [(390, 844), (1280, 800)]
LONG_WORD = "Consultation" + "x" * 200


def uk_when(start: dt.datetime, end: dt.datetime) -> str:
    """The words the portal uses for a slot: UK time, said so."""
    local = timezone.localtime(start)
    until = timezone.localtime(end)
    return f"{local:%A} {local.day} {local:%B %Y}, {local:%H:%M} to {until:%H:%M} (UK time)"


def booked_slot(portal_session: AppointmentSession) -> tuple[dt.datetime, dt.datetime]:
    flg = SandboxSession.objects.get(session_id=portal_session.flg_session_id)
    assert flg.booked_slot is not None
    return flg.booked_slot, flg.booked_slot + dt.timedelta(minutes=45)


def book_in_new_window(page, slot=2):
    """Open the screen in a window of its own, book there; returns that window."""
    with page.context.expect_page() as opened:
        page.get_by_role("link", name="Open in a new window").click()
    window = opened.value
    window.get_by_role("button", name="Book this appointment").wait_for()
    window.locator("input[name=slot]").nth(slot).check()
    window.get_by_role("button", name="Book this appointment").click()
    window.get_by_text(re.compile(r"^Your appointment is booked for ")).wait_for()
    return window


def scroll_width(page) -> int:
    return page.evaluate("document.scrollingElement.scrollWidth")


# --- In a new window ---------------------------------------------------------------------------


@pytest.mark.parametrize(("width", "height"), SIZES)
def test_a_booking_in_a_new_window_shows_in_the_first_tab_and_on_home_with_its_time(
    page, live_server, portal, width, height
):
    page.set_viewport_size({"width": width, "height": height})
    sign_in(page, live_server)
    book(page)
    wait_for_booking_screen(page)
    booked_id = session_id(page)

    window = book_in_new_window(page)
    # The screen's own window offers the way back, and it reports to this tab.
    assert window.get_by_role("link", name="Back to the booking portal").is_visible()
    panel = page.locator("#booked-panel")
    panel.get_by_role("heading", name="Your appointment is booked").wait_for()
    # The portal has answered (the time shows): only then is its record read here, since
    # SQLite's shared in-memory database locks a table a live_server thread is writing.
    page.locator("#booked-when", has_text="(UK time)").wait_for()

    session = AppointmentSession.objects.get(pk=booked_id)
    start, end = booked_slot(session)
    assert session.booked_via == BookedVia.SCREEN
    assert (session.slot_starts_at, session.slot_ends_at) == (start, end)
    page.locator("#booked-when", has_text=uk_when(start, end)).wait_for()
    assert not page.locator("#booking-frame").is_visible()
    assert not page.locator("#countdown").is_visible()
    assert panel.get_by_role("link", name=re.compile("^Add to calendar")).is_visible()

    # The way back closes the booking window (the tab that opened it has the confirmation),
    # or, where the browser will not close it, leads to the portal's home.
    try:
        window.get_by_role("link", name="Back to the booking portal").click()
    except PlaywrightError:
        # The link's own handler closed the window while Playwright still held the click:
        # the outcome wanted, not a failure of the click. Anything else is.
        if not window.is_closed():
            raise
    for _ in range(50):
        if window.is_closed() or window.url == live_server.url + "/":
            break
        page.wait_for_timeout(100)
    assert window.is_closed() or window.get_by_role("heading", name="Upcoming").is_visible()

    page.goto(live_server.url + "/")
    upcoming = page.locator("section", has=page.get_by_role("heading", name="Upcoming"))
    assert "Initial consultation" in upcoming.inner_text()
    assert uk_when(start, end) in upcoming.inner_text()
    assert "Times are UK time (Europe/London)" in upcoming.inner_text()
    assert scroll_width(page) <= width
    assert page.console.errors == []


def test_when_the_screen_says_nothing_the_customer_is_asked_and_their_word_recorded(
    page, live_server, portal
):
    # FLG's own screen may report nothing: the sandbox's script is kept out.
    page.context.route("**/flg_sandbox/js/screen.js", lambda route: route.fulfill(body=""))
    sign_in(page, live_server)
    book(page)
    wait_for_booking_screen(page)
    booked_id = session_id(page)

    window = book_in_new_window(page)
    window.close()
    set_visibility(page, "hidden")
    set_visibility(page, "visible")  # back from the booking window

    ask = page.locator("#ask-panel")
    ask.get_by_role("heading", name="Did you book your appointment?").wait_for()
    # The frame lists times FLG has closed: not shown as open, and nothing counts down.
    assert not page.locator("#booking-frame").is_visible()
    assert not page.locator("#countdown").is_visible()
    assert ask.get_by_role("button").all_inner_texts() == ["Yes, I booked", "No, not yet"]
    assert page.evaluate("document.activeElement.id") == "ask-heading"

    ask.get_by_role("button", name="Yes, I booked").click()
    page.locator("#booked-panel").get_by_text("(you told us)", exact=False).wait_for()
    session = AppointmentSession.objects.get(pk=booked_id)
    assert session.booked_via == BookedVia.CUSTOMER
    assert session.slot_starts_at is None
    assert "time not known" in page.locator("#booked-when").inner_text()
    assert not page.locator("#booked-calendar").is_visible()

    page.reload()
    assert page.get_by_role("heading", name="Your appointment is booked", level=1).is_visible()
    assert "(you told us)" in page.inner_text("main")


def test_not_yet_puts_the_booking_screen_back(page, live_server, portal):
    page.context.route("**/flg_sandbox/js/screen.js", lambda route: route.fulfill(body=""))
    sign_in(page, live_server)
    book(page)
    wait_for_booking_screen(page)
    with page.context.expect_page() as opened:
        page.get_by_role("link", name="Open in a new window").click()
    opened.value.close()
    set_visibility(page, "hidden")
    set_visibility(page, "visible")
    page.get_by_role("button", name="No, not yet").click()
    wait_for_booking_screen(page)
    assert page.locator("#countdown").is_visible()
    assert not page.locator("#ask-panel").is_visible()
    assert AppointmentSession.objects.get(pk=session_id(page)).booked_at is None


# --- Other tabs --------------------------------------------------------------------------------


def test_a_second_tab_learns_of_the_booking_within_seconds(browser, page, live_server, portal):
    sign_in(page, live_server)
    book(page)
    wait_for_booking_screen(page)
    # The same session in a second tab of this browser, and in another browser.
    second = page.context.new_page()
    second.goto(page.url)
    wait_for_booking_screen(second)
    elsewhere = next(new_page(browser))
    sign_in(elsewhere, live_server)
    elsewhere.goto(page.url)
    wait_for_booking_screen(elsewhere)

    frame = page.frame_locator("#booking-frame")
    frame.locator("input[name=slot]").nth(0).check()
    frame.get_by_role("button", name="Book this appointment").click()
    page.locator("#booked-panel").wait_for()

    # The tab beside it hears at once; the other browser asks when it is looked at again.
    second.locator("#booked-panel").wait_for(timeout=3_000)
    assert not second.locator("#booking-frame").is_visible()
    assert not second.locator("#countdown").is_visible()
    set_visibility(elsewhere, "hidden")
    set_visibility(elsewhere, "visible")
    elsewhere.locator("#booked-panel").wait_for(timeout=3_000)
    assert "(UK time)" in elsewhere.locator("#booked-when").inner_text()
    elsewhere.context.close()


def test_a_tab_that_missed_the_news_shows_the_booking_when_its_refresh_is_refused(
    browser, page, live_server, portal, settings
):
    settings.FLG_SANDBOX_SESSION_TTL = 200
    settings.BOOKING_REFRESH_MARGIN = 185  # due 15 s after creation
    elsewhere = next(new_page(browser))
    sign_in(elsewhere, live_server)
    elsewhere.clock.install()
    sign_in(page, live_server)
    book(page)
    wait_for_booking_screen(page)
    elsewhere.goto(page.url)
    wait_for_booking_screen(elsewhere)
    frame = page.frame_locator("#booking-frame")
    frame.locator("input[name=slot]").nth(0).check()
    frame.get_by_role("button", name="Book this appointment").click()
    page.locator("#booked-when", has_text="(UK time)").wait_for()

    elsewhere.clock.run_for(21_000)  # due: its refresh meets "booked"
    elsewhere.locator("#booked-when", has_text="(UK time)").wait_for()
    assert not elsewhere.locator("#booking-frame").is_visible()
    assert portal.calls() == 1
    elsewhere.context.close()


# --- The confirmation email ---------------------------------------------------------------------


def test_the_confirmation_email_carries_a_calendar_file_for_the_slot(
    browser, page, live_server, portal, settings
):
    settings.PORTAL_URL = live_server.url
    mail.outbox.clear()
    sign_in(page, live_server)
    book(page)
    wait_for_booking_screen(page)
    frame = page.frame_locator("#booking-frame")
    frame.locator("input[name=slot]").nth(3).check()
    frame.get_by_role("button", name="Book this appointment").click()
    page.locator("#booked-panel").wait_for()
    page.locator("#booked-when", has_text="(UK time)").wait_for()

    session = AppointmentSession.objects.get(pk=session_id(page))
    start, end = booked_slot(session)
    [email] = [m for m in mail.outbox if m.subject.startswith("Booked: ")]
    assert email.to == ["casey@example.com"]
    assert uk_when(start, end).replace(" (UK time)", "") in email.body
    assert f"Reference: {session.reference}" in email.body
    support = settings.PORTAL_SUPPORT_EMAIL
    assert f"To change or cancel it, contact us at {support}" in email.body
    [(filename, content, mimetype)] = email.attachments
    assert filename == f"appointment-{session.reference}.ics"
    assert mimetype.startswith("text/calendar")
    calendar = icalendar.Calendar.from_ical(content)
    [event] = calendar.events
    assert str(calendar["METHOD"]) == "PUBLISH"
    assert event.start == start
    assert event.end == end
    assert str(event["UID"]) == f"appointment-session-{session.pk}@flg-booking-portal"

    # The same file from home, byte for byte.
    response = page.request.get(live_server.url + f"/bookings/{session.pk}/appointment.ics")
    assert response.status == 200
    assert response.body() == (content if isinstance(content, bytes) else content.encode())

    html = email.alternatives[0][0]
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    view = next(new_page(browser))
    for width, height in SIZES:
        view.set_viewport_size({"width": width, "height": height})
        view.set_content(html)
        assert scroll_width(view) <= width
        view.screenshot(path=str(SCREENSHOTS / f"booking-email-{width}x{height}.png"))
    view.context.close()


# --- Pages that fit, and screenshots --------------------------------------------------------------


@pytest.fixture
def long_named_type(portal):
    made = AppointmentType.objects.create(flg_id=uuid.uuid4(), name=LONG_WORD, sort_order=5)
    portal.mirror()
    return made


def test_a_two_hundred_character_word_never_widens_the_page(page, live_server, long_named_type):
    page.set_viewport_size({"width": 390, "height": 844})
    sign_in(page, live_server)
    assert scroll_width(page) <= 390, "home"
    page.get_by_role("button", name=f"Book {LONG_WORD}").click()
    page.wait_for_url(re.compile(r"/session/[0-9a-f-]{36}/$"))
    wait_for_booking_screen(page)
    assert scroll_width(page) <= 390, "booking page"
    box = page.locator("#booking-frame").bounding_box()
    assert box["height"] >= 0.6 * 844, "the frame takes the screen below a compact bar"
    frame = page.frame_locator("#booking-frame")
    frame.locator("input[name=slot]").nth(0).check()
    frame.get_by_role("button", name="Book this appointment").click()
    page.locator("#booked-when", has_text="(UK time)").wait_for()
    assert scroll_width(page) <= 390, "confirmation"
    page.reload()
    assert scroll_width(page) <= 390, "confirmation page"
    page.goto(live_server.url + "/")
    assert scroll_width(page) <= 390, "home with the booking"


@pytest.mark.parametrize(("width", "height"), SIZES)
def test_the_screen_says_it_is_loading_then_fills_the_screen_with_no_page_scroll(
    page, live_server, portal, width, height
):
    page.set_viewport_size({"width": width, "height": height})
    sign_in(page, live_server)
    held = []
    page.route("**/sandbox/appointments/book/**", lambda route: held.append(route))
    page.get_by_role("button", name="Book Initial consultation").click()
    page.wait_for_url(re.compile(r"/session/[0-9a-f-]{36}/$"), wait_until="domcontentloaded")
    loading = page.get_by_text("Loading the booking screen…")
    loading.wait_for()
    for route in held:
        route.continue_()
    page.unroute("**/sandbox/appointments/book/**")
    wait_for_booking_screen(page)
    loading.wait_for(state="hidden")
    box = page.locator("#booking-frame").bounding_box()
    assert box["y"] + box["height"] <= height, "the frame ends within the screen"
    assert box["height"] >= 0.6 * height
    scroll = page.evaluate("document.scrollingElement.scrollHeight")
    assert scroll <= height + 1, "the page scrolls as well as the frame"


def past_booking(customer, appointment_type):
    start = timezone.now().replace(microsecond=0) - dt.timedelta(days=9, hours=2)
    return AppointmentSession.objects.create(
        flg_session_id=uuid.uuid4(),
        customer=customer,
        appointment_type=appointment_type,
        lead_id=customer.lead_id,
        public_url="https://platform.getflg.com/appointments/book/old",
        closes_at=start - dt.timedelta(days=1),
        created_at=start - dt.timedelta(days=1, minutes=30),
        booked_at=start - dt.timedelta(days=1, minutes=20),
        booked_via=BookedVia.SCREEN,
        slot_starts_at=start,
        slot_ends_at=start + dt.timedelta(minutes=45),
    )


@pytest.mark.parametrize(("width", "height"), SIZES)
def test_screenshots_of_the_confirmation_and_home_with_upcoming_and_past(
    page, live_server, portal, customer, type_for_homeowners, width, height
):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    past = past_booking(customer, type_for_homeowners)
    page.set_viewport_size({"width": width, "height": height})
    sign_in(page, live_server)
    book(page)
    wait_for_booking_screen(page)
    frame = page.frame_locator("#booking-frame")
    frame.locator("input[name=slot]").nth(1).check()
    frame.get_by_role("button", name="Book this appointment").click()
    page.locator("#booked-when", has_text="(UK time)").wait_for()
    page.screenshot(path=str(SCREENSHOTS / f"booked-panel-{width}x{height}.png"))
    page.reload()
    assert page.get_by_role("link", name=re.compile("^Add to calendar")).is_visible()
    page.screenshot(path=str(SCREENSHOTS / f"confirmation-{width}x{height}.png"), full_page=True)
    assert scroll_width(page) <= width

    page.goto(live_server.url + "/")
    past_section = page.locator("section", has=page.get_by_role("heading", name="Past"))
    assert uk_when(past.slot_starts_at, past.slot_ends_at) in past_section.inner_text()
    assert "Home survey" in past_section.inner_text()
    assert "Initial consultation" not in past_section.inner_text()
    page.screenshot(
        path=str(SCREENSHOTS / f"home-upcoming-past-{width}x{height}.png"), full_page=True
    )
    assert scroll_width(page) <= width


@pytest.mark.parametrize("where", ["confirmation", "home", "ask", "sandbox-booked"])
def test_axe_finds_no_violations_on_the_booking_record_pages(
    axe_page, live_server, portal, customer, type_for_homeowners, where
):
    page = axe_page
    past_booking(customer, type_for_homeowners)
    if where == "ask":
        page.context.route("**/flg_sandbox/js/screen.js", lambda route: route.fulfill(body=""))
    sign_in(page, live_server)
    book(page)
    wait_for_booking_screen(page)
    target = page
    if where == "ask":
        with page.context.expect_page() as opened:
            page.get_by_role("link", name="Open in a new window").click()
        opened.value.close()
        set_visibility(page, "hidden")
        set_visibility(page, "visible")
        page.locator("#ask-panel").wait_for()
    elif where == "sandbox-booked":
        target = book_in_new_window(page)
    else:
        frame = page.frame_locator("#booking-frame")
        frame.locator("input[name=slot]").nth(1).check()
        frame.get_by_role("button", name="Book this appointment").click()
        page.locator("#booked-when", has_text="(UK time)").wait_for()
        if where == "confirmation":
            page.reload()
        else:
            page.goto(live_server.url + "/")
            page.get_by_role("heading", name="Past").wait_for()
    report = axe_report(target)
    assert report == "", f"axe-core found violations on {where}:\n{report}"
