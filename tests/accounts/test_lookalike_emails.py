"""An address that only looks like a customer's is someone else's: unknown at sign-in.

Python's lower() and casefold(), PostgreSQL's UPPER() and NFKC each fold some non-ASCII letters
into ASCII ones; sign-in, lookups and the lockout compare one normalised form that folds none.
"""

from __future__ import annotations

import pytest
from axes.models import AccessAttempt
from django.contrib.auth import authenticate, get_user_model
from django.test import Client, RequestFactory

from accounts import services
from accounts.backends import axes_username
from tests.conftest import PASSWORD, make_customer

pytestmark = pytest.mark.django_db

LOOK_ALIKES = [
    pytest.param("second@example.com", "\u017fecond@example.com", id="long s U+017F"),
    pytest.param("admin@example.com", "adm\u0131n@example.com", id="dotless i"),
    pytest.param("irene@example.com", "\u0130rene@example.com", id="dotted capital I"),
    pytest.param("kate@example.com", "\u212aate@example.com", id="Kelvin sign"),
    pytest.param("second@example.com", "\uff53econd@example.com", id="fullwidth s"),
    pytest.param("second@example.com", "second@\uff45xample.com", id="fullwidth e in domain"),
    pytest.param("second@example.com", "s\u0307econd@example.com", id="combining dot"),
    pytest.param("second@example.com", "second@exa\u0301mple.com", id="combining acute"),
]


@pytest.fixture(autouse=True)
def _quick_hashes(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def sign_in(email, password=PASSWORD, url="/accounts/login/"):
    client = Client()
    response = client.post(url, {"username": email, "password": password})
    return client, response


def signed_in(client):
    return "_auth_user_id" in client.session


@pytest.mark.parametrize(("real", "look_alike"), LOOK_ALIKES)
def test_a_look_alike_address_with_the_right_password_does_not_sign_in(real, look_alike):
    make_customer(real, "108123759", None)
    client, response = sign_in(look_alike)
    assert response.status_code == 200
    text = response.content.decode()
    assert "do not match an account" in text or "Enter a valid email address" in text
    assert not signed_in(client)
    # Past the form's own check too: the backend finds no account for it.
    assert authenticate(RequestFactory().post("/"), username=look_alike, password=PASSWORD) is None
    assert services.user_for_email(look_alike) is None


@pytest.mark.parametrize(("real", "look_alike"), LOOK_ALIKES)
def test_failures_with_a_look_alike_leave_the_real_addresss_lockout_alone(
    real, look_alike, settings
):
    make_customer(real, "108123759", None)
    for _ in range(settings.AXES_FAILURE_LIMIT + 1):
        sign_in(look_alike, "wrong-password")
    assert not AccessAttempt.objects.filter(username=real).exists()
    assert axes_username(None, {"username": look_alike}) != real
    client, response = sign_in(real)
    assert response.status_code == 302
    assert signed_in(client)


def test_a_dotless_i_does_not_open_the_admin():
    get_user_model().objects.create_user(
        "admin@example.com", "admin@example.com", "pw-a-1", is_staff=True, is_superuser=True
    )
    client, response = sign_in("adm\u0131n@example.com", "pw-a-1", url="/admin/login/?next=/admin/")
    assert response.status_code == 200
    assert not signed_in(client)
    assert client.get("/admin/").status_code == 302
    client, response = sign_in("ADMIN@example.com", "pw-a-1", url="/admin/login/?next=/admin/")
    assert response.status_code == 302
    # The password is right; next the account sets up its app (two-factor).
    assert client.get("/admin/", follow=True).request["PATH_INFO"] == "/accounts/two-factor/enrol/"


def test_an_account_whose_address_is_a_look_alike_is_not_reached_by_the_plain_one():
    # The other way round: PostgreSQL's LOWER() turns the Kelvin sign into k.
    make_customer("\u212aate@example.com", "108123759", None)
    client, _ = sign_in("kate@example.com")
    assert not signed_in(client)
    assert services.user_for_email("kate@example.com") is None
    assert services.users_by_email(["kate@example.com"]) == {}


def test_letter_case_from_a_to_z_and_surrounding_spaces_do_not_matter():
    customer = make_customer("Second@Example.com", "108123759", None)
    assert services.email_normalise("  SECOND@example.COM ") == "second@example.com"
    assert services.user_for_email(" SECOND@EXAMPLE.COM") == customer.user
    assert services.users_by_email(["second@EXAMPLE.com"]) == {"second@example.com": customer.user}
    client, _ = sign_in("sEcOnD@example.com")
    assert signed_in(client)


def test_one_letter_written_as_a_letter_and_an_accent_is_the_same_address():
    # "á" typed as one character or as "a" and a combining accent: the same text (NFC).
    user = services.user_create(email="second@ex\u00e1mple.com", password=PASSWORD)
    assert services.user_for_email("second@exa\u0301mple.com") == user
    client, _ = sign_in("second@exa\u0301mple.com")
    assert signed_in(client)


def test_an_empty_address_matches_no_account_even_one_without_an_address():
    get_user_model().objects.create_user("nobody", "", "pw")
    assert services.user_for_email("") is None
    assert services.user_for_email("   ") is None
    assert not services.users_with_email("").exists()
