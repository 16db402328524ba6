"""The journey around the booking screen, in real Chromium: booked, idle, busy, accessible.

The page's clock is Playwright's fake one where time matters, so half an hour passes in a
moment; the sandbox, its booking screen and the portal are real and talk over real HTTP.
"""

# ruff: noqa: F811  (the fixtures shared with test_browser.py are imported by name)
from __future__ import annotations

import re

import pytest

from appointments.models import AppointmentSession
from tests.appointments.test_browser import (  # noqa: F401
    AXE,
    SCREENSHOTS,
    SESSION_PAGE,
    axe_page,
    axe_report,
    book,
    frame_src,
    page,
    portal,
    pytestmark,
    session_id,
    sign_in,
    wait_for_booking_screen,
)

FRESH = "The booking screen was about to close, so we opened a fresh one for you."
BUSY = "Opening the booking screen…"
SIZES = [(390, 844), (1280, 800)]


@pytest.fixture
def short_sessions(settings):
    # Due 15 s after creation, and warned about from the start.
    settings.FLG_SANDBOX_SESSION_TTL = 200
    settings.BOOKING_REFRESH_MARGIN = 185


def book_a_slot(page):
    """Book on the sandbox's screen, and wait for the page to report it to the portal."""
    frame = page.frame_locator("#booking-frame")
    frame.locator("input[name=slot]").nth(2).check()
    with page.expect_response(re.compile(r"/booked/$")) as reported:
        frame.get_by_role("button", name="Book this appointment").click()
        # The portal's confirmation takes the frame's place.
        booked_panel(page).get_by_text(re.compile(r"\(UK time\)$")).wait_for()
    assert reported.value.status == 200


def booked_panel(page):
    return page.locator("#booked-panel")


def idle_panel(page):
    return page.locator("#idle-panel")


def refresh_requests(page):
    found = []

    def seen(request):
        if request.method == "POST" and request.url.endswith("/refresh/"):
            found.append(request.url)

    page.on("request", seen)
    return found


# --- After the booking -------------------------------------------------------------------------


def test_a_booking_shows_the_confirmation_and_stops_the_countdown_warnings_and_refreshes(
    page, live_server, portal, short_sessions
):
    sign_in(page, live_server)
    page.clock.install()
    refreshes = refresh_requests(page)
    book(page)
    wait_for_booking_screen(page)
    status = page.locator("#booking-status")
    status.get_by_text(re.compile(r"^This booking screen will close in about ")).wait_for()
    booked_id = session_id(page)

    book_a_slot(page)
    panel = booked_panel(page)
    panel.get_by_role("heading", name="Your appointment is booked").wait_for()
    assert panel.get_by_role("link", name="Book another appointment").is_visible()
    assert page.evaluate("document.activeElement.id") == "booked-heading"
    assert status.inner_text() == ""
    assert not page.locator("#countdown").is_visible()
    assert not page.locator("#open-new-window").is_visible()
    assert not page.get_by_role("button", name="Start over").is_visible()

    # The server has the record: the page reported it.
    booked = AppointmentSession.objects.get(pk=booked_id)
    assert booked.booked_at is not None

    # Long past the moment it would have refreshed: nothing more happens.
    page.clock.run_for("05:00")
    page.wait_for_timeout(500)
    assert refreshes == []
    assert portal.calls() == 1
    assert "will close" not in status.inner_text()
    assert session_id(page) == booked_id
    assert page.console.errors == []


def test_a_reload_after_booking_shows_the_confirmation_and_book_again_opens_a_fresh_screen(
    page, live_server, portal
):
    sign_in(page, live_server)
    book(page)
    wait_for_booking_screen(page)
    booked_url, booked_src = page.url, frame_src(page)
    book_a_slot(page)
    booked_panel(page).wait_for()

    page.reload()
    assert page.url == booked_url
    assert page.get_by_role("heading", name="Your appointment is booked", level=1).is_visible()
    assert page.locator("iframe").count() == 0
    assert "closes in" not in page.inner_text("body")
    assert portal.calls() == 1

    # Book again, within the 30 s a fresh start would reuse: a new screen, not the spent one.
    page.get_by_role("link", name="Book another appointment").click()
    page.wait_for_url(live_server.url + "/")
    assert page.get_by_role("heading", name="Upcoming").is_visible()
    assert "Initial consultation" in page.locator(".booking-list").inner_text()
    book(page)
    wait_for_booking_screen(page)
    assert page.url != booked_url
    assert frame_src(page) != booked_src
    assert page.frame_locator("#booking-frame").get_by_text("closed").count() == 0
    assert portal.calls() == 2


@pytest.mark.parametrize(("width", "height"), SIZES)
def test_screenshots_of_the_confirmation(page, live_server, portal, width, height):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.set_viewport_size({"width": width, "height": height})
    sign_in(page, live_server)
    book(page)
    wait_for_booking_screen(page)
    book_a_slot(page)
    booked_panel(page).wait_for()
    page.screenshot(path=str(SCREENSHOTS / f"booked-{width}x{height}.png"))
    scroll_width = page.evaluate("document.scrollingElement.scrollWidth")
    assert scroll_width <= width, "the confirmation scrolls sideways"
    page.reload()
    page.screenshot(path=str(SCREENSHOTS / f"booked-page-{width}x{height}.png"), full_page=True)


# --- An open tab left alone ----------------------------------------------------------------------


def leave_until_next_due(page):
    # Due 15 s after each session's creation, and never sooner than 20 s after a refresh.
    page.clock.run_for(21_000)


def test_a_tab_left_alone_stops_after_the_idle_refreshes_and_offers_one_button(
    page, live_server, portal, short_sessions, settings
):
    assert settings.BOOKING_IDLE_REFRESHES == 2
    sign_in(page, live_server)
    page.clock.install()
    book(page)
    wait_for_booking_screen(page)
    status = page.locator("#booking-status")

    for refreshes in (1, 2):
        leave_until_next_due(page)
        status.get_by_text(FRESH).wait_for()
        assert portal.calls() == 1 + refreshes
        page.wait_for_function(
            "() => !document.getElementById('booking-status').textContent .includes('Opening')"
        )

    leave_until_next_due(page)
    panel = idle_panel(page)
    panel.get_by_role("heading", name="We closed the booking screen").wait_for()
    assert "to keep things tidy" in panel.inner_text()
    assert not page.locator("#booking-frame").is_visible()
    assert not page.locator("#countdown").is_visible()
    assert not page.locator("#open-new-window").is_visible()
    assert panel.get_by_role("button").all_inner_texts() == ["Open a fresh booking screen"]
    assert page.get_by_role("button").all_inner_texts() == [
        "Sign out",
        "Open a fresh booking screen",
    ]
    assert portal.calls() == 3

    # A whole day later, still no more calls to FLG.
    page.clock.fast_forward("24:00:00")
    page.clock.run_for(60_000)
    assert portal.calls() == 3

    for width, height in SIZES:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.set_viewport_size({"width": width, "height": height})
        page.screenshot(path=str(SCREENSHOTS / f"idle-{width}x{height}.png"))

    closed_id = session_id(page)
    panel.get_by_role("button", name="Open a fresh booking screen").click()
    status.get_by_text(FRESH).wait_for()
    wait_for_booking_screen(page)
    assert page.locator("#booking-frame").is_visible()
    assert not panel.is_visible()
    assert session_id(page) != closed_id
    assert portal.calls() == 4
    assert page.console.errors == []


def test_a_customer_choosing_a_time_keeps_the_screen_until_it_closes_and_is_told(
    page, live_server, portal, short_sessions
):
    sign_in(page, live_server)
    page.clock.install()
    book(page)
    wait_for_booking_screen(page)
    status = page.locator("#booking-status")
    first_id = session_id(page)
    # A time chosen in the frame: focus is in the booking screen.
    page.frame_locator("#booking-frame").locator("input[name=slot]").nth(1).check()
    assert page.evaluate("document.activeElement.id") == "booking-frame"

    leave_until_next_due(page)  # due, but not closed: the screen stays, and the page says why
    status.get_by_text(
        re.compile(r"^You are still using the booking screen, so we keep it")
    ).wait_for()
    assert "a fresh one opens in its place" in status.inner_text()
    assert portal.calls() == 1
    assert session_id(page) == first_id
    assert page.frame_locator("#booking-frame").locator("input[name=slot]:checked").count() == 1

    # On to just past the swap (3 s before it closes, 200 s after it opened), and no further:
    # the fresh screen may arrive while the jump is still running its timers, and 20 s more
    # of them would find the customer still in the frame and say so in FRESH's place.
    page.clock.run_for(180_000)
    status.get_by_text(FRESH).wait_for()
    assert portal.calls() == 2
    assert session_id(page) != first_id
    assert not idle_panel(page).is_visible()


def test_the_closing_rule_reads_the_same_on_the_page_and_in_the_warning(
    page, live_server, portal, short_sessions
):
    sign_in(page, live_server)
    page.clock.install()
    book(page)
    rule = "If it closes before you have booked, a fresh one opens in its place."
    assert page.locator("#countdown").inner_text().endswith(rule)
    status = page.locator("#booking-status")
    status.get_by_text(re.compile(r"^This booking screen will close in about ")).wait_for()
    assert status.inner_text().strip().endswith(rule)
    assert "reload this page" not in page.inner_text("body")


def test_the_countdown_reads_naturally_under_a_minute(page, live_server, portal, settings):
    settings.FLG_SANDBOX_SESSION_TTL = 75
    settings.BOOKING_REFRESH_MARGIN = 0
    sign_in(page, live_server)
    page.clock.install()
    book(page)
    countdown = page.locator("#countdown")
    status = page.locator("#booking-status")
    assert "closes in about a minute" in countdown.inner_text()
    status.get_by_text("This booking screen will close in about a minute.", exact=False).wait_for()
    page.clock.run_for(20_000)
    assert "closes in less than a minute" in countdown.inner_text()
    assert "about less than" not in status.inner_text() + countdown.inner_text()


# --- Waiting for FLG ----------------------------------------------------------------------------

PRESS_BOOK = """async ({wait, again}) => {
    const button = document.querySelector('.type-card button');
    button.click();
    const now = {text: button.textContent, aria: button.getAttribute('aria-disabled')};
    await new Promise(resolve => setTimeout(resolve, wait));
    if (again) {
        button.click();
        button.form.requestSubmit();
    }
    return {now, later: {text: button.textContent, disabled: button.disabled}};
}"""


def test_book_shows_it_is_busy_and_a_second_press_sends_nothing(page, live_server, portal):
    portal.fault("none", latency_ms=2_000)
    sign_in(page, live_server)
    starts: list[str] = []
    page.on("request", lambda r: r.method == "POST" and "/book/" in r.url and starts.append(r.url))

    # Read in the page itself: Playwright's own locators wait for the navigation to finish.
    seen = page.evaluate(PRESS_BOOK, {"wait": 300, "again": True})
    assert seen["now"] == {"text": BUSY, "aria": "true"}
    assert seen["later"] == {"text": BUSY, "disabled": True}
    page.wait_for_url(SESSION_PAGE)
    wait_for_booking_screen(page)
    assert len(starts) == 1
    assert portal.calls() == 1


def test_a_slow_start_says_it_is_still_working(page, live_server, portal, settings):
    settings.FLG_TIMEOUT = 10
    portal.fault("none", latency_ms=6_500)
    sign_in(page, live_server)
    seen = page.evaluate(PRESS_BOOK, {"wait": 5_500, "again": False})
    assert seen["later"]["text"] == "Still opening, please wait…"
    page.wait_for_url(SESSION_PAGE, timeout=15_000)
    assert portal.calls() == 1


def test_back_from_the_booking_page_finds_book_ready_again(page, live_server, portal):
    sign_in(page, live_server)
    book(page)
    page.go_back()
    page.wait_for_url(live_server.url + "/")
    button = page.get_by_role("button", name="Book Initial consultation")
    assert button.is_enabled()
    assert "Opening" not in button.inner_text()
    book(page)
    assert portal.calls() == 1  # the same session again, within the reuse window


# --- Buttons ---------------------------------------------------------------------------------


def test_book_buttons_line_up_with_or_without_a_description(page, live_server, portal):
    assert portal is not None
    sign_in(page, live_server)
    tops = [box["y"] for box in (b.bounding_box() for b in page.locator(".type-card button").all())]
    assert len(tops) == 2
    assert tops[0] == tops[1]


def test_throwing_the_session_away_looks_secondary_and_the_way_forward_primary(
    page, live_server, portal
):
    sign_in(page, live_server)
    book(page)
    background = "el => getComputedStyle(el).backgroundColor"
    primary = page.evaluate(
        "() => getComputedStyle(document.querySelector('#fallback-link')).backgroundColor"
    )
    start_over = page.get_by_role("button", name="Start over").evaluate(background)
    new_window = page.locator("#open-new-window").evaluate(background)
    assert start_over == new_window == "rgb(255, 255, 255)"
    assert primary == "rgb(11, 92, 173)"


# --- Accessibility of the new pages and states -----------------------------------------------


@pytest.mark.parametrize(
    "where",
    ["booked-panel", "booked-page", "home-with-bookings", "idle-panel", "not-allowed", "busy"],
)
def test_axe_finds_no_violations_on_the_new_pages(axe_page, live_server, portal, where):
    page = axe_page
    sign_in(page, live_server)
    if where == "not-allowed":
        page.goto(live_server.url + "/accounts/logout/")
        page.get_by_role("heading", name="This page cannot be opened that way").wait_for()
    elif where == "busy":
        # The busy state without leaving the page: the submission itself is cancelled.
        page.evaluate(
            """() => {
                const button = document.querySelector('.type-card button');
                button.form.addEventListener('submit', event => event.preventDefault());
                button.form.requestSubmit(button);
            }"""
        )
        page.locator(".type-card button", has_text=BUSY).wait_for()
    elif where == "idle-panel":
        book(page)
        wait_for_booking_screen(page)
        page.evaluate(
            """() => {
                for (const id of ['booking-frame-wrap', 'countdown', 'open-new-window'])
                    document.getElementById(id).hidden = true;
                document.getElementById('idle-panel').hidden = false;
            }"""
        )
    else:
        book(page)
        wait_for_booking_screen(page)
        book_a_slot(page)
        booked_panel(page).wait_for()
        if where == "booked-page":
            page.reload()
        elif where == "home-with-bookings":
            page.goto(live_server.url + "/")
            page.get_by_role("heading", name="Upcoming").wait_for()
    report = axe_report(page)
    assert report == "", f"axe-core found violations on {where}:\n{report}"


def test_axe_finds_no_violations_on_the_sign_in_warning(axe_page, live_server, portal):
    page = axe_page
    for _ in range(4):
        page.goto(live_server.url + "/accounts/login/")
        page.get_by_label("Email address").fill("casey@example.com")
        page.get_by_label("Password").fill("wrong-password")
        page.get_by_role("button", name="Sign in").click()
        page.get_by_role("alert").wait_for()
    assert "One more wrong password" in page.get_by_role("alert").inner_text()
    report = axe_report(page)
    assert report == "", f"axe-core found violations on the warning:\n{report}"


def test_axe_is_installed():
    # Without axe-core the accessibility tests above skip; say so plainly when it is missing.
    if not AXE.exists():
        pytest.skip(f"axe-core is not installed at {AXE}")
    assert AXE.stat().st_size > 0
