"""Sign-in by email link: one click from an email, once, for a short time, safe from scanners."""

from __future__ import annotations

import datetime as dt
import logging
import re

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.core import mail
from django.test import Client
from django.utils import timezone

from accounts import links
from tests.conftest import PASSWORD, make_customer

pytestmark = pytest.mark.django_db

REQUEST_URL = "/accounts/login/link/"
SAME_ANSWER = ", a link is on its way."
SPENT = "This sign-in link no longer works"
LINK = re.compile(r"http://testserver(/accounts/login/link/([^/\s?]+)/(?:\?next=\S+)?)")


@pytest.fixture(autouse=True)
def _mail(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"


def ask_for_link(client, email, **extra):
    return client.post(REQUEST_URL, {"email": email, **extra}, follow=True)


def emailed_link(message=None):
    message = message or mail.outbox[-1]
    return LINK.search(message.body)[1]


def token_of(link):
    return LINK.search("http://testserver" + link)[2]


def open_link(client, link):
    """Open the link as a browser does: its token moves to the session, then its page."""
    opened = client.get(link)
    assert opened.status_code == 302
    assert opened["Location"] == "/accounts/login/link/continue/"
    assert opened["Referrer-Policy"] == "no-referrer"
    return client.get(opened["Location"])


def continue_(client, link):
    """Open the link, then press its one button, as a person does."""
    page = open_link(client, link)
    assert page.status_code == 200
    nxt = re.search(r'name="next" value="([^"]*)"', page.content.decode())[1]
    return client.post("/accounts/login/link/continue/", {"next": nxt})


def signed_in_as(client) -> str | None:
    page = client.get("/")
    if page.status_code != 200:
        return None
    return page.context["user"].email


def page_text(response) -> str:
    # The CSRF token differs from page to page; everything else must not.
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", response.content.decode())


# --- Asking for a link -------------------------------------------------------------------------


def test_the_sign_in_page_offers_a_link_by_email(client):
    page = client.get("/accounts/login/?next=/book/initial-consultation/").content.decode()
    assert "Email me a sign-in link" in page
    assert 'href="/accounts/login/link/?next=/book/initial-consultation/"' in page


def test_a_customer_is_emailed_a_link_naming_the_portal(client, customer):
    response = ask_for_link(client, "Casey@Example.com")
    assert "If we know <strong>Casey@Example.com</strong>, a link is on its way." in (
        response.content.decode()
    )
    [message] = mail.outbox
    assert message.to == ["casey@example.com"]
    assert message.subject == "Your sign-in link for Acme Bookings"
    assert message.body.startswith("Hello Casey,")
    assert "to Acme Bookings" in message.body
    assert "within 15 minutes" in message.body
    assert emailed_link(message)
    [(html, _kind)] = message.alternatives
    assert f'<a href="http://testserver{emailed_link(message)}"' in html


def test_known_and_unknown_addresses_get_the_same_answer(client, customer):
    known = client.post(REQUEST_URL, {"email": "casey@example.com"})
    known_page = page_text(client.get(known["Location"]))
    unknown = client.post(REQUEST_URL, {"email": "nobody@example.com"})
    unknown_page = page_text(client.get(unknown["Location"]))
    assert (known.status_code, known["Location"]) == (unknown.status_code, unknown["Location"])
    # Each names the address typed, and says nothing else different.
    assert known_page.replace("casey@", "x@") == unknown_page.replace("nobody@", "x@")
    assert [m.to for m in mail.outbox] == [["casey@example.com"]]


def test_staff_and_unlinked_accounts_are_sent_nothing(client, customer):
    User = get_user_model()
    User.objects.create_user("sam@example.com", "sam@example.com", "pw-sam-not-used")
    customer.user.is_staff = True
    customer.user.save()
    assert SAME_ANSWER in ask_for_link(client, "sam@example.com").content.decode()
    assert SAME_ANSWER in ask_for_link(client, "casey@example.com").content.decode()
    assert mail.outbox == []


def test_an_address_that_is_not_an_email_says_so(client):
    page = client.post(REQUEST_URL, {"email": "casey"})
    assert page.status_code == 200
    assert "Enter a valid email address." in page.content.decode()
    assert mail.outbox == []


# --- Using it ----------------------------------------------------------------------------------


def test_the_link_signs_the_customer_in_after_one_press(client, customer):
    ask_for_link(client, "casey@example.com")
    person = Client()
    response = continue_(person, emailed_link())
    assert response.status_code == 302 and response["Location"] == "/"
    assert signed_in_as(person) == "casey@example.com"
    home = person.get("/").content.decode()
    assert "Signed in as <strong>casey@example.com</strong>" in home


def test_opening_the_link_shows_one_button_and_signs_nobody_in(client, customer):
    ask_for_link(client, "casey@example.com")
    link = emailed_link()
    scanner = Client()
    page = open_link(scanner, link)
    assert page.status_code == 200
    text = page.content.decode()
    assert "Continue as c\u2022\u2022\u2022@example.com" in text
    assert "casey@example.com" not in text
    assert page["Cache-Control"].startswith("max-age=0")
    # The token left the address before anything rendered: the page holds it nowhere, so
    # no Referer can. A form posted from the page still carries an Origin, which Django's
    # CSRF check needs (no-referrer would send "null").
    assert token_of(link) not in text
    assert page["Referrer-Policy"] == "same-origin"
    assert signed_in_as(scanner) is None
    # A scanner opening it twice does not spend it either.
    open_link(scanner, link)
    person = Client()
    assert continue_(person, link)["Location"] == "/"
    assert signed_in_as(person) == "casey@example.com"


def test_the_link_works_once(client, customer):
    ask_for_link(client, "casey@example.com")
    link = emailed_link()
    first = Client()
    assert continue_(first, link).status_code == 302
    # Pressed again (another tab, the back button): the session gave its token up, and is
    # signed in, so it goes home rather than to a page saying the link is dead.
    again = first.post("/accounts/login/link/continue/", follow=True)
    assert again.redirect_chain == [("/", 302)]
    assert "You are already signed in as casey@example.com" in again.content.decode()
    second = Client()
    # As a page rendered before the token moved to the session would post it.
    again = second.post("/accounts/login/link/continue/", {"token": token_of(link)})
    assert again.status_code == 410
    assert SPENT in again.content.decode()
    assert signed_in_as(second) is None
    opened = open_link(Client(), link)
    assert opened.status_code == 410 and SPENT in opened.content.decode()


def test_a_newer_link_spends_the_older_one(client, customer, settings):
    settings.EMAIL_ADDRESS_SPACING = 0  # two links a second apart (accounts.limits spaces them)
    ask_for_link(client, "casey@example.com")
    older = emailed_link()
    ask_for_link(client, "casey@example.com")
    newer = emailed_link()
    assert older != newer
    assert open_link(Client(), older).status_code == 410
    person = Client()
    assert continue_(person, newer)["Location"] == "/"


def test_a_password_change_spends_the_link(client, customer):
    ask_for_link(client, "casey@example.com")
    link = emailed_link()
    customer.user.set_password("a-brand-new-phrase-7")
    customer.user.save()
    page = open_link(Client(), link)
    assert page.status_code == 410 and SPENT in page.content.decode()


def test_the_link_works_for_its_minutes_and_not_after(client, customer, settings):
    settings.SIGN_IN_LINK_MINUTES = 15
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        ask_for_link(client, "casey@example.com")
        link = emailed_link()
    with time_machine.travel(start + dt.timedelta(minutes=14, seconds=50), tick=False):
        assert open_link(Client(), link).status_code == 200
    with time_machine.travel(start + dt.timedelta(minutes=15, seconds=1), tick=False):
        late = Client()
        page = open_link(late, link)
        assert page.status_code == 410
        assert "Email me a new sign-in link" in page.content.decode()
        token = token_of(link)
        assert late.post("/accounts/login/link/continue/", {"token": token}).status_code == 410
        assert signed_in_as(late) is None


@pytest.mark.parametrize(
    "alter",
    [
        pytest.param(lambda t: t[:-1] + ("A" if t[-1] != "A" else "B"), id="signature"),
        pytest.param(lambda t: "9" + t, id="number"),
        pytest.param(lambda t: t.split(".", 1)[1], id="truncated"),
        pytest.param(lambda t: "%00" + t, id="junk"),
        pytest.param(lambda t: "x", id="nonsense"),
    ],
)
def test_an_altered_link_gets_a_friendly_page(client, customer, alter):
    ask_for_link(client, "casey@example.com")
    token = token_of(emailed_link())
    page = open_link(Client(), f"/accounts/login/link/{alter(token)}/")
    assert page.status_code == 410
    assert SPENT in page.content.decode()
    post = Client().post("/accounts/login/link/continue/", {"token": alter(token)})
    assert post.status_code == 410


def test_a_link_made_for_staff_signs_nobody_in(customer):
    customer.user.is_staff = True
    customer.user.save()
    link = links.sign_in_link_url(user=customer.user, base_url="http://testserver")
    assert open_link(Client(), link.removeprefix("http://testserver")).status_code == 410


def test_the_link_returns_to_the_page_the_customer_asked_for(client, customer, type_for_all):
    book_page = "/book/initial-consultation/"
    ask_for_link(client, "casey@example.com", next=book_page)
    link = emailed_link()
    assert link.endswith("?next=/book/initial-consultation/")
    person = Client()
    response = continue_(person, link)
    assert response["Location"] == book_page
    # Where it returns answers GET: the type's page and its Book button.
    page = person.get(book_page)
    assert page.status_code == 200
    assert 'Book<span class="visually-hidden"> Initial consultation' in page.content.decode()


def test_a_link_never_returns_to_another_site(client, customer):
    ask_for_link(client, "casey@example.com", next="https://evil.example/")
    link = emailed_link()
    assert "evil" not in link
    forged = Client()
    token = token_of(link)
    forged.get(link)
    response = forged.post(
        "/accounts/login/link/continue/", {"token": token, "next": "https://evil.example/"}
    )
    assert response["Location"] == "/"


# --- The 405 on return ------------------------------------------------------------------------


def test_signing_in_from_a_book_page_returns_to_a_page_that_answers_get(
    client, customer, type_for_all
):
    asked = client.get("/book/initial-consultation/")
    assert asked.status_code == 302
    assert asked["Location"] == "/accounts/login/?next=/book/initial-consultation/"
    response = client.post(
        asked["Location"], {"username": "casey@example.com", "password": PASSWORD}
    )
    assert response["Location"] == "/book/initial-consultation/"
    assert client.get(response["Location"]).status_code == 200


# --- Invitations -----------------------------------------------------------------------------


def test_an_invitation_leads_with_a_sign_in_link_that_lasts_as_long_as_it(customer, settings):
    from accounts import invites

    settings.PORTAL_URL = "https://book.example.com"
    invites.invite_send(user=customer.user)
    [message] = mail.outbox
    body = message.body
    sign_in = re.search(r"https://book\.example\.com(/accounts/login/link/\S+/)", body)
    password = re.search(r"https://book\.example\.com(/accounts/invite/\S+/\S+/)", body)
    assert sign_in and password
    assert sign_in.start() < password.start()
    assert "choose one here" in body
    # In the HTML part the sign-in link is the button; choosing a password comes after.
    [(html, kind)] = message.alternatives
    assert kind == "text/html"
    button = re.search(
        r'<a href="https://book\.example\.com(/accounts/login/link/[^"]+/)"[^>]*>', html
    )
    assert button[1] == sign_in[1]
    assert ">Sign in and book</a>" in html
    assert html.index(">Sign in and book</a>") < html.index(">choose a password</a>")
    # Days later, well past SIGN_IN_LINK_MINUTES, the invitation's link still signs in once.
    with time_machine.travel(timezone.now() + dt.timedelta(days=2)):
        person = Client()
        assert continue_(person, sign_in[1])["Location"] == "/"
        assert signed_in_as(person) == "casey@example.com"
        assert open_link(Client(), sign_in[1]).status_code == 410


# --- Logs ------------------------------------------------------------------------------------


class Everything(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def text(self) -> str:
        return "\n".join(
            f"{r.getMessage()} {getattr(r, 'path', '')} {r.args!r}" for r in self.records
        )


@pytest.fixture
def every_log_record():
    handler = Everything()
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    yield handler
    root.removeHandler(handler)
    root.setLevel(old_level)


def test_no_log_record_holds_a_link_token(customer, every_log_record):
    client = Client(enforce_csrf_checks=True)
    page = client.get(REQUEST_URL)
    csrf = page.cookies["csrftoken"].value
    client.post(REQUEST_URL, {"email": "casey@example.com", "csrfmiddlewaretoken": csrf})
    link = emailed_link()
    token = token_of(link)
    client.get(link)
    client.get(link.replace(token, token[:-2]))  # an altered one
    # A POST that fails the CSRF check: Django logs its path, which holds no token.
    client.post("/accounts/login/link/continue/", {"token": token})
    client.post("/accounts/login/link/continue/", {"token": token, "csrfmiddlewaretoken": csrf})
    client.post("/accounts/login/link/continue/", {"token": token, "csrfmiddlewaretoken": csrf})
    assert signed_in_as(client) == "casey@example.com"
    paths = [getattr(r, "path", "") for r in every_log_record.records]
    assert "/accounts/login/link/[token]/" in paths
    assert any("Forbidden (CSRF" in r.getMessage() for r in every_log_record.records)
    assert token not in every_log_record.text()
    assert token.rsplit(".", 1)[1] not in every_log_record.text()


def test_a_second_customer_with_a_link_is_not_the_first(client, customer):
    make_customer("lee@example.com", "108123760", None)
    ask_for_link(client, "lee@example.com")
    person = Client()
    continue_(person, emailed_link())
    assert signed_in_as(person) == "lee@example.com"
