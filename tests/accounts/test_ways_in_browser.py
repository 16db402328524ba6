"""The ways in and the set-password pages in real Chromium: the password rules are read out with
the field, a dead link leads a signed-in customer on, and axe-core finds nothing on any of the
pages this touches, on a phone and on a desktop."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.core import mail
from django.test import Client
from playwright.sync_api import expect

from accounts import invites
from tests.appointments.test_browser import AXE, Console, axe_report, sign_in
from tests.conftest import CHROMIUM, PASSWORD

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not Path(CHROMIUM).exists(),
        reason=f"Chromium is not installed at {CHROMIUM} (apt-get install chromium, or set "
        "CHROMIUM_PATH; .ci/run installs it)",
    ),
]

RULES = re.compile(r"at least 8 characters.*can.t be entirely numeric", re.DOTALL)
VIEWPORTS = {"phone": {"width": 390, "height": 844}, "desktop": {"width": 1280, "height": 800}}


@pytest.fixture(params=list(VIEWPORTS))
def page(request, browser):
    if not AXE.exists():
        pytest.skip(f"axe-core is not installed at {AXE} (run `npm install`; .ci/run does)")
    # add_script_tag(path=...) injects axe as an inline script, which our CSP rightly refuses.
    context = browser.new_context(
        viewport=VIEWPORTS[request.param], locale="en-GB", bypass_csp=True
    )
    page = context.new_page()
    page.set_default_timeout(10_000)
    page.console = Console(page)
    yield page
    context.close()


@pytest.fixture
def invited(transactional_db, customer, settings, live_server):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.PORTAL_URL = live_server.url
    customer.user.set_unusable_password()
    customer.user.save()
    mail.outbox.clear()
    invites.invite_send(user=customer.user)
    return customer


def emailed(live_server, kind: str) -> str:
    found = re.search(
        rf"{re.escape(live_server.url)}/accounts/{kind}/\S+/", str(mail.outbox[-1].body)
    )
    assert found, mail.outbox[-1].body
    return found[0]


def chromium_description(page, name: str) -> str:
    """The description Chromium's own accessibility tree gives the text box called `name`."""
    cdp = page.context.new_cdp_session(page)
    nodes = cdp.send("Accessibility.getFullAXTree")["nodes"]
    for node in nodes:
        role, called = node.get("role", {}).get("value"), node.get("name", {}).get("value")
        if role == "textbox" and called == name:
            return str(node.get("description", {}).get("value", ""))
    raise AssertionError(f"no text box named {name!r}")


def new_password(page):
    return page.get_by_role("textbox", name="New password", exact=True)


def assert_axe_clean(page, where: str) -> None:
    report = axe_report(page)
    assert report == "", f"axe-core found violations on {where}:\n{report}"


def test_the_invitation_reads_the_password_rules_with_the_field(page, live_server, invited):
    page.goto(emailed(live_server, "invite"))
    page.get_by_role("heading", name="Welcome: choose a password").wait_for()
    field = page.get_by_role("textbox", name="New password", exact=True)
    expect(field).to_have_accessible_description(RULES)
    assert RULES.search(chromium_description(page, "New password"))
    assert_axe_clean(page, "the invitation")

    field.fill("a-good-long-phrase-1")
    page.get_by_label("New password confirmation").fill("another-phrase-2")
    page.get_by_role("button", name="Save and continue").click()
    confirm = page.get_by_role("textbox", name="New password confirmation")
    expect(confirm).to_have_accessible_description(re.compile(r"didn.t match"))
    expect(confirm).to_have_attribute("aria-invalid", "true")
    assert_axe_clean(page, "the invitation with an error")
    assert page.console.errors == []


def test_the_invitations_password_link_works_after_its_sign_in_link(page, live_server, invited):
    sign_in_link, password_link = emailed(live_server, "login/link"), emailed(live_server, "invite")
    page.goto(sign_in_link)
    page.get_by_role("button", name=re.compile("Continue as")).click()
    page.wait_for_url(live_server.url + "/")
    page.context.clear_cookies()  # later, another device

    page.goto(password_link)
    page.get_by_label("New password", exact=True).fill("a-good-long-phrase-1")
    page.get_by_label("New password confirmation").fill("a-good-long-phrase-1")
    page.get_by_role("button", name="Save and continue").click()
    page.wait_for_url(live_server.url + "/")
    assert page.get_by_text("Signed in as casey@example.com").is_visible()

    # The sign-in link again, now spent: home, with a note rather than a dead end.
    page.goto(sign_in_link)
    page.wait_for_url(live_server.url + "/")
    expect(page.get_by_role("status")).to_contain_text(
        "You are already signed in as casey@example.com"
    )
    assert_axe_clean(page, "home with the note")


def test_the_reset_and_change_pages_read_the_rules_too(page, live_server, invited):
    Client().post("/accounts/password_reset/", {"email": "casey@example.com"})
    page.goto(emailed(live_server, "reset"))
    expect(new_password(page)).to_have_accessible_description(RULES)
    assert_axe_clean(page, "choosing a new password")
    page.get_by_label("New password", exact=True).fill(PASSWORD)
    page.get_by_label("New password confirmation").fill(PASSWORD)
    page.get_by_role("button", name="Save password").click()
    page.get_by_role("heading", name="Password saved").wait_for()

    sign_in(page, live_server)
    page.goto(live_server.url + "/accounts/password_change/")
    expect(new_password(page)).to_have_accessible_description(RULES)
    assert_axe_clean(page, "changing the password")


def test_the_pages_after_asking_by_email_name_the_address(page, live_server, invited):
    for start, button, words in [
        ("/accounts/invite/new/", "Email me a new link", "a new invitation"),
        ("/accounts/password_reset/", "Email me a link", "a link to choose a new password"),
        ("/accounts/login/link/", "Email me a sign-in link", "a link is on its way"),
    ]:
        page.goto(live_server.url + start)
        page.locator("main input[type=email]").fill("Casey@Example.com")
        page.get_by_role("button", name=button, exact=True).click()
        page.get_by_role("heading", name="Check your email").wait_for()
        text = page.locator("main").inner_text()
        assert "Casey@Example.com" in text and words in text, text
        assert_axe_clean(page, f"the page after {start}")


def test_the_lockout_page_offers_the_sign_in_link(page, live_server, invited):
    invited.user.set_password(PASSWORD)
    invited.user.save()
    for _ in range(5):
        Client().post("/accounts/login/", {"username": "casey@example.com", "password": "no"})
    page.goto(live_server.url + "/accounts/login/")
    page.get_by_label("Email address").fill("casey@example.com")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("heading", name="Too many attempts to sign in").wait_for()
    assert_axe_clean(page, "the lockout page")
    page.get_by_role("link", name="email me a sign-in link").click()
    page.get_by_label("Email address").fill("casey@example.com")
    page.get_by_role("button", name="Email me a sign-in link").click()
    page.get_by_role("heading", name="Check your email").wait_for()
    page.goto(emailed(live_server, "login/link"))
    page.get_by_role("button", name=re.compile("Continue as")).click()
    page.wait_for_url(live_server.url + "/")
    assert page.get_by_text("Signed in as casey@example.com").is_visible()
