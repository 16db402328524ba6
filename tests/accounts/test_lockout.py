"""django-axes: repeated wrong passwords lock out one email from one address, for a while."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from axes.models import AccessAttempt
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import Client, RequestFactory
from django.utils import timezone

from bookingportal.proxy import client_ip
from tests.conftest import PASSWORD, staff_sign_in

pytestmark = pytest.mark.django_db

HOME = "203.0.113.5"
ELSEWHERE = "198.51.100.7"
PROXY = "10.0.0.2"


@pytest.fixture(autouse=True)
def _quick_hashes(settings):
    # Each attempt checks a password; the lockout is the subject here, not the hashing.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def sign_in(email, password, address=HOME, client=None, **headers):
    return (client or Client()).post(
        "/accounts/login/",
        {"username": email, "password": password},
        REMOTE_ADDR=address,
        **headers,
    )


def fail_until_locked(settings, email="casey@example.com", address=HOME, **headers):
    # The failure that reaches the limit is answered with the lockout page itself.
    statuses = [
        sign_in(email, "wrong-password", address, **headers).status_code
        for _ in range(settings.AXES_FAILURE_LIMIT)
    ]
    assert statuses == [200] * (settings.AXES_FAILURE_LIMIT - 1) + [429]


def test_five_wrong_passwords_lock_out_that_email_from_that_address(customer, settings):
    assert settings.AXES_FAILURE_LIMIT == 5
    for email in [
        "casey@example.com",
        "CASEY@example.com",
        "Casey@Example.com",
        "casey@EXAMPLE.com",
    ]:
        response = sign_in(email, "wrong-password")
        assert response.status_code == 200
        assert "do not match an account" in response.content.decode()
    # The fifth failure, in any case, counts against the same email and locks it out.
    assert sign_in(" CASEY@example.com", "wrong-password").status_code == 429

    # Now even the right password is refused, with a page that says when to come back.
    now = timezone.now()
    with time_machine.travel(now, tick=False):
        locked = sign_in("casey@example.com", PASSWORD)
    assert locked.status_code == 429
    text = locked.content.decode()
    assert "Too many attempts to sign in" in text
    retry_at = timezone.localtime(now + dt.timedelta(minutes=15)).strftime("%H:%M")
    assert f"Please try again after <strong>{retry_at}</strong>" in text
    assert "paused for 15 minutes" in text
    assert "Acme Bookings" in text and "help@acme.example" in text  # the portal's layout
    assert locked["Retry-After"] == str(15 * 60)
    assert "_auth_user_id" not in locked.client.session


def test_the_same_email_from_another_address_still_signs_in(customer, settings):
    fail_until_locked(settings)
    assert sign_in("casey@example.com", PASSWORD, HOME).status_code == 429
    assert sign_in("casey@example.com", PASSWORD, ELSEWHERE).status_code == 302


def test_another_customer_at_the_same_address_still_signs_in(customer, other_customer, settings):
    fail_until_locked(settings)
    assert sign_in("lee@example.com", PASSWORD, HOME).status_code == 302


def test_another_browser_at_the_same_address_is_locked_out_too(customer, settings):
    fail_until_locked(settings, HTTP_USER_AGENT="Browser A")
    assert sign_in("casey@example.com", PASSWORD, HTTP_USER_AGENT="Browser B").status_code == 429


def test_the_lock_lifts_after_the_cool_off(customer, settings):
    fail_until_locked(settings)
    assert sign_in("casey@example.com", PASSWORD).status_code == 429
    with time_machine.travel(timezone.now() + dt.timedelta(minutes=16)):
        assert sign_in("casey@example.com", PASSWORD).status_code == 302


def test_the_admin_sign_in_is_throttled_the_same_way(db, settings):
    get_user_model().objects.create_superuser("boss", "boss@example.com", "pw-boss-correct-1")
    for _ in range(settings.AXES_FAILURE_LIMIT):
        Client().post(
            "/admin/login/", {"username": "boss@example.com", "password": "x"}, REMOTE_ADDR=HOME
        )
    locked = Client().post(
        "/admin/login/",
        {"username": "boss@example.com", "password": "pw-boss-correct-1"},
        REMOTE_ADDR=HOME,
    )
    assert locked.status_code == 429


# --- Unlocking ------------------------------------------------------------------------------


def test_staff_see_lockouts_in_the_admin_and_unlock_a_customer(customer, settings):
    fail_until_locked(settings)
    assert sign_in("casey@example.com", PASSWORD).status_code == 429

    staff = get_user_model().objects.create_superuser("boss", "boss@example.com", "pw-boss-1")
    admin = Client()
    staff_sign_in(admin, staff)
    assert "/admin/axes/accessattempt/" in admin.get("/admin/").content.decode()
    listing = admin.get("/admin/axes/accessattempt/").content.decode()
    assert "casey@example.com" in listing and HOME in listing
    ids = [str(pk) for pk in AccessAttempt.objects.values_list("pk", flat=True)]
    confirm = admin.post(
        "/admin/axes/accessattempt/",
        {"action": "delete_selected", "_selected_action": ids, "post": "yes"},
    )
    assert confirm.status_code == 302
    assert not AccessAttempt.objects.exists()
    assert sign_in("casey@example.com", PASSWORD).status_code == 302


def test_an_operator_unlocks_a_customer_from_the_command_line(customer, settings):
    fail_until_locked(settings)
    call_command("axes_reset_username", "casey@example.com")
    assert sign_in("casey@example.com", PASSWORD).status_code == 302


# --- The address, behind our proxy and without it ---------------------------------------------


def test_behind_our_proxy_each_client_is_counted_by_the_address_the_proxy_saw(customer, settings):
    settings.TRUSTED_PROXIES = [PROXY]
    # The proxy appends the address it saw; a client can only forge entries to its left.
    for n in range(settings.AXES_FAILURE_LIMIT):
        sign_in("casey@example.com", "wrong", PROXY, HTTP_X_FORWARDED_FOR=f"10.9.9.{n}, {HOME}")
    assert AccessAttempt.objects.get().ip_address == HOME
    as_home = sign_in("casey@example.com", PASSWORD, PROXY, HTTP_X_FORWARDED_FOR=HOME)
    assert as_home.status_code == 429
    as_elsewhere = sign_in("casey@example.com", PASSWORD, PROXY, HTTP_X_FORWARDED_FOR=ELSEWHERE)
    assert as_elsewhere.status_code == 302


def test_without_our_proxy_a_forged_x_forwarded_for_changes_nothing(customer, settings):
    settings.TRUSTED_PROXIES = []
    for n in range(settings.AXES_FAILURE_LIMIT):
        sign_in("casey@example.com", "wrong", HOME, HTTP_X_FORWARDED_FOR=f"192.0.2.{n}")
    forged = sign_in("casey@example.com", PASSWORD, HOME, HTTP_X_FORWARDED_FOR=ELSEWHERE)
    assert forged.status_code == 429


def test_the_client_address_is_always_a_valid_address_or_none(settings):
    request = RequestFactory().get(
        "/", REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR="1.2.3.4, 203.0.113.9"
    )
    settings.TRUSTED_PROXIES = []
    assert client_ip(request) == PROXY
    settings.TRUSTED_PROXIES = [PROXY]
    assert client_ip(request) == "203.0.113.9"
    forged = RequestFactory().get("/", REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR="nonsense")
    assert client_ip(forged) == PROXY
    assert client_ip(RequestFactory().get("/", REMOTE_ADDR="")) is None
    v6 = RequestFactory().get("/", REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR="2001:db8::0001")
    assert client_ip(v6) == "2001:db8::1"
