"""The small words around an account: signed out, where to change a password, whose invitation."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from accounts import invites
from tests.conftest import make_customer

pytestmark = pytest.mark.django_db


def test_signing_out_says_so_on_the_next_page(customer_client):
    response = customer_client.post("/accounts/logout/", follow=True)
    page = response.content.decode()
    assert response.redirect_chain[-1][0] == "/accounts/login/"
    assert "You have signed out." in page
    assert "Signed in as" not in page
    # Said once: a reload does not repeat it.
    assert "You have signed out." not in customer_client.get("/accounts/login/").content.decode()


def test_a_get_of_the_sign_out_address_gets_a_page_not_a_blank(customer_client):
    response = customer_client.get("/accounts/logout/")
    assert response.status_code == 405
    page = response.content.decode()
    assert "This page cannot be opened that way" in page
    assert "Acme Bookings" in page and "help@acme.example" in page


def test_a_customer_with_a_password_finds_the_password_change_page(customer_client):
    home = customer_client.get("/").content.decode()
    assert '<a href="/accounts/password_change/">Change password</a>' in home
    page = customer_client.get("/accounts/password_change/")
    assert page.status_code == 200
    assert "Change your password" in page.content.decode()


def test_a_customer_without_a_password_is_not_offered_a_change(client, customer):
    customer.user.set_unusable_password()
    customer.user.save()
    client.force_login(customer.user)
    assert "Change password" not in client.get("/").content.decode()


def test_the_invitation_page_says_which_address_the_account_is_for(customer):
    invited = make_customer("Ann.Invited@example.com", "777", None)
    invited.user.set_unusable_password()
    invited.user.save()
    link = invites.invite_url(user=invited.user, base_url="")
    page = Client().get(link, follow=True).content.decode()
    assert "Welcome: choose a password" in page
    assert "This account is for <strong>Ann.Invited@example.com</strong>" in page


def test_the_invitation_email_names_the_address_the_portal_and_its_url(settings, mailoutbox):
    settings.PORTAL_URL = "https://book.example.com"
    user = get_user_model().objects.create_user("ann@example.com", "ann@example.com")
    invites.invite_send(user=user)
    [message] = mailoutbox
    assert "You sign in with this email address, ann@example.com." in message.body
    assert "Acme Bookings\nhttps://book.example.com\n" in message.body
    assert "https://book.example.com/accounts/invite/" in message.body
