"""Forms that send mail cannot flood an inbox, nor lock a customer out: one email an address a
minute (the wait doubling, never past a link's lifetime), and 20 requests a client an hour."""

from __future__ import annotations

import datetime as dt
import itertools
import re
import socket

import pytest
import time_machine
from django.core import mail
from django.test import Client
from django.utils import timezone

from tests.conftest import make_customer

pytestmark = pytest.mark.django_db

RESET = "/accounts/password_reset/"
RENEW = "/accounts/invite/new/"
SIGN_IN_LINK = "/accounts/login/link/"
FORMS = [RESET, RENEW, SIGN_IN_LINK]


@pytest.fixture(autouse=True)
def _mail_and_a_clean_count(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"


def ask(url, email, address="192.0.2.10"):
    return Client(REMOTE_ADDR=address).post(url, {"email": email})


@pytest.mark.parametrize("url", FORMS)
def test_each_form_sends_one_email_a_minute_to_one_address_and_answers_the_same(customer, url):
    answers = set()
    for _ in range(6):
        response = ask(url, "casey@example.com")
        answers.add((response.status_code, response["Location"]))
    assert len(mail.outbox) == 1
    assert len(answers) == 1
    [(status, _location)] = answers
    assert status == 302


def test_the_address_is_counted_whatever_its_case_and_spaces(customer):
    for email in ["casey@example.com", "CASEY@Example.com", " Casey@EXAMPLE.com "]:
        ask(SIGN_IN_LINK, email)
    ask(SIGN_IN_LINK, "casey@example.COM")
    assert len(mail.outbox) == 1


def test_one_count_covers_every_form(customer):
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        ask(RESET, "casey@example.com")
        ask(RENEW, "casey@example.com")
        ask(SIGN_IN_LINK, "casey@example.com")
    with time_machine.travel(start + dt.timedelta(seconds=61), tick=False):
        ask(RENEW, "casey@example.com")
        ask(SIGN_IN_LINK, "casey@example.com")
    assert len(mail.outbox) == 2


def test_a_strangers_three_requests_do_not_keep_the_customer_from_a_link_a_minute_later(customer):
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        for _ in range(3):
            ask(SIGN_IN_LINK, "casey@example.com", address="203.0.113.66")
    assert len(mail.outbox) == 1
    with time_machine.travel(start + dt.timedelta(seconds=61), tick=False):
        asked = ask(SIGN_IN_LINK, "casey@example.com", address="192.0.2.10")
    assert asked.status_code == 302
    assert len(mail.outbox) == 2
    # The customer's link, the newest, signs in.
    link = re.search(r"http://testserver(/accounts/login/link/\S+/)", mail.outbox[-1].body)[1]
    page = Client().get(link, follow=True)
    assert page.status_code == 200 and "Continue" in page.content.decode()


def test_the_wait_doubles_with_each_email_but_never_outlasts_a_link(customer, settings):
    start, sent_at = timezone.now(), []
    # Someone asks every ten seconds for an hour.
    for second in range(0, 3600, 10):
        with time_machine.travel(start + dt.timedelta(seconds=second), tick=False):
            before = len(mail.outbox)
            ask(
                SIGN_IN_LINK, "casey@example.com", address=f"198.18.{second // 2560}.{second % 250}"
            )
            if len(mail.outbox) > before:
                sent_at.append(second)
    gaps = [b - a for a, b in itertools.pairwise(sent_at)]
    assert gaps[:4] == [60, 120, 240, 480]
    # A few emails an hour at most, and never a wait longer than a link's lifetime.
    assert len(sent_at) <= 8
    assert max(gaps) <= settings.SIGN_IN_LINK_MINUTES * 60 + 10


def test_signing_in_with_an_emailed_link_starts_the_spacing_again(customer):
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        ask(SIGN_IN_LINK, "casey@example.com")
    with time_machine.travel(start + dt.timedelta(seconds=61), tick=False):
        ask(SIGN_IN_LINK, "casey@example.com")
        link = re.search(r"http://testserver(/accounts/login/link/\S+/)", mail.outbox[-1].body)[1]
        person = Client()
        assert person.get(link, follow=True).status_code == 200
        assert person.post("/accounts/login/link/continue/").status_code == 302
    # Without the reset the next email would wait 120 s; after it, 60 s.
    with time_machine.travel(start + dt.timedelta(seconds=122), tick=False):
        ask(SIGN_IN_LINK, "casey@example.com")
    assert len(mail.outbox) == 3


def test_a_client_may_ask_for_twenty_emails_an_hour(db):
    for n in range(22):
        make_customer(f"c{n}@example.com", str(200 + n), None)
    for n in range(22):
        ask(SIGN_IN_LINK, f"c{n}@example.com", address="198.51.100.7")
    assert len(mail.outbox) == 20
    # Another client is not held back by that one.
    ask(SIGN_IN_LINK, "c21@example.com", address="198.51.100.8")
    assert len(mail.outbox) == 21


def test_unknown_addresses_count_against_the_client_too(customer):
    for n in range(20):
        ask(RESET, f"nobody{n}@example.com", address="198.51.100.9")
    ask(RESET, "casey@example.com", address="198.51.100.9")
    assert mail.outbox == []


def test_the_page_after_a_refused_email_is_the_page_after_a_sent_one(customer):
    client = Client()
    sent = client.post(SIGN_IN_LINK, {"email": "casey@example.com"}, follow=True)
    for _ in range(3):
        refused = client.post(SIGN_IN_LINK, {"email": "casey@example.com"}, follow=True)
    assert len(mail.outbox) == 1
    assert refused.status_code == sent.status_code == 200
    assert refused.redirect_chain == sent.redirect_chain
    assert "If we know <strong>casey@example.com</strong>, a link is on its way." in (
        refused.content.decode()
    )


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_with_the_cache_down_the_limit_still_holds_in_this_process(customer, settings):
    # A Redis nobody listens on: every cache call fails at once.
    settings.CACHES = {
        "default": {
            "BACKEND": "bookingportal.cache.TolerantRedisCache",
            "LOCATION": f"redis://127.0.0.1:{closed_port()}/0",
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        }
    }
    responses = [ask(SIGN_IN_LINK, "casey@example.com") for _ in range(5)]
    assert {r.status_code for r in responses} == {302}
    assert len(mail.outbox) == 1
