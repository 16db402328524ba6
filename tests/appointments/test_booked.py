"""The booked record: the page's report that a booking was made, kept per session.

Owner only, CSRF-protected, idempotent; a booked session is never handed out again, its page
shows the confirmation, home lists it, and staff see it as the customer's claim.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone

from appointments.models import AppointmentSession, AppointmentType
from flg import transport

START_URL = "/book/initial-consultation/"


def make_session(customer, appointment_type, **fields) -> AppointmentSession:
    now = timezone.now()
    return AppointmentSession.objects.create(
        **{
            "flg_session_id": uuid.uuid4(),
            "customer": customer,
            "appointment_type": appointment_type,
            "lead_id": customer.lead_id,
            "public_url": "https://platform.getflg.com/appointments/book/abc",
            "closes_at": now + dt.timedelta(minutes=30),
            "created_at": now,
            **fields,
        }
    )


def page_url(session: AppointmentSession) -> str:
    return f"/book/{session.appointment_type.slug}/session/{session.pk}/"


def booked_url(session: AppointmentSession) -> str:
    return page_url(session) + "booked/"


@pytest.fixture
def session(customer, type_for_all):
    return make_session(customer, type_for_all)


@pytest.fixture
def flg_ready(sandbox, customer, type_for_all, type_for_homeowners):
    sandbox.mirror()
    yield sandbox
    transport.connections_close()


def start(client, url=START_URL) -> str:
    response = client.post(url)
    assert response.status_code == 303, response.content.decode()[:500]
    return response["Location"]


# --- The endpoint ------------------------------------------------------------------------------


def test_the_owner_records_a_booking(customer_client, session):
    response = customer_client.post(booked_url(session))
    assert response.status_code == 200
    body = response.json()
    assert body["booked"] is True
    assert body["message"] == "Your appointment is booked."
    assert "no-store" in response["Cache-Control"]
    session.refresh_from_db()
    assert session.booked_at is not None
    assert body["bookedAt"].startswith(session.booked_at.astimezone(dt.UTC).strftime("%Y-%m-%dT"))


def test_a_second_report_changes_nothing(customer_client, session):
    first = timezone.now()
    with time_machine.travel(first, tick=False):
        customer_client.post(booked_url(session))
    with time_machine.travel(first + dt.timedelta(minutes=5), tick=False):
        again = customer_client.post(booked_url(session))
    assert again.status_code == 200
    session.refresh_from_db()
    assert session.booked_at == first
    assert AppointmentSession.objects.filter(booked_at__isnull=False).count() == 1


def test_another_customer_cannot_mark_the_session_booked(client, other_customer, session):
    client.force_login(other_customer.user)
    response = client.post(booked_url(session))
    assert response.status_code == 404
    assert response.json()["error"] == "not_found"
    session.refresh_from_db()
    assert session.booked_at is None


def test_a_signed_out_visitor_cannot_mark_it_booked(client, session):
    response = client.post(booked_url(session))
    assert response.status_code == 401
    assert response.json()["error"] == "signed_out"
    session.refresh_from_db()
    assert session.booked_at is None


def test_an_account_without_a_customer_record_cannot_mark_it_booked(client, session):
    staff = get_user_model().objects.create_user("sam", "sam@example.com", "pw-not-used-1")
    client.force_login(staff)
    assert client.post(booked_url(session)).status_code == 403
    session.refresh_from_db()
    assert session.booked_at is None


def test_it_needs_the_csrf_token(customer, session):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(customer.user)
    refused = browser.post(booked_url(session))
    assert refused.status_code == 403
    session.refresh_from_db()
    assert session.booked_at is None

    # The booking page carries the token the script sends as X-CSRFToken.
    page = browser.get("/")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.content.decode())[1]
    accepted = browser.post(booked_url(session), HTTP_X_CSRFTOKEN=token)
    assert accepted.status_code == 200
    session.refresh_from_db()
    assert session.booked_at is not None


def test_a_get_is_refused_with_a_page_in_the_portals_layout(customer_client, session):
    response = customer_client.get(booked_url(session))
    assert response.status_code == 405
    assert response["Allow"] == "POST"
    page = response.content.decode()
    assert "This page cannot be opened that way" in page
    assert "Skip to main content" in page
    session.refresh_from_db()
    assert session.booked_at is None


def test_an_unknown_session_is_not_found(customer_client, type_for_all):
    url = f"/book/initial-consultation/session/{uuid.uuid4()}/booked/"
    assert customer_client.post(url).status_code == 404


def test_a_session_of_a_type_switched_off_since_can_still_be_reported(customer_client, session):
    AppointmentType.objects.filter(pk=session.appointment_type_id).update(is_active=False)
    assert customer_client.post(booked_url(session)).status_code == 200


# --- What the record changes -------------------------------------------------------------------


def test_book_again_after_a_booking_opens_a_fresh_screen(flg_ready, customer_client):
    first = start(customer_client)
    session = AppointmentSession.objects.get()
    customer_client.post(booked_url(session))

    # Within the 30 s reuse window: the spent session must not come back.
    second = start(customer_client)
    assert second != first
    assert flg_ready.calls() == 2
    fresh = AppointmentSession.objects.exclude(pk=session.pk).get()
    assert fresh.booked_at is None
    assert second == page_url(fresh)


def test_an_unbooked_session_is_still_reused(flg_ready, customer_client):
    assert start(customer_client) == start(customer_client)
    assert flg_ready.calls() == 1


def test_reloading_a_booked_page_shows_the_confirmation_not_a_booking_screen(
    flg_ready, customer_client, settings
):
    url = start(customer_client)
    session = AppointmentSession.objects.get()
    customer_client.post(booked_url(session))

    # Even once it is due, a reload asks FLG for nothing and frames nothing.
    with time_machine.travel(timezone.now() + dt.timedelta(minutes=29, seconds=30)):
        response = customer_client.get(url)
    page = response.content.decode()
    assert response.status_code == 200
    assert "Your appointment is booked" in page
    assert "Initial consultation" in page
    assert "Book another appointment" in page
    assert "<iframe" not in page
    assert "closes in" not in page
    assert "booking.js" not in page
    assert flg_ready.calls() == 1


def test_a_booked_session_is_not_refreshed_by_another_tab(flg_ready, customer_client):
    start(customer_client)
    session = AppointmentSession.objects.get()
    customer_client.post(booked_url(session))
    response = customer_client.post(page_url(session) + "refresh/")
    assert response.status_code == 409
    assert response.json()["error"] == "booked"
    assert flg_ready.calls() == 1


def test_another_customer_gets_not_found_for_a_booked_page(client, other_customer, session):
    session.booked_at = timezone.now()
    session.save()
    client.force_login(other_customer.user)
    assert client.get(page_url(session)).status_code == 404


def test_home_lists_bookings_with_no_known_time_honestly_newest_first(
    customer_client, customer, type_for_all
):
    survey = AppointmentType.objects.create(
        flg_id=uuid.uuid4(), name="Home survey", lead_group=customer.lead_group
    )
    now = timezone.now()
    make_session(customer, type_for_all, booked_at=now - dt.timedelta(days=2))
    make_session(customer, survey, booked_at=now - dt.timedelta(hours=1))
    make_session(customer, type_for_all)  # never booked

    page = customer_client.get("/").content.decode()
    section = page[page.index(">Upcoming<") :]
    items = re.findall(
        r'<strong class="booking-list__name">([^<]+)</strong>\s*'
        r'<span class="booking-list__when">([^<]+)</span>',
        section,
    )
    assert [name for name, _when in items] == ["Home survey", "Initial consultation"]
    local = timezone.localtime(now - dt.timedelta(hours=1))
    # The click is not the appointment: the day it was booked, and that the time is not known.
    assert items[0][1] == (
        f"Booked on {local:%A} {local.day} {local:%B %Y}; "
        "time not known: see the booking screen&#x27;s confirmation"
    )
    assert "Times are UK time (Europe/London)" in section


def test_home_shows_no_bookings_section_before_the_first(customer_client, session):
    page = customer_client.get("/").content.decode()
    assert ">Upcoming<" not in page
    assert ">Past<" not in page


def test_home_never_shows_another_customers_bookings(client, other_customer, session):
    session.booked_at = timezone.now()
    session.save()
    client.force_login(other_customer.user)
    assert ">Upcoming<" not in client.get("/").content.decode()


def test_staff_see_the_booking_as_the_customers_claim(admin_client, customer, session):
    session.booked_at = timezone.now()
    session.booked_via = "screen"
    session.save()
    listing = admin_client.get("/admin/appointments/appointmentsession/").content.decode()
    assert "booked (customer&#x27;s claim)" in listing
    reported = f"{timezone.localtime(session.booked_at):%d %b %H:%M} (the booking screen said so)"
    assert reported in listing
    booked_only = admin_client.get("/admin/appointments/appointmentsession/?booked=yes")
    assert reported in booked_only.content.decode()
    detail = admin_client.get(f"/admin/appointments/customer/{customer.pk}/change/")
    assert "Customer reported" in detail.content.decode()
    record = admin_client.get(f"/admin/appointments/appointmentsession/{session.pk}/change/")
    assert "the customer&#x27;s page reported it" in record.content.decode()
    assert "not FLG 360's record" in record.content.decode()
