"""Revoking a customer's booking links signs out every browser that came in through one.

Staff revoke because a link leaked: the browser that used it must not stay signed in, able
to book. A customer who signed in properly (password or sign-in link) is not affected.
"""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from appointments.models import AppointmentSession
from tests.appointments.test_booking_links import CUSTOMERS, link_for, press_book
from tests.conftest import PASSWORD

REVOKED = "The booking link you came in with has been withdrawn, so you have been signed out."
BOOK = "/book/initial-consultation/"


@pytest.fixture
def flg_ready(sandbox, customer, type_for_all):
    sandbox.mirror()
    return sandbox


def revoke(staff, customer):
    response = staff.post(
        reverse(CUSTOMERS),
        {"action": "revoke_booking_links", "_selected_action": [customer.pk]},
        follow=True,
    )
    assert "Booking links revoked for 1 customer(s)" in response.content.decode()


def test_a_browser_signed_in_from_a_revoked_link_is_signed_out_and_cannot_book(
    flg_ready, staff, customer, type_for_all
):
    thief = Client()
    assert press_book(thief, link_for(customer, type_for_all)).status_code == 303
    assert thief.get("/").status_code == 200
    revoke(staff, customer)

    home = thief.get("/", follow=True)
    assert home.redirect_chain == [("/accounts/login/?next=/", 302)]
    assert REVOKED in home.content.decode()
    assert "_auth_user_id" not in thief.session

    before = AppointmentSession.objects.count()
    book = thief.post(BOOK)
    assert book.status_code == 302 and book["Location"].startswith("/accounts/login/")
    assert AppointmentSession.objects.count() == before


def test_the_booking_page_refresh_of_a_revoked_session_is_refused(
    flg_ready, staff, customer, type_for_all
):
    thief = Client()
    page_url = press_book(thief, link_for(customer, type_for_all))["Location"]
    revoke(staff, customer)
    before = AppointmentSession.objects.count()
    refresh = thief.post(page_url + "refresh/")
    assert refresh.status_code == 401
    assert refresh.json()["error"] == "signed_out"
    assert AppointmentSession.objects.count() == before
    assert thief.get("/").status_code == 302


def test_a_new_link_after_the_revocation_signs_in_and_stays(
    flg_ready, staff, customer, type_for_all
):
    person = Client()
    press_book(person, link_for(customer, type_for_all))
    revoke(staff, customer)
    customer.refresh_from_db()
    assert press_book(person, link_for(customer, type_for_all)).status_code == 303
    assert person.get("/").status_code == 200


def test_a_customer_signed_in_with_a_password_stays_signed_in(
    flg_ready, staff, customer, type_for_all
):
    person = Client()
    signed = person.post(
        "/accounts/login/", {"username": "casey@example.com", "password": PASSWORD}
    )
    assert signed.status_code == 302
    # Even one who then used a booking link: the session stays a full one.
    assert press_book(person, link_for(customer, type_for_all)).status_code == 303
    revoke(staff, customer)
    assert person.get("/").status_code == 200
    assert person.post(BOOK).status_code == 303
