"""Recording a booking: the slot's times checked, the customer's own word, the status another tab
asks for, the calendar file and the confirmation email (rendered as the worker renders it)."""

from __future__ import annotations

import datetime as dt
import json
import re

import icalendar
import pytest
from django.core import mail
from django.utils import timezone

from appointments import bookings, emails, ics
from appointments.models import AppointmentSession, BookedVia
from outbox.models import EmailRecord
from tests.appointments.test_booked import booked_url, make_session, page_url

pytestmark = pytest.mark.django_db

START = "2026-12-07T10:00:00+00:00"
END = "2026-12-07T10:45:00+00:00"


@pytest.fixture
def session(customer, type_for_all):
    # Opened a day before the slot it books.
    return make_session(
        customer,
        type_for_all,
        created_at=dt.datetime(2026, 12, 6, 9, tzinfo=dt.UTC),
        closes_at=timezone.now() + dt.timedelta(minutes=30),
    )


def report(client, session, **body):
    return client.post(booked_url(session), json.dumps(body), content_type="application/json")


def booked(session, *, start=START, end=END, via=BookedVia.SCREEN) -> AppointmentSession:
    slot = None
    if start and end:
        slot = bookings.Slot(dt.datetime.fromisoformat(start), dt.datetime.fromisoformat(end))
    return bookings.booking_record(customer=session.customer, session=session, via=via, slot=slot)


# --- booked/ ------------------------------------------------------------------------------------


def test_the_screens_report_records_the_slot(customer_client, session):
    response = report(customer_client, session, start=START, end="2026-12-07T10:45:00Z")
    body = response.json()
    assert response.status_code == 200
    assert body["booked"] is True
    assert body["bookedVia"] == "screen"
    assert body["slot"] == {"start": "2026-12-07T10:00:00.000Z", "end": "2026-12-07T10:45:00.000Z"}
    assert body["when"] == "Monday 7 December 2026, 10:00 to 10:45 (UK time)"
    assert body["reference"] == session.reference
    assert body["calendarUrl"] == f"/bookings/{session.pk}/appointment.ics"
    session.refresh_from_db()
    assert session.slot_starts_at == dt.datetime(2026, 12, 7, 10, tzinfo=dt.UTC)
    assert session.slot_ends_at == dt.datetime(2026, 12, 7, 10, 45, tzinfo=dt.UTC)


def test_an_offset_in_summer_is_kept_as_the_same_moment(customer_client, customer, type_for_all):
    june = make_session(customer, type_for_all, created_at=dt.datetime(2026, 6, 1, tzinfo=dt.UTC))
    report(customer_client, june, start="2026-06-08T09:00:00+01:00", end="2026-06-08T09:45+01:00")
    june.refresh_from_db()
    assert june.slot_starts_at == dt.datetime(2026, 6, 8, 8, tzinfo=dt.UTC)
    assert june.when_text == "Monday 8 June 2026, 09:00 to 09:45 (UK time)"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"start": START}, "Send both the slot's start and its end, or neither."),
        ({"start": "2026-12-07T10:00:00", "end": END}, "must carry its offset from UTC"),
        ({"start": "next Monday", "end": END}, "is not a date and time in ISO 8601"),
        ({"start": 1765101600, "end": END}, "must be a date and time such as"),
        ({"start": END, "end": START}, "The slot must end after it starts."),
        ({"start": START, "end": "2026-12-08T10:00:00Z"}, "at most 12 hours"),
        ({"start": "2026-11-01T10:00Z", "end": "2026-11-01T11:00Z"}, "before this booking"),
        ({"start": "2030-01-07T10:00Z", "end": "2030-01-07T11:00Z"}, "two years ahead"),
        ({"via": "a friend"}, '"via" is "screen" or "customer".'),
    ],
)
def test_a_bad_report_is_refused_with_a_clear_json_error_and_nothing_recorded(
    customer_client, session, body, message
):
    response = report(customer_client, session, **body)
    assert response.status_code == 400
    assert response.json()["error"] == "bad_report"
    assert message in response.json()["message"]
    session.refresh_from_db()
    assert session.booked_at is None
    assert mail.outbox == []


def test_a_report_that_is_not_json_is_refused(customer_client, session):
    response = customer_client.post(
        booked_url(session), "start=now", content_type="application/json"
    )
    assert response.status_code == 400
    assert response.json() == {"error": "bad_report", "message": "The report is not JSON."}


def test_the_customers_own_word_is_recorded_as_theirs(customer_client, session):
    body = report(customer_client, session, via="customer").json()
    assert body["bookedVia"] == "customer"
    assert body["slot"] is None
    assert body["calendarUrl"] is None
    assert "(you told us); time not known" in body["when"]
    session.refresh_from_db()
    assert session.booked_via == BookedVia.CUSTOMER


def test_the_first_report_is_kept_and_the_screen_may_add_the_time(customer_client, session):
    report(customer_client, session, via="customer")
    first = AppointmentSession.objects.get(pk=session.pk).booked_at
    report(customer_client, session, start=START, end=END)
    report(customer_client, session, start="2026-12-07T15:00Z", end="2026-12-07T16:00Z")
    session.refresh_from_db()
    assert session.booked_at == first
    assert session.booked_via == BookedVia.SCREEN
    assert session.slot_starts_at == dt.datetime(2026, 12, 7, 10, tzinfo=dt.UTC)
    assert EmailRecord.objects.filter(kind=bookings.EMAIL_KIND).count() == 1


def test_another_customers_session_is_not_found(client, other_customer, session):
    client.force_login(other_customer.user)
    assert report(client, session, start=START, end=END).status_code == 404
    assert client.get(page_url(session) + "status/").status_code == 404
    session.refresh_from_db()
    assert session.booked_at is None


# --- status/ -------------------------------------------------------------------------------------


def test_status_says_whether_it_is_booked_yet(customer_client, session):
    url = page_url(session) + "status/"
    response = customer_client.get(url)
    assert response.status_code == 200
    assert response.json()["booked"] is False
    assert "no-store" in response["Cache-Control"]
    booked(session)
    body = customer_client.get(url).json()
    assert body["booked"] is True
    assert body["when"] == "Monday 7 December 2026, 10:00 to 10:45 (UK time)"
    assert customer_client.post(url).status_code == 405


def test_status_for_someone_signed_out_is_a_json_401(client, session):
    response = client.get(page_url(session) + "status/")
    assert response.status_code == 401
    assert response.json()["error"] == "signed_out"


# --- The calendar file ----------------------------------------------------------------------


def test_the_owner_downloads_the_calendar_file(customer_client, session):
    booked(session)
    response = customer_client.get(f"/bookings/{session.pk}/appointment.ics")
    assert response.status_code == 200
    assert response["Content-Type"] == ics.CONTENT_TYPE
    assert response["Content-Disposition"] == (
        f'attachment; filename="appointment-{session.reference}.ics"'
    )
    calendar = icalendar.Calendar.from_ical(response.content)
    [event] = calendar.events
    assert event.start == dt.datetime(2026, 12, 7, 10, tzinfo=dt.UTC)
    assert event.end == dt.datetime(2026, 12, 7, 10, 45, tzinfo=dt.UTC)
    assert str(event["UID"]) == f"appointment-session-{session.pk}@flg-booking-portal"
    assert "Initial consultation" in str(event["SUMMARY"])
    assert session.reference in str(event["DESCRIPTION"])
    assert {"DTSTAMP", "DTSTART", "DTEND", "UID"} <= set(event)
    assert str(calendar["VERSION"]) == "2.0"


def test_the_calendar_file_is_the_same_every_time(customer_client, session):
    booked(session)
    url = f"/bookings/{session.pk}/appointment.ics"
    assert customer_client.get(url).content == customer_client.get(url).content


def test_no_calendar_file_for_others_for_unknown_times_or_unbooked(
    client, customer, other_customer, session, type_for_all
):
    booked(session)
    client.force_login(other_customer.user)
    assert client.get(f"/bookings/{session.pk}/appointment.ics").status_code == 404
    client.force_login(customer.user)
    told = make_session(customer, type_for_all)
    bookings.booking_record(customer=customer, session=told, via=BookedVia.CUSTOMER)
    assert client.get(f"/bookings/{told.pk}/appointment.ics").status_code == 404
    unbooked = make_session(customer, type_for_all)
    assert client.get(f"/bookings/{unbooked.pk}/appointment.ics").status_code == 404


# --- The confirmation email ------------------------------------------------------------------


def test_a_booking_sends_one_confirmation_with_the_calendar_file(session, settings):
    booked(session)
    booked(session)  # a second report: no second email
    [email] = mail.outbox
    assert email.subject == "Booked: Initial consultation on Monday 7 December at 10:00"
    assert "When: Monday 7 December 2026, 10:00 to 10:45 (UK time)" in email.body
    assert f"Reference: {session.reference}" in email.body
    assert f"contact us at {settings.PORTAL_SUPPORT_EMAIL}" in email.body
    [(filename, content, mimetype)] = email.attachments
    assert filename == ics.booking_filename(session)
    assert mimetype == ics.CONTENT_TYPE
    [event] = icalendar.Calendar.from_ical(content).events
    assert str(event["UID"]) == ics.booking_uid(session)
    record = EmailRecord.objects.get(kind=bookings.EMAIL_KIND)
    assert record.status == EmailRecord.Status.SENT
    assert record.params == {"session": str(session.pk)}  # an id, never a name or an address


def test_without_a_time_the_email_says_so_and_attaches_nothing(session):
    booked(session, start=None, via=BookedVia.CUSTOMER)
    [email] = mail.outbox
    assert email.subject == "Booked: Initial consultation"
    assert "(you told us); time not known: see the booking screen's confirmation" in email.body
    assert email.attachments == []
    assert "(UK time)" not in email.body


def test_staff_s_own_words_are_sent_and_the_calendar_file_still_goes(session):
    from business.models import EmailText

    EmailText.objects.create(
        kind=bookings.EMAIL_KIND,
        subject="See you {{ when_short }}",
        body="{{ appointment_type }}: {{ when }}. Ref {{ reference }}. {{ home_link }}",
    )
    booked(session)
    [email] = mail.outbox
    assert email.subject == "See you Monday 7 December at 10:00"
    assert email.body.startswith("Initial consultation: Monday 7 December 2026, 10:00 to 10:45")
    assert f"Ref {session.reference}." in email.body
    [(filename, _content, _mimetype)] = email.attachments
    assert filename == ics.booking_filename(session)


def test_the_renderer_sends_nothing_for_someone_else_or_a_session_not_booked(
    session, other_customer
):
    assert emails.booking_confirmation_render(session.customer.user_id, {"session": "x"}) is None
    params = {"session": str(session.pk)}
    assert emails.booking_confirmation_render(session.customer.user_id, params) is None
    booked(session)
    assert emails.booking_confirmation_render(other_customer.user_id, params) is None
    message = emails.booking_confirmation_render(session.customer.user_id, params)
    assert message is not None
    assert message.to == "casey@example.com"
    assert "Monday 7 December 2026" in message.html


# --- Staff -----------------------------------------------------------------------------------


def test_staff_see_the_appointments_time_and_how_we_learned_of_it(
    admin_client, customer, session, type_for_all
):
    booked(session)
    told = make_session(customer, type_for_all)
    bookings.booking_record(customer=customer, session=told, via=BookedVia.CUSTOMER)
    listing = admin_client.get("/admin/appointments/appointmentsession/").content.decode()
    assert "appointment (uk time)" in listing.lower()
    assert "Mon 07 Dec 2026 10:00\u201310:45" in listing
    assert "the booking screen said so" in listing
    assert "the customer told us" in listing
    assert "not known" in listing


def test_staff_find_a_booking_by_the_reference_the_customer_quotes(
    admin_client, customer, session, type_for_all
):
    booked(session)
    booked(make_session(customer, type_for_all, created_at=session.created_at))
    url = "/admin/appointments/appointmentsession/?q=" + session.reference
    listing = admin_client.get(url).content.decode()
    assert re.search(r'class="paginator">\s*1 appointment session\s*<', listing)
