"""Sign-in lockout that helps: a warning first, a reset that lifts it, no extension by trying.

The lockout itself (which pair is counted, behind which proxy) is in test_lockout.py.
"""

from __future__ import annotations

import datetime as dt
import re

import pytest
import time_machine
from axes.models import AccessAttempt
from django.core import mail
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from accounts import invites
from appointments import demo
from tests.conftest import PASSWORD, make_customer

pytestmark = pytest.mark.django_db

HOME = "203.0.113.5"
ELSEWHERE = "198.51.100.7"
WARNING = "One more wrong password will pause sign-in with this email address for 15 minutes."
NEW_PASSWORD = "a-brand-new-phrase-7"


@pytest.fixture(autouse=True)
def _quick_hashes_and_mail(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.PORTAL_URL = "https://book.example.com"


def sign_in(email, password, address=HOME, client=None):
    return (client or Client()).post(
        "/accounts/login/", {"username": email, "password": password}, REMOTE_ADDR=address
    )


def fail(times, email="casey@example.com", address=HOME):
    return [sign_in(email, "wrong-password", address) for _ in range(times)]


def reset_link(email, address=HOME):
    mail.outbox.clear()
    Client().post("/accounts/password_reset/", {"email": email}, REMOTE_ADDR=address)
    [message] = mail.outbox
    return re.search(r"https://book\.example\.com(/accounts/reset/\S+/)", message.body)[1]


def choose_password(link, address=HOME):
    client = Client()
    page = client.get(link, follow=True, REMOTE_ADDR=address)
    return client.post(
        page.redirect_chain[-1][0],
        {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
        REMOTE_ADDR=address,
    )


# --- The warning ------------------------------------------------------------------------------


def test_the_attempt_before_the_lockout_warns(customer, settings):
    assert settings.AXES_FAILURE_LIMIT == 5
    *earlier, fourth = fail(4)
    assert all(WARNING not in r.content.decode() for r in earlier)
    page = fourth.content.decode()
    assert fourth.status_code == 200
    assert "do not match an account" in page
    assert WARNING in page
    assert "Forgotten your password?" in page


def test_the_warning_follows_the_configured_limit_and_cool_off(customer, settings):
    settings.AXES_FAILURE_LIMIT = 3
    settings.AXES_COOLOFF_MINUTES = 30
    settings.AXES_COOLOFF_TIME = dt.timedelta(minutes=30)
    first, second = fail(2)
    assert "One more wrong password" not in first.content.decode()
    assert "pause sign-in with this email address for 30 minutes" in second.content.decode()


def test_the_admin_sign_in_warns_too(customer, admin_user):
    for _ in range(3):
        Client().post(
            "/admin/login/", {"username": "admin@example.com", "password": "x"}, REMOTE_ADDR=HOME
        )
    fourth = Client().post(
        "/admin/login/", {"username": "admin@example.com", "password": "x"}, REMOTE_ADDR=HOME
    )
    assert WARNING in fourth.content.decode()


# --- Trying during a lockout --------------------------------------------------------------------


def test_attempts_during_a_lockout_do_not_extend_it(customer, settings):
    locked_at = timezone.now()
    with time_machine.travel(locked_at, tick=False):
        *_, locking = fail(5)
    assert locking.status_code == 429

    # Trying again and again during the lockout, with wrong and right passwords alike.
    for minutes in (1, 5, 10, 14):
        with time_machine.travel(locked_at + dt.timedelta(minutes=minutes), tick=False):
            assert sign_in("casey@example.com", "wrong-password").status_code == 429
            assert sign_in("casey@example.com", PASSWORD).status_code == 429
    assert AccessAttempt.objects.get().failures_since_start == 5

    # The lockout ends 15 minutes after the failure that caused it, as first announced.
    with time_machine.travel(locked_at + dt.timedelta(minutes=15, seconds=1), tick=False):
        assert sign_in("casey@example.com", PASSWORD).status_code == 302


def test_the_lockout_page_always_names_the_same_end(customer):
    locked_at = timezone.now().replace(second=0, microsecond=0)
    with time_machine.travel(locked_at, tick=False):
        fail(5)
    ends = timezone.localtime(locked_at + dt.timedelta(minutes=15)).strftime("%H:%M")
    with time_machine.travel(locked_at + dt.timedelta(minutes=10), tick=False):
        later = sign_in("casey@example.com", PASSWORD)
    page = later.content.decode()
    assert f"Please try again after <strong>{ends}</strong>" in page
    assert "Trying before then does not make the wait longer." in page
    assert later["Retry-After"] == str(5 * 60)


def test_the_lockout_page_gives_advice_that_works(customer):
    *_, locked = fail(5)
    page = locked.content.decode()
    assert 'href="/accounts/password_reset/"' in page
    assert "that lifts the pause at once" in page


# --- A new password lifts it -------------------------------------------------------------------


def test_choosing_a_new_password_through_the_email_lifts_the_lockout(customer):
    fail(5)
    assert sign_in("casey@example.com", PASSWORD).status_code == 429

    link = reset_link("casey@example.com")
    assert choose_password(link).status_code == 302
    assert not AccessAttempt.objects.filter(username="casey@example.com").exists()
    assert sign_in("casey@example.com", NEW_PASSWORD).status_code == 302


def test_the_reset_page_says_which_account_and_that_it_lifts_the_pause(customer):
    link = reset_link("casey@example.com")
    page = Client().get(link, follow=True).content.decode()
    assert "<strong>casey@example.com</strong>" in page
    assert "lifts any pause on signing in" in page


def test_a_new_password_lifts_the_lockout_from_every_address(customer):
    fail(5, address=HOME)
    fail(5, address=ELSEWHERE)
    choose_password(reset_link("casey@example.com", address=ELSEWHERE), address=ELSEWHERE)
    assert sign_in("casey@example.com", NEW_PASSWORD, HOME).status_code == 302
    assert sign_in("casey@example.com", NEW_PASSWORD, ELSEWHERE).status_code == 302


def test_a_new_password_lifts_only_that_accounts_lockout(customer, other_customer):
    fail(5, email="casey@example.com")
    fail(5, email="lee@example.com")
    choose_password(reset_link("casey@example.com"))
    assert sign_in("casey@example.com", NEW_PASSWORD).status_code == 302
    assert sign_in("lee@example.com", PASSWORD).status_code == 429


def test_asking_for_a_reset_alone_lifts_nothing(customer):
    fail(5)
    reset_link("casey@example.com")
    assert sign_in("casey@example.com", PASSWORD).status_code == 429


def test_accepting_an_invitation_lifts_the_lockout(customer):
    fail(5)
    link = invites.invite_url(user=customer.user, base_url="")
    assert choose_password(link).status_code == 302
    assert not AccessAttempt.objects.exists()
    assert sign_in("casey@example.com", NEW_PASSWORD).status_code == 302


# --- The demo accounts ---------------------------------------------------------------------------


def test_seed_demo_clears_the_lockouts_of_the_demo_accounts(settings, db):
    settings.DEBUG = True
    call_command("seed_demo", verbosity=0)
    make_customer("someone@example.com", "555", None)  # not a demo account
    fail(5, email=demo.CUSTOMER_EMAIL)
    fail(5, email=demo.ADMIN_EMAIL)
    fail(5, email="someone@example.com")

    call_command("seed_demo", verbosity=0)
    assert sign_in(demo.CUSTOMER_EMAIL, demo.CUSTOMER_PASSWORD).status_code == 302
    assert sign_in(demo.ADMIN_EMAIL, demo.ADMIN_PASSWORD).status_code == 302
    assert sign_in("someone@example.com", PASSWORD).status_code == 429
