"""The portal in real Chromium: sign in, book through the embedded sandbox, refresh, a11y."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from tests.conftest import PASSWORD

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
ARTIFACTS = ROOT / "test-artifacts" / "screenshots"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not Path(CHROMIUM).exists(),
        reason=f"Chromium is not installed at {CHROMIUM} (apt-get install chromium; .ci/run does)",
    ),
]


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop running in this thread from here on; the ORM
    # calls the tests make between page actions are ordinary blocking calls. (Subprocesses
    # that tests start drop DJANGO_* variables, so `check --deploy` never sees this.)
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


class Console:
    def __init__(self, page):
        self.errors = []
        page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        page.on("pageerror", lambda e: self.errors.append(str(e)))


@pytest.fixture
def page(browser):
    yield from new_page(browser)


@pytest.fixture
def axe_page(browser):
    # axe-core is injected as an inline script, which our CSP rightly refuses.
    yield from new_page(browser, bypass_csp=True)


def new_page(browser, **options):
    context = browser.new_context(
        viewport={"width": 1280, "height": 800}, locale="en-GB", **options
    )
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.console = Console(page)
    yield page
    context.close()


@pytest.fixture
def portal(sandbox, customer, other_customer, type_for_all, type_for_homeowners, settings):
    sandbox.mirror()
    return sandbox


def sign_in(page, live_server, email="CASEY@example.com"):
    page.goto(live_server.url + "/accounts/login/")
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(live_server.url + "/")


def book(page, name="Initial consultation"):
    page.get_by_role("button", name=f"Book {name}").click()
    page.wait_for_url(re.compile(r"/book/[\w-]+/session/[0-9a-f-]{36}/$"))


def frame_src(page):
    return page.locator("#booking-frame").get_attribute("src")


def axe_violations(page):
    if not AXE.exists():
        pytest.skip(f"axe-core is not installed at {AXE} (npm install; .ci/run does)")
    page.add_script_tag(path=str(AXE))
    result = page.evaluate(
        """async () => (await axe.run(document, {runOnly: {type: 'tag', values:
            ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa']}})).violations
            .map(v => ({id: v.id, impact: v.impact, help: v.help,
                        nodes: v.nodes.map(n => n.target.join(' '))}))"""
    )
    return json.dumps(result, indent=2) if result else ""


def test_a_customer_signs_in_and_sees_their_types(page, live_server, portal):
    sign_in(page, live_server)
    assert page.get_by_role("heading", name="Initial consultation").is_visible()
    assert page.get_by_role("heading", name="Home survey").is_visible()
    assert page.console.errors == []


def test_a_customer_books_through_the_embedded_screen(page, live_server, portal):
    sign_in(page, live_server)
    book(page)
    frame = page.frame_locator("#booking-frame")
    frame.locator("input[name=slot]").nth(2).check()
    frame.get_by_role("button", name="Book this appointment").click()
    frame.get_by_text(re.compile("Your appointment is booked for")).wait_for()
    page.get_by_text("Your appointment is booked. You can close this page.").wait_for()
    assert portal.calls() == 1
    assert page.console.errors == []


def test_the_page_warns_then_swaps_in_a_fresh_session_by_itself(
    page, live_server, portal, settings
):
    settings.FLG_SANDBOX_SESSION_TTL = 130
    settings.BOOKING_REFRESH_MARGIN = 125  # due 5 s after creation; the warning at once
    sign_in(page, live_server)
    book(page)
    first_url, first_src = page.url, frame_src(page)
    status = page.locator("#booking-status")
    assert status.get_attribute("aria-live") == "polite"
    page.get_by_text(re.compile("This booking screen will close in about")).wait_for()
    page.get_by_text("we opened a fresh one for you").wait_for(timeout=15_000)
    assert page.url != first_url
    assert re.search(r"/book/initial-consultation/session/[0-9a-f-]{36}/$", page.url)
    assert frame_src(page) != first_src
    assert portal.calls() == 2
    assert page.console.errors == []


def set_visibility(page, state):
    page.evaluate(
        """state => {
            Object.defineProperty(document, 'visibilityState', {value: state, configurable: true});
            document.dispatchEvent(new Event('visibilitychange'));
        }""",
        state,
    )


def test_a_hidden_tab_refreshes_as_soon_as_it_is_shown(page, live_server, portal, settings):
    settings.FLG_SANDBOX_SESSION_TTL = 62
    settings.BOOKING_REFRESH_MARGIN = 60  # due 2 s after creation
    # No timer ticks: only the visibility change may trigger the refresh.
    page.add_init_script("window.setInterval = function () { return 0; };")
    sign_in(page, live_server)
    book(page)
    first_src = frame_src(page)
    set_visibility(page, "hidden")
    page.wait_for_timeout(3_000)
    assert portal.calls() == 1
    assert frame_src(page) == first_src
    set_visibility(page, "visible")
    page.get_by_text("we opened a fresh one for you").wait_for(timeout=5_000)
    assert frame_src(page) != first_src
    assert portal.calls() == 2


def test_a_frame_that_will_not_load_offers_a_new_window(page, live_server, portal):
    sign_in(page, live_server)
    page.route("**/sandbox/appointments/book/**", lambda route: None)  # never answered
    page.clock.install()
    page.get_by_role("button", name="Book Initial consultation").click()
    page.wait_for_url(re.compile(r"/session/"), wait_until="domcontentloaded")
    fallback = page.get_by_role("link", name="Open the booking screen in a new window")
    assert not fallback.is_visible()
    page.clock.run_for(16_000)
    assert fallback.is_visible()
    assert fallback.get_attribute("target") == "_blank"
    assert fallback.get_attribute("href").startswith(portal.url + "/sandbox/appointments/book/")


@pytest.mark.parametrize("where", ["sign-in", "home", "booking", "error"])
def test_axe_finds_no_violations(axe_page, live_server, portal, where):
    page = axe_page
    if where == "sign-in":
        page.goto(live_server.url + "/accounts/login/")
    else:
        sign_in(page, live_server)
        if where == "booking":
            book(page)
        elif where == "error":
            portal.fault("503")
            page.get_by_role("button", name="Book Initial consultation").click()
            page.get_by_role("heading", name="We could not open the booking screen").wait_for()
    assert axe_violations(page) == ""
    assert page.console.errors == [] or where == "error"


@pytest.mark.parametrize(("width", "height"), [(390, 844), (1280, 800)])
def test_the_frame_fills_the_screen_without_a_second_scroll_bar(
    page, live_server, portal, width, height
):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.set_viewport_size({"width": width, "height": height})
    sign_in(page, live_server)
    page.screenshot(path=str(ARTIFACTS / f"home-{width}x{height}.png"), full_page=True)
    book(page)
    page.frame_locator("#booking-frame").get_by_role(
        "button", name="Book this appointment"
    ).wait_for()
    page.screenshot(path=str(ARTIFACTS / f"booking-{width}x{height}.png"))
    box = page.locator("#booking-frame").bounding_box()
    assert box["height"] >= 0.6 * height
    assert box["width"] >= 0.9 * width
    if width >= 768:
        scroll_height = page.evaluate("document.scrollingElement.scrollHeight")
        assert scroll_height <= height + 1
