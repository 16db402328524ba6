"""Password spraying: one address over many accounts, many addresses over one account.

The email-and-address lockout (test_lockout.py) alone let one address try 40 accounts and
six addresses make 24 guesses at the admin's password without a pause.
"""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone

from tests.accounts.test_lockout_rules import choose_password, reset_link
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db

SPRAYER = "203.0.113.66"
ELSEWHERE = "198.51.100.7"
PROXY = "10.0.0.2"
NETWORK_WORDING = "Too many wrong passwords have come from your network, for several accounts"
EVERYWHERE_WORDING = "after many wrong passwords from several places"


@pytest.fixture(autouse=True)
def _quick_hashes_and_mail(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.PORTAL_URL = "https://book.example.com"


def sign_in(email, password, address, path="/accounts/login/", **headers):
    return Client().post(
        path, {"username": email, "password": password}, REMOTE_ADDR=address, **headers
    )


def test_one_address_spraying_forty_accounts_is_locked_out(customer, other_customer, settings):
    assert settings.AXES_ADDRESS_FAILURE_LIMIT == 20
    statuses = [
        sign_in(f"person{n}@example.com", "Summer2026!", SPRAYER).status_code for n in range(40)
    ]
    # One guess per account, never five at one: the address's count stops it at 20.
    assert statuses == [200] * 19 + [429] * 21
    locked = sign_in("casey@example.com", PASSWORD, SPRAYER)
    assert locked.status_code == 429
    assert NETWORK_WORDING in locked.content.decode()
    assert "email me a sign-in link" in locked.content.decode()
    # Nobody elsewhere is affected, the accounts sprayed included.
    assert sign_in("casey@example.com", PASSWORD, ELSEWHERE).status_code == 302


def test_the_admin_sign_in_counts_towards_the_same_address_limit(db, settings):
    get_user_model().objects.create_superuser("boss", "boss@example.com", "pw-boss-correct-1")
    for n in range(10):
        sign_in(f"person{n}@example.com", "x", SPRAYER)
    for n in range(10):
        sign_in(f"admin{n}@example.com", "x", SPRAYER, path="/admin/login/")
    locked = sign_in("boss@example.com", "pw-boss-correct-1", SPRAYER, path="/admin/login/")
    assert locked.status_code == 429
    assert (
        sign_in("boss@example.com", "pw-boss-correct-1", ELSEWHERE, "/admin/login/").status_code
        == 302
    )


def test_the_address_lockout_says_when_it_ends_and_ends_then(customer, settings):
    started = timezone.now().replace(microsecond=0)
    # 20 failures, 30 s apart: the lockout ends a cool-off after the oldest of them, when
    # only 19 remain within the last 15 minutes.
    for n in range(20):
        with time_machine.travel(started + dt.timedelta(seconds=30 * n), tick=False):
            sign_in(f"person{n}@example.com", "x", SPRAYER)
    with time_machine.travel(started + dt.timedelta(minutes=10), tick=False):
        locked = sign_in("casey@example.com", PASSWORD, SPRAYER)
    assert locked.status_code == 429
    assert locked["Retry-After"] == str(5 * 60)
    ends = timezone.localtime(started + dt.timedelta(minutes=15)).strftime("%H:%M")
    assert f"Please try again after <strong>{ends}</strong>" in locked.content.decode()
    with time_machine.travel(started + dt.timedelta(minutes=15, seconds=1), tick=False):
        assert sign_in("casey@example.com", PASSWORD, SPRAYER).status_code == 302


def test_signing_in_to_an_account_of_ones_own_does_not_reset_the_address_count(
    customer, other_customer, settings
):
    for n in range(19):
        sign_in(f"person{n}@example.com", "x", SPRAYER)
    # The sprayer owns lee@example.com: signing in forgives lee's failures only.
    assert sign_in("lee@example.com", PASSWORD, SPRAYER).status_code == 302
    assert sign_in("person99@example.com", "x", SPRAYER).status_code == 429


def test_behind_our_proxy_a_forged_x_forwarded_for_does_not_spread_the_count(customer, settings):
    settings.TRUSTED_PROXIES = [PROXY]
    for n in range(20):
        sign_in(f"person{n}@example.com", "x", PROXY, HTTP_X_FORWARDED_FOR=f"10.9.{n}.1, {SPRAYER}")
    locked = sign_in("casey@example.com", PASSWORD, PROXY, HTTP_X_FORWARDED_FOR=SPRAYER)
    assert locked.status_code == 429
    elsewhere = sign_in("casey@example.com", PASSWORD, PROXY, HTTP_X_FORWARDED_FOR=ELSEWHERE)
    assert elsewhere.status_code == 302


# --- Many addresses, one account ---------------------------------------------------------------


def test_six_addresses_guessing_at_one_account_lock_it_from_new_addresses_only(customer, settings):
    assert settings.AXES_ACCOUNT_FAILURE_LIMIT == 20
    owner_home = "192.0.2.10"
    # The owner has signed in from home before.
    assert sign_in("casey@example.com", PASSWORD, owner_home).status_code == 302
    statuses = [
        sign_in("casey@example.com", "wrong", f"203.0.113.{address}").status_code
        for address in range(1, 7)
        for _ in range(4)
    ]
    # Four guesses from each address, never five: the account's own count stops it at 20.
    assert statuses == [200] * 19 + [429] * 5
    stranger = sign_in("casey@example.com", PASSWORD, "203.0.113.99")
    assert stranger.status_code == 429
    assert EVERYWHERE_WORDING in stranger.content.decode()
    # Strangers cannot lock the owner out where the owner signs in.
    assert sign_in("casey@example.com", PASSWORD, owner_home).status_code == 302


def test_a_password_reset_lifts_the_account_lockout_everywhere(customer, settings):
    for address in range(1, 6):
        for _ in range(4):
            sign_in("casey@example.com", "wrong", f"203.0.113.{address}")
    assert sign_in("casey@example.com", PASSWORD, ELSEWHERE).status_code == 429
    choose_password(reset_link("casey@example.com", ELSEWHERE), ELSEWHERE)
    assert sign_in("casey@example.com", "a-brand-new-phrase-7", ELSEWHERE).status_code == 302
