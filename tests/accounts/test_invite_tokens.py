"""No emailed link opens the admin: invitation tokens work at the invitation URL only, never for
staff, and the public password reset neither mails staff nor signs anyone in by itself."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.tokens import default_token_generator
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from accounts import invites

pytestmark = pytest.mark.django_db

BASE = "https://book.example.com"
NEW_PASSWORD = "a-brand-new-passphrase-5"
User = get_user_model()


@pytest.fixture(autouse=True)
def _mail(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.PORTAL_URL = BASE


@pytest.fixture
def ops(db):
    return User.objects.create_superuser("ops@example.com", "ops@example.com", "ops-passphrase-1")


def emailed_path(kind: str) -> str:
    """The path of the last emailed link of this kind (`reset` or `invite`)."""
    body = str(mail.outbox[-1].body)
    found = re.search(rf"{re.escape(BASE)}(/accounts/{kind}/[^/\s]+/[^/\s]+/)", body)
    assert found, body
    return found[1]


def reset_path(user) -> str:
    """A password-reset link's path for this account, as Django's reset form makes it."""
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    return f"/accounts/reset/{uid}/{default_token_generator.make_token(user)}/"


def choose_password(client: Client, path: str):
    page = client.get(path, follow=True)
    return page, client.post(
        page.redirect_chain[-1][0] if page.redirect_chain else path,
        {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
        follow=True,
    )


def signed_in_to_admin(client: Client) -> bool:
    return client.get("/admin/").status_code == 200


# --- The invitation URL -----------------------------------------------------------------------


def test_the_invitation_url_refuses_a_password_reset_token(customer):
    # As an invitation emailed before invitations had their own tokens: its "choose a
    # password" link offers a new one, and the sign-in link beside it still works.
    Client().post(reverse("password_reset"), {"email": "casey@example.com"})
    invite_path = emailed_path("reset").replace("/accounts/reset/", "/accounts/invite/")
    client = Client()
    page, _ = choose_password(client, invite_path)
    assert "This invitation link has expired" in page.content.decode()
    customer.user.refresh_from_db()
    assert not customer.user.check_password(NEW_PASSWORD)
    assert "_auth_user_id" not in client.session


def test_the_reset_url_refuses_an_invitation_token(customer):
    invites.invite_send(user=customer.user)
    page, _ = choose_password(
        Client(), emailed_path("invite").replace("/accounts/invite/", "/accounts/reset/")
    )
    assert "This link has expired" in page.content.decode()
    customer.user.refresh_from_db()
    assert not customer.user.check_password(NEW_PASSWORD)


def test_an_invitation_still_works_for_its_customer(customer):
    invites.invite_send(user=customer.user)
    client = Client()
    _, done = choose_password(client, emailed_path("invite"))
    assert done.redirect_chain[-1][0] == reverse("home")
    assert client.session["_auth_user_id"] == str(customer.user.pk)
    # Spent once used.
    page, _ = choose_password(Client(), emailed_path("invite"))
    assert "This invitation link has expired" in page.content.decode()


def test_the_invitation_url_never_signs_a_staff_account_in(ops):
    for path in (
        invites.invite_url(user=ops, base_url=""),
        reset_path(ops).replace("/accounts/reset/", "/accounts/invite/"),
    ):
        client = Client()
        page, _ = choose_password(client, path)
        assert "This invitation link has expired" in page.content.decode()
        assert not signed_in_to_admin(client)
    ops.refresh_from_db()
    assert ops.check_password("ops-passphrase-1")


# --- The public password reset ----------------------------------------------------------------


def test_the_public_reset_mails_customers_only_and_never_signs_in(customer, ops):
    Client().post(reverse("password_reset"), {"email": "ops@example.com"})
    assert mail.outbox == []
    Client().post(reverse("password_reset"), {"email": "casey@example.com"})
    [message] = mail.outbox
    assert message.to == ["casey@example.com"]
    client = Client()
    _, done = choose_password(client, emailed_path("reset"))
    assert "Password saved" in done.content.decode()
    customer.user.refresh_from_db()
    assert customer.user.check_password(NEW_PASSWORD)
    # Django's post_reset_login stays off: the new password signs in, the link does not.
    assert "_auth_user_id" not in client.session


def test_a_staff_reset_link_mailed_before_this_release_has_expired(ops):
    client = Client()
    page, _ = choose_password(client, reset_path(ops))
    assert "This link has expired" in page.content.decode()
    ops.refresh_from_db()
    assert ops.check_password("ops-passphrase-1")
    assert not signed_in_to_admin(client)
