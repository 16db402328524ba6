"""Ways in that always lead somewhere: every emailed link works as its email says, a locked-out
customer is offered the link that still works, a signed-in customer is never shown a dead end,
and each "check your email" page names the address it was asked for."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.tokens import PasswordResetTokenGenerator
from django.core import mail
from django.test import Client
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from accounts import invites, links
from accounts.views import SENT_TO
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db

BASE = "https://book.example.com"
NEW_PASSWORD = "casey-chooses-a-phrase-4"
SPENT = "This sign-in link no longer works"
ALREADY = "You are already signed in as casey@example.com"


@pytest.fixture(autouse=True)
def _mail(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.PORTAL_URL = BASE


@pytest.fixture
def invited(customer):
    """Casey as imported: no password yet, and an invitation in the mailbox."""
    customer.user.set_unusable_password()
    customer.user.save()
    mail.outbox.clear()
    invites.invite_send(user=customer.user)
    return customer


def emailed(kind: str) -> str:
    """The path of the last email's link of this kind: `invite`, `reset` or `login/link`."""
    found = re.search(rf"{re.escape(BASE)}(/accounts/{kind}/\S+/)", str(mail.outbox[-1].body))
    assert found, mail.outbox[-1].body
    return found[1]


def use_sign_in_link(client: Client, path: str):
    client.get(path)
    return client.post("/accounts/login/link/continue/", follow=True)


def choose_password(client: Client, path: str):
    page = client.get(path, follow=True)
    assert "Welcome: choose a password" in page.content.decode()
    return client.post(
        page.redirect_chain[-1][0],
        {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
        follow=True,
    )


def signed_in_as(client: Client) -> str | None:
    page = client.get("/")
    found = re.search(r"Signed in as <strong>([^<]+)</strong>", page.content.decode())
    return found[1] if found else None


# --- The invitation's two links ---------------------------------------------------------------


def test_the_invitations_password_link_works_after_its_sign_in_link_was_used(invited):
    sign_in_link, password_link = emailed("login/link"), emailed("invite")
    assert use_sign_in_link(Client(), sign_in_link).redirect_chain == [("/", 302)]
    # Days later, on another device, the other link in the same email.
    client = Client()
    done = choose_password(client, password_link)
    assert done.redirect_chain[-1] == ("/", 302)
    assert signed_in_as(client) == "casey@example.com"
    invited.user.refresh_from_db()
    assert invited.user.check_password(NEW_PASSWORD)


def test_the_invitations_password_link_still_works_once(invited):
    password_link = emailed("invite")
    choose_password(Client(), password_link)
    again = Client().get(password_link, follow=True).content.decode()
    assert "This invitation link has expired" in again


def test_an_invitation_emailed_before_the_change_still_works(invited):
    # The generator's hash before it left out the last sign-in: the same for an account that
    # has never signed in, so invitations already in mailboxes keep working.
    class Before(PasswordResetTokenGenerator):
        key_salt = invites.InviteTokenGenerator.key_salt

    user = invited.user
    token = Before().make_token(user)
    assert invites.invite_token_generator.check_token(user, token)
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    choose_password(Client(), f"/accounts/invite/{uid}/{token}/")
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)


def test_a_signed_in_customer_opening_a_spent_invitation_goes_home_with_a_note(invited):
    password_link = emailed("invite")
    client = Client()
    choose_password(client, password_link)
    again = client.get(password_link, follow=True)
    assert again.redirect_chain[-1] == ("/", 302)
    assert ALREADY in again.content.decode()


def test_a_stranger_opening_a_spent_invitation_is_offered_a_new_one(invited):
    password_link = emailed("invite")
    choose_password(Client(), password_link)
    page = Client().get(password_link, follow=True)
    assert page.status_code == 200
    assert "This invitation link has expired" in page.content.decode()
    assert "/accounts/invite/new/" in page.content.decode()


# --- Dead links while signed in ---------------------------------------------------------------


def test_a_signed_in_customer_opening_their_used_link_goes_home_with_a_note(customer):
    Client().post("/accounts/login/link/", {"email": "casey@example.com"})
    link = emailed("login/link")
    client = Client()
    use_sign_in_link(client, link)
    again = use_sign_in_link(client, link)
    assert again.redirect_chain == [("/", 302)]
    page = again.content.decode()
    assert ALREADY in page
    assert SPENT not in page
    assert signed_in_as(client) == "casey@example.com"


def test_a_signed_in_customer_is_sent_on_to_the_page_the_link_was_for(customer):
    Client().post("/accounts/login/link/", {"email": "casey@example.com"})
    link = emailed("login/link")
    client = Client()
    use_sign_in_link(client, link)
    client.get(link + "?next=/accounts/password_change/")
    opened = client.get("/accounts/login/link/continue/")
    assert opened.status_code == 302
    assert opened["Location"] == "/accounts/password_change/"


def test_a_signed_in_customer_opening_their_working_link_goes_home_and_keeps_it(customer):
    Client().post("/accounts/login/link/", {"email": "casey@example.com"})
    link = emailed("login/link")
    client = Client()
    client.force_login(customer.user)
    client.get(link)
    opened = client.get("/accounts/login/link/continue/", follow=True)
    assert opened.redirect_chain == [("/", 302)]
    assert ALREADY in opened.content.decode()
    # Not spent: it still signs in another browser.
    assert use_sign_in_link(Client(), link).redirect_chain == [("/", 302)]


def test_a_booking_link_session_may_still_use_its_sign_in_link_to_sign_in_fully(customer):
    Client().post("/accounts/login/link/", {"email": "casey@example.com"})
    link = emailed("login/link")
    client = Client()
    client.force_login(customer.user)
    session = client.session
    session[links.BOOKING_ONLY] = True
    session.save()
    client.get(link)
    assert "Continue as" in client.get("/accounts/login/link/continue/").content.decode()
    client.post("/accounts/login/link/continue/")
    assert links.BOOKING_ONLY not in client.session


def test_a_working_link_for_another_account_says_whom_it_signs_out(customer, other_customer):
    Client().post("/accounts/login/link/", {"email": "casey@example.com"})
    link = emailed("login/link")
    client = Client()
    client.force_login(other_customer.user)
    client.get(link)
    page = client.get("/accounts/login/link/continue/").content.decode()
    assert "You are signing in as <strong>c\u2022\u2022\u2022@example.com</strong>" in page
    assert "This browser is signed in as <strong>lee@example.com</strong> now" in page
    client.post("/accounts/login/link/continue/")
    assert signed_in_as(client) == "casey@example.com"


def test_a_customer_opening_another_accounts_dead_link_is_told_who_they_are(
    customer, other_customer
):
    Client().post("/accounts/login/link/", {"email": "casey@example.com"})
    link = emailed("login/link")
    use_sign_in_link(Client(), link)
    client = Client()
    client.force_login(other_customer.user)
    again = use_sign_in_link(client, link)
    assert again.redirect_chain == [("/", 302)]
    page = again.content.decode()
    assert "That link was for another account and no longer works" in page
    assert "You are still signed in as lee@example.com" in page
    assert signed_in_as(client) == "lee@example.com"


def test_someone_signed_out_still_gets_the_page_with_a_form(customer):
    Client().post("/accounts/login/link/", {"email": "casey@example.com"})
    link = emailed("login/link")
    use_sign_in_link(Client(), link)
    client = Client()
    client.get(link)
    page = client.get("/accounts/login/link/continue/")
    assert page.status_code == 410
    assert SPENT in page.content.decode()


def test_staff_opening_a_dead_link_get_the_page_not_the_customer_home(customer, admin_user):
    Client().post("/accounts/login/link/", {"email": "casey@example.com"})
    link = emailed("login/link")
    use_sign_in_link(Client(), link)
    client = Client()
    client.force_login(admin_user)
    client.get(link)
    assert client.get("/accounts/login/link/continue/").status_code == 410


def test_a_link_spent_by_choosing_a_password_is_still_known_as_the_customers(invited):
    sign_in_link = emailed("login/link")
    token = sign_in_link.rstrip("/").rsplit("/", 1)[1]
    assert links.sign_in_link_owner(token=token) == invited.user
    client = Client()
    choose_password(client, emailed("invite"))
    # The new password revoked it (sesame): whose it was is no longer known, and the
    # customer, signed in by choosing the password, simply goes home.
    assert links.sign_in_link_owner(token=token) is None
    again = use_sign_in_link(client, sign_in_link)
    assert again.redirect_chain == [("/", 302)]
    assert ALREADY in again.content.decode()


# --- The lockout page -------------------------------------------------------------------------


def test_the_lockout_page_offers_a_sign_in_link_that_works_during_the_pause(customer):
    client = Client()
    for _ in range(5):
        locked = client.post(
            "/accounts/login/", {"username": "casey@example.com", "password": "wrong"}
        )
    assert locked.status_code == 429
    page = locked.content.decode()
    assert 'href="/accounts/login/link/">email me a sign-in link</a>' in page
    assert "Forgotten your password?" in page
    # The offered way in works while the password is paused.
    client.post("/accounts/login/link/", {"email": "casey@example.com"})
    assert use_sign_in_link(client, emailed("login/link")).redirect_chain == [("/", 302)]
    assert signed_in_as(client) == "casey@example.com"


def test_the_lockout_for_a_whole_address_offers_the_sign_in_link_too(customer, other_customer):
    client = Client()
    for n in range(30):
        locked = client.post(
            "/accounts/login/", {"username": f"guess{n}@example.com", "password": PASSWORD}
        )
        if locked.status_code == 429:
            break
    assert locked.status_code == 429
    assert 'href="/accounts/login/link/">email me a sign-in link</a>' in locked.content.decode()


# --- Pages that name the address ----------------------------------------------------------------


def test_the_page_after_renewing_an_invitation_names_the_address_and_the_invitation(invited):
    mail.outbox.clear()
    page = Client().post("/accounts/invite/new/", {"email": "Casey@Example.com"}, follow=True)
    assert page.redirect_chain == [("/accounts/invite/sent/", 302)]
    text = page.content.decode()
    assert "If a customer account uses <strong>Casey@Example.com</strong>" in text
    assert "a new invitation: a link that signs you in, and a link to choose a password" in text
    assert "Each works once, for 3 days." in text
    assert "choose a new password" not in text
    [message] = mail.outbox
    assert message.to == ["casey@example.com"]


def test_the_page_after_renewing_says_the_same_for_an_unknown_address(db):
    page = Client().post("/accounts/invite/new/", {"email": "who@example.com"}, follow=True)
    assert "If a customer account uses <strong>who@example.com</strong>" in page.content.decode()
    assert mail.outbox == []


def test_the_page_after_a_reset_request_names_the_address(customer):
    page = Client().post("/accounts/password_reset/", {"email": "casey@example.com"}, follow=True)
    assert page.redirect_chain == [("/accounts/password_reset/done/", 302)]
    text = page.content.decode()
    assert "If an account uses <strong>casey@example.com</strong>" in text
    assert "a link to choose a new password" in text


def test_a_sent_page_opened_on_its_own_names_no_address(db):
    text = Client().get("/accounts/invite/sent/").content.decode()
    assert "If a customer account uses that address" in text


def test_the_address_is_not_kept_after_the_page_that_names_it(customer):
    client = Client()
    client.post("/accounts/login/link/", {"email": "casey@example.com"})
    assert "casey@example.com" in client.get("/accounts/login/link/sent/").content.decode()
    assert SENT_TO not in client.session
    assert "If we know this address" in client.get("/accounts/login/link/sent/").content.decode()
