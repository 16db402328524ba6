"""Customers sign in with their email address; everything else about accounts is Django's."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth import get_user_model
from django.core import mail

from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def sign_in(client, email, password=PASSWORD):
    return client.post("/accounts/login/", {"username": email, "password": password})


def test_a_customer_signs_in_with_their_email_in_any_case(client, customer):
    response = sign_in(client, "CASEY@Example.COM")
    assert response.status_code == 302
    assert response["Location"] == "/"
    assert client.get("/").context["user"] == customer.user


def test_a_wrong_password_says_so_and_keeps_them_signed_out(client, customer):
    response = sign_in(client, "casey@example.com", "wrong-password")
    assert response.status_code == 200
    assert "do not match an account" in response.content.decode()
    assert not response.context["user"].is_authenticated


def test_an_unknown_email_gets_the_same_message(client, customer):
    response = sign_in(client, "nobody@example.com")
    assert response.status_code == 200
    assert "do not match an account" in response.content.decode()


def test_an_inactive_account_cannot_sign_in(client, customer):
    customer.user.is_active = False
    customer.user.save()
    response = sign_in(client, "casey@example.com")
    assert response.status_code == 200
    assert not response.context["user"].is_authenticated


def test_the_sign_in_page_asks_for_an_email_address(client):
    page = client.get("/accounts/login/").content.decode()
    assert 'type="email"' in page
    assert "Email address" in page
    assert "Forgotten your password?" in page


def test_sign_out_is_a_post(customer_client):
    assert customer_client.get("/accounts/logout/").status_code == 405
    assert customer_client.get("/").status_code == 200
    response = customer_client.post("/accounts/logout/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/"
    assert customer_client.get("/").status_code == 302


def test_a_signed_in_customer_visiting_sign_in_goes_home(customer_client):
    response = customer_client.get("/accounts/login/")
    assert response.status_code == 302
    assert response["Location"] == "/"


def test_sign_in_returns_to_the_page_asked_for(client, customer):
    response = client.post(
        "/accounts/login/?next=/", {"username": "casey@example.com", "password": PASSWORD}
    )
    assert response["Location"] == "/"
    response = client.post(
        "/accounts/login/",
        {"username": "casey@example.com", "password": PASSWORD, "next": "https://evil.example/"},
    )
    assert response["Location"] == "/"


def test_pages_need_sign_in(client):
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/"


def test_a_password_reset_emails_a_link_that_sets_a_new_password(client, customer, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.PORTAL_URL = "https://book.example.com"
    response = client.post("/accounts/password_reset/", {"email": "Casey@example.com"})
    assert response.status_code == 302
    assert len(mail.outbox) == 1
    # The email names the portal and its address, not the host the request came in on.
    assert mail.outbox[0].subject == "Choose a new password for Acme Bookings"
    assert "your account with Acme Bookings" in mail.outbox[0].body
    assert "testserver" not in mail.outbox[0].body
    link = re.search(r"https://book.example.com(/accounts/reset/\S+/)", mail.outbox[0].body).group(
        1
    )
    page = client.get(link, follow=True)
    assert page.status_code == 200
    assert "Choose a new password" in page.content.decode()
    assert "base.html" in [t.name for t in page.templates]
    response = client.post(
        page.redirect_chain[-1][0],
        {"new_password1": "a-brand-new-phrase-7", "new_password2": "a-brand-new-phrase-7"},
    )
    assert response.status_code == 302
    customer.user.refresh_from_db()
    assert customer.user.check_password("a-brand-new-phrase-7")
    assert sign_in(client, "casey@example.com", "a-brand-new-phrase-7").status_code == 302


def test_a_used_reset_link_says_it_has_expired(client, customer, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    client.post("/accounts/password_reset/", {"email": "casey@example.com"})
    link = re.search(r"https?://[^/]+(/accounts/reset/\S+/)", mail.outbox[0].body).group(1)
    page = client.get(link, follow=True)
    new = {"new_password1": "a-brand-new-phrase-7", "new_password2": "a-brand-new-phrase-7"}
    client.post(page.redirect_chain[-1][0], new)
    again = client.get(link, follow=True)
    assert "This link has expired" in again.content.decode()


def test_a_reset_for_an_unknown_email_reveals_nothing(client, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    response = client.post("/accounts/password_reset/", {"email": "nobody@example.com"})
    assert response.status_code == 302
    assert mail.outbox == []


def test_a_user_without_a_customer_record_gets_a_friendly_page(client):
    user = get_user_model().objects.create_user("staff", "staff@example.com", PASSWORD)
    client.force_login(user)
    response = client.get("/")
    page = response.content.decode()
    assert response.status_code == 200
    assert "not linked to a booking record yet" in page
    assert "help@acme.example" in page


def test_the_layout_has_a_skip_link_the_name_and_the_support_contact(customer_client):
    page = customer_client.get("/").content.decode()
    assert 'href="#main"' in page
    assert "Acme Bookings" in page
    assert "mailto:help@acme.example" in page
    assert "0161 496 0000" in page
    assert "Signed in as" in page


def test_a_customer_who_never_chose_a_password_can_get_a_reset_link(client, customer, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    customer.user.set_unusable_password()
    customer.user.save()
    client.post("/accounts/password_reset/", {"email": "casey@example.com"})
    assert len(mail.outbox) == 1
    assert "/accounts/reset/" in mail.outbox[0].body
