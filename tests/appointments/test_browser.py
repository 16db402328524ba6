"""The portal in real Chromium: sign in, book through the embedded sandbox, refresh, a11y."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.conftest import CHROMIUM, PASSWORD

ROOT = Path(__file__).resolve().parents[2]
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
SESSION_PAGE = re.compile(r"/book/initial-consultation/session/([0-9a-f-]{36})/$")
FRESH_SESSION_NOTICE = "The booking screen was about to close, so we opened a fresh one for you."

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not Path(CHROMIUM).exists(),
        reason=f"Chromium is not installed at {CHROMIUM} (apt-get install chromium, or set "
        "CHROMIUM_PATH; .ci/run installs it)",
    ),
]


class Console:
    """Every console error and uncaught exception on a page, its frames included."""

    def __init__(self, page):
        self.errors: list[str] = []
        page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        page.on("pageerror", lambda e: self.errors.append(str(e)))


def new_page(browser, **options):
    context = browser.new_context(
        viewport={"width": 1280, "height": 800}, locale="en-GB", **options
    )
    page = context.new_page()
    page.set_default_timeout(10_000)
    page.console = Console(page)
    yield page
    context.close()


@pytest.fixture
def page(browser):
    yield from new_page(browser)


@pytest.fixture
def axe_page(browser):
    if not AXE.exists():
        pytest.skip(f"axe-core is not installed at {AXE} (run `npm install`; .ci/run does)")
    # add_script_tag(path=...) injects axe as an inline script, which our CSP rightly refuses.
    yield from new_page(browser, bypass_csp=True)


@pytest.fixture
def portal(sandbox, customer, type_for_all, type_for_homeowners):
    sandbox.mirror()
    return sandbox


def sign_in(page, live_server, email="casey@example.com"):
    page.goto(live_server.url + "/accounts/login/")
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(live_server.url + "/")


def book(page, name="Initial consultation"):
    page.get_by_role("button", name=f"Book {name}").click()
    page.wait_for_url(SESSION_PAGE)


def wait_for_booking_screen(page):
    page.frame_locator("#booking-frame").get_by_role(
        "button", name="Book this appointment"
    ).wait_for()


def frame_src(page):
    return page.locator("#booking-frame").get_attribute("src")


def session_id(page):
    return SESSION_PAGE.search(page.url).group(1)


def set_visibility(page, state):
    # Headless Chromium never hides a tab by itself; this is what a browser does on a switch.
    page.evaluate(
        """state => {
            Object.defineProperty(document, 'visibilityState', {value: state, configurable: true});
            Object.defineProperty(document, 'hidden', {value: state === 'hidden',
                                                       configurable: true});
            document.dispatchEvent(new Event('visibilitychange'));
        }""",
        state,
    )


def axe_report(page) -> str:
    """Run axe-core in the page; the violations as readable lines, or "" when there are none."""
    page.add_script_tag(path=str(AXE))
    violations = page.evaluate(
        """async tags => (await axe.run(document, {runOnly: {type: 'tag', values: tags}}))
            .violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.map(n => n.target.join(' ') + ': ' + n.failureSummary)}))""",
        AXE_TAGS,
    )
    lines = []
    for v in violations:
        lines.append(f"{v['id']} ({v['impact']}): {v['help']}")
        lines.extend(f"    {node}".replace("\n", "\n      ") for node in v["nodes"])
    return "\n".join(lines)


def test_a_customer_signs_in_with_their_email_in_any_case_and_sees_their_types(
    page, live_server, portal
):
    sign_in(page, live_server, email="CASEY@Example.com")
    assert page.get_by_text("Signed in as casey@example.com").is_visible()
    names = page.locator(".type-card h2").all_inner_texts()
    assert names == ["Initial consultation", "Home survey"]


def test_a_customer_books_through_the_embedded_screen_end_to_end(page, live_server, portal):
    sign_in(page, live_server)
    book(page)
    frame = page.frame_locator("#booking-frame")
    frame.get_by_role("heading", name="Initial consultation").wait_for()
    frame.locator("input[name=slot]").nth(2).check()
    # The booking screen's postMessage reaches the portal page, which records the booking
    # (waited for here, so the test never ends with the report in flight) and says so plainly
    # in place of the frame.
    with page.expect_response(lambda r: r.url.endswith("/booked/")) as reported:
        frame.get_by_role("button", name="Book this appointment").click()
    assert reported.value.status == 200
    page.locator("#booked-panel").get_by_role(
        "heading", name="Your appointment is booked"
    ).wait_for()
    assert not page.locator("#booking-frame").is_visible()
    assert portal.calls() == 1


def test_the_page_warns_then_swaps_in_a_fresh_session_by_itself(
    page, live_server, portal, settings
):
    settings.FLG_SANDBOX_SESSION_TTL = 130
    settings.BOOKING_REFRESH_MARGIN = 125  # due 5 s after creation; the warning at once
    sign_in(page, live_server)
    book(page)
    first_id, first_src = session_id(page), frame_src(page)
    status = page.locator("#booking-status")
    assert status.get_attribute("role") == "status"
    assert status.get_attribute("aria-live") == "polite"

    status.get_by_text(re.compile(r"^This booking screen will close in about ")).wait_for(
        timeout=3_000
    )
    assert portal.calls() == 1

    status.get_by_text(FRESH_SESSION_NOTICE).wait_for(timeout=10_000)
    assert session_id(page) != first_id
    assert frame_src(page) != first_src
    assert frame_src(page).startswith(portal.url + "/sandbox/appointments/book/")
    assert page.locator("#open-new-window").get_attribute("href") == frame_src(page)
    wait_for_booking_screen(page)
    assert portal.calls() == 2


def test_a_tab_hidden_past_the_margin_refreshes_as_soon_as_it_is_shown(
    page, live_server, portal, settings
):
    settings.FLG_SANDBOX_SESSION_TTL = 62
    settings.BOOKING_REFRESH_MARGIN = 60  # due 2 s after creation
    # No timer ever ticks, so nothing but the visibility change can start the refresh.
    page.add_init_script("window.setInterval = function () { return 0; };")
    sign_in(page, live_server)
    book(page)
    first_id, first_src = session_id(page), frame_src(page)

    set_visibility(page, "hidden")
    page.wait_for_timeout(2_500)  # hidden until past the margin
    assert portal.calls() == 1
    assert frame_src(page) == first_src

    with page.expect_request(re.compile(r"/refresh/$"), timeout=1_000):
        set_visibility(page, "visible")
    page.locator("#booking-status").get_by_text(FRESH_SESSION_NOTICE).wait_for(timeout=3_000)
    assert session_id(page) != first_id
    assert frame_src(page) != first_src
    assert portal.calls() == 2


def test_sign_in_home_and_booking_pages_log_no_console_errors(page, live_server, portal):
    sign_in(page, live_server)
    assert page.console.errors == [], "sign-in or home"
    book(page)
    wait_for_booking_screen(page)
    page.wait_for_load_state("load")
    assert page.console.errors == [], "booking"


@pytest.mark.parametrize("where", ["sign-in", "home", "booking", "not-found", "unavailable"])
def test_axe_finds_no_violations(axe_page, live_server, portal, where):
    page = axe_page
    if where == "sign-in":
        page.goto(live_server.url + "/accounts/login/")
    elif where == "not-found":
        sign_in(page, live_server)
        page.goto(
            live_server.url + "/book/no-such-type/session/00000000-0000-4000-8000-000000000000/"
        )
        page.get_by_role("heading", level=1).wait_for()
    else:
        sign_in(page, live_server)
        if where == "booking":
            book(page)
            wait_for_booking_screen(page)
        elif where == "unavailable":
            portal.fault("503")
            page.get_by_role("button", name="Book Initial consultation").click()
            page.get_by_role("heading", name="We could not open the booking screen").wait_for()
    report = axe_report(page)
    assert report == "", f"axe-core found violations on {where}:\n{report}"

    if where == "booking":
        # What the script shows later must pass too: a notice and the new-window fallback.
        page.evaluate(
            """() => {
                document.getElementById('frame-fallback').hidden = false;
                const status = document.getElementById('booking-status');
                status.innerHTML = '<p class="notice notice--error">We could not open a fresh '
                    + 'booking screen. <button type="button" class="button">Try again</button></p>';
            }"""
        )
        report = axe_report(page)
        assert report == "", f"axe-core found violations on {where} with notices:\n{report}"


@pytest.mark.parametrize(("width", "height"), [(390, 844), (1280, 800)])
def test_the_frame_fills_the_screen_without_a_second_scroll_bar(
    page, live_server, portal, width, height
):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.set_viewport_size({"width": width, "height": height})
    sign_in(page, live_server)
    page.screenshot(path=str(SCREENSHOTS / f"home-{width}x{height}.png"), full_page=True)
    book(page)
    wait_for_booking_screen(page)
    page.screenshot(path=str(SCREENSHOTS / f"booking-{width}x{height}.png"))

    box = page.locator("#booking-frame").bounding_box()
    assert box["height"] >= 0.6 * height
    assert box["width"] >= 0.9 * width
    scroll = page.evaluate(
        """() => ({height: document.scrollingElement.scrollHeight, width:
                   document.scrollingElement.scrollWidth})"""
    )
    assert scroll["width"] <= width, "the page scrolls sideways"
    # On a phone too: a compact bar, then the frame; only the booking screen scrolls.
    assert scroll["height"] <= height + 1, "the page scrolls as well as the frame"


def test_a_frame_that_never_loads_offers_a_new_window(page, live_server, portal):
    sign_in(page, live_server)
    hanging = []  # answered only at the end
    page.route("**/sandbox/appointments/book/**", lambda route: hanging.append(route))
    page.clock.install()  # the page's 15 s load timeout runs on this clock
    page.get_by_role("button", name="Book Initial consultation").click()
    page.wait_for_url(SESSION_PAGE, wait_until="domcontentloaded")
    fallback = page.get_by_role("link", name="Open the booking screen in a new window")
    page.clock.run_for(5_000)
    assert not fallback.is_visible()

    page.clock.run_for(11_000)
    assert fallback.is_visible()
    assert fallback.get_attribute("target") == "_blank"
    assert fallback.get_attribute("rel") == "opener"  # it reports a booking back
    assert fallback.get_attribute("href") == frame_src(page)
    assert frame_src(page).startswith(portal.url + "/sandbox/appointments/book/")
    for route in hanging:
        route.abort()


def test_a_frame_sent_outside_the_booking_hosts_offers_a_new_window_at_once(
    page, live_server, portal
):
    # FLG redirecting its screen to a host we do not frame: our CSP refuses it, and the
    # frame's load event fires all the same.
    elsewhere = live_server.url.replace("localhost", "127.0.0.1") + "/sandbox/"
    page.route(
        "**/sandbox/appointments/book/**",
        lambda route: route.fulfill(status=302, headers={"location": elsewhere}),
    )
    sign_in(page, live_server)
    book(page)
    page.get_by_role("link", name="Open the booking screen in a new window").wait_for(timeout=3_000)
