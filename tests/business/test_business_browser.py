"""The business runs its own portal, in real Chromium: staff change the brand and an email's
words in the admin and customers see them at once; the dashboard shows a seeded history."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.test import Client
from PIL import Image

from business.models import EmailText
from tests.appointments.test_browser import axe_report, new_page
from tests.business.test_dashboard import seed
from tests.conftest import CHROMIUM, staff_sign_in

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not Path(CHROMIUM).exists(),
        reason=f"Chromium is not installed at {CHROMIUM} (apt-get install chromium, or set "
        "CHROMIUM_PATH; .ci/run installs it)",
    ),
]

ROOT = Path(__file__).resolve().parents[2]
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
PLUM = "#7a1f5c"


def signed_in_page(browser, live_server, user, *, staff=False, **options):
    """A page whose browser carries the session a sign-in (with its second factor) gives."""
    client = staff_sign_in(Client(), user) if staff else Client()
    if not staff:
        client.force_login(user)
    pages = new_page(browser, **options)
    page = next(pages)
    page.context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}]
    )
    return page, pages


@pytest.fixture
def page(browser):
    yield from new_page(browser)


@pytest.fixture
def boss(transactional_db):
    return get_user_model().objects.create_superuser("boss", "boss@example.com", "pw-boss-1")


@pytest.fixture
def staff_page(browser, live_server, boss):
    page, pages = signed_in_page(browser, live_server, boss, staff=True)
    yield page
    next(pages, None)


@pytest.fixture
def customer_page(browser, live_server, customer):
    page, pages = signed_in_page(browser, live_server, customer.user)
    yield page
    next(pages, None)


@pytest.fixture
def axe_pages(browser, live_server, boss, customer):
    if not AXE.exists():
        pytest.skip(f"axe-core is not installed at {AXE} (run `npm install`; .ci/run does)")
    # axe goes in as an inline script, which our CSP rightly refuses.
    staff, staff_pages = signed_in_page(browser, live_server, boss, staff=True, bypass_csp=True)
    customer_, customer_pages = signed_in_page(browser, live_server, customer.user, bypass_csp=True)
    yield staff, customer_
    next(staff_pages, None)
    next(customer_pages, None)


def logo_file(tmp_path) -> Path:
    path = tmp_path / "harbour.png"
    Image.new("RGB", (400, 100), (20, 90, 60)).save(path)
    return path


def screenshot(page, name):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}-1280x800.png"))


def brand_the_portal(page, live_server, tmp_path):
    page.goto(live_server.url + "/admin/business/portalsettings/")
    page.get_by_label("Portal name").fill("Harbour Dental")
    page.get_by_label("Brand colour").fill(PLUM)
    page.get_by_label("New logo").set_input_files(str(logo_file(tmp_path)))
    page.get_by_label("Opening hours").fill("Monday to Friday, 9am to 5pm")
    page.get_by_label("Welcome text").fill("Welcome to Harbour Dental.")
    page.get_by_role("button", name="Save", exact=True).click()


def test_staff_change_name_logo_and_colour_and_a_customer_s_page_shows_them(
    staff_page, customer_page, live_server, tmp_path, type_for_all
):
    customer_page.goto(live_server.url + "/")
    assert customer_page.locator(".site-name").inner_text() == "Acme Bookings"

    brand_the_portal(staff_page, live_server, tmp_path)
    staff_page.get_by_text("Portal settings was changed successfully").wait_for()
    staff_page.goto(live_server.url + "/admin/business/portalsettings/")
    assert (
        staff_page.get_by_role("img", name="The current logo").evaluate(
            "img => img.complete && img.naturalWidth"
        )
        == 400
    )
    screenshot(staff_page, "portal-settings")

    customer_page.reload()
    logo = customer_page.get_by_role("img", name="Harbour Dental")
    assert logo.evaluate("img => img.complete && img.naturalWidth") == 400
    assert customer_page.title().endswith("· Harbour Dental")
    assert customer_page.get_by_text("Welcome to Harbour Dental.").is_visible()
    assert customer_page.get_by_text("Opening hours: Monday to Friday, 9am to 5pm.").is_visible()
    button = customer_page.get_by_role("button", name="Book Initial consultation")
    assert button.evaluate("b => getComputedStyle(b).backgroundColor") == "rgb(122, 31, 92)"
    assert customer_page.console.errors == []


def test_a_colour_too_light_for_white_text_is_refused_with_its_ratio(staff_page, live_server):
    staff_page.goto(live_server.url + "/admin/business/portalsettings/")
    staff_page.get_by_label("Brand colour").fill("#ffcc00")
    staff_page.get_by_role("button", name="Save", exact=True).click()
    staff_page.get_by_text(
        "#ffcc00 is too light: white text on buttons of this colour would have a contrast of "
        "1.51:1, and WCAG AA asks for at least 4.5:1."
    ).wait_for()


SIGN_IN_EDITOR = "/admin/business/emailtext/add/?kind=sign_in_link"


def test_staff_edit_the_sign_in_email_and_the_next_link_email_uses_it(
    staff_page, live_server, settings, customer, page
):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.PORTAL_URL = live_server.url
    staff_page.goto(live_server.url + "/admin/business/emailtext/")
    staff_page.get_by_role("link", name="Sign-in link").click()
    staff_page.wait_for_url(re.compile(r"/admin/business/emailtext/.*kind=sign_in_link"))
    subject, body = staff_page.locator("#id_subject"), staff_page.locator("#id_body")
    subject.fill("Your key to {{ portal_name }}")
    body.fill("Hello {{ first_name }},\n\nHere is your key:\n{{ link }}\n\nSee you soon.")
    # What staff typed is in each field, before anything is saved.
    assert subject.input_value() == "Your key to {{ portal_name }}"
    assert body.input_value().startswith("Hello {{ first_name }},")
    staff_page.get_by_role("button", name="Save and continue editing").click()
    staff_page.get_by_text("Preview of the saved text").wait_for()
    assert staff_page.locator("#preview-subject").inner_text() == "Your key to Acme Bookings"
    screenshot(staff_page, "email-editor")

    page.goto(live_server.url + "/accounts/login/link/")
    page.get_by_label("Email address").fill("casey@example.com")
    page.get_by_role("button", name="Email me a sign-in link").click()
    page.get_by_role("heading", name="Check your email").wait_for()
    [message] = mail.outbox
    assert message.subject == "Your key to Acme Bookings"
    assert message.body.startswith("Hello Casey,\n\nHere is your key:\nhttp://")
    link = re.search(r"(http://\S+/accounts/login/link/\S+/)", message.body)[1]
    page.goto(link)
    page.get_by_role("button", name="Continue as c\u2022\u2022\u2022@example.com").click()
    page.wait_for_url(live_server.url + "/")

    # "Send me a test" reaches the staff member through the same queue.
    staff_page.get_by_role("button", name="Send me a test").click()
    staff_page.get_by_text("A test of the saved text is on its way to b•••@example.com.").wait_for()
    assert mail.outbox[-1].to == ["boss@example.com"]
    assert mail.outbox[-1].subject == "[Test] Your key to Acme Bookings"


def test_a_template_with_a_syntax_error_is_refused_on_save(staff_page, live_server):
    staff_page.goto(live_server.url + SIGN_IN_EDITOR)
    staff_page.get_by_label("Body").fill("Hello {% if first_name %}{{ first_name }},\n{{ link }}")
    staff_page.get_by_role("button", name="Save", exact=True).click()
    staff_page.get_by_text(re.compile(r"This template has an error: Unclosed tag")).wait_for()
    assert not EmailText.objects.exists()


def test_the_dashboard_shows_the_seeded_history(
    staff_page, live_server, customer, other_customer, type_for_all, type_for_homeowners
):
    seed(customer, other_customer, type_for_all, type_for_homeowners)
    staff_page.goto(live_server.url + "/admin/")
    staff_page.get_by_label("Period").select_option("90")
    staff_page.get_by_label("Appointment type").select_option(label=type_for_all.name)
    staff_page.get_by_role("button", name="Show").click()
    staff_page.get_by_role(
        "heading", name=re.compile("the last 90 days, Initial consultation")
    ).wait_for()
    rows = staff_page.locator("#funnel-table tbody tr")
    assert [rows.nth(i).locator("td").all_inner_texts() for i in range(5)] == [
        ["5", "\u2013"],
        ["7", "140%"],
        ["4", "57%"],
        ["5", "125%"],
        ["3", "60%"],
    ]
    assert staff_page.get_by_role("img", name="From invitation to booking").is_visible()
    assert staff_page.get_by_role(
        "heading", name="Appointment types, lead groups and customers"
    ).is_visible()
    screenshot(staff_page, "dashboard")
    assert staff_page.console.errors == []


def test_axe_finds_no_violations_on_the_new_admin_pages_and_a_branded_customer_page(
    axe_pages, live_server, tmp_path, customer, other_customer, type_for_all, type_for_homeowners
):
    staff, customer_page = axe_pages
    seed(customer, other_customer, type_for_all, type_for_homeowners)
    brand_the_portal(staff, live_server, tmp_path)
    for path in [
        "/admin/",
        "/admin/business/portalsettings/",
        "/admin/business/emailtext/",
        SIGN_IN_EDITOR,
    ]:
        staff.goto(live_server.url + path)
        assert axe_report(staff) == "", path
    for path in ["/", "/accounts/password_change/"]:
        customer_page.goto(live_server.url + path)
        assert customer_page.get_by_role("img", name="Harbour Dental").is_visible()
        assert axe_report(customer_page) == "", path
