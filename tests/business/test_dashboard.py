"""The admin's first page: every figure of the dashboard equals a known, seeded history."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from html import unescape

import pytest
from django.utils import timezone

from appointments.dashboard import dashboard_figures
from appointments.models import AppointmentSession, FlgFailure, LeadDelivery
from business.models import Event
from flg.errors import ErrorCode
from outbox.models import EmailRecord

NONE = "\u2013"  # no step before: no conversion


def ago(days: float) -> dt.datetime:
    return timezone.now() - dt.timedelta(days=days)


def seed(customer, other_customer, type_a, type_b):
    """A history with something on each side of the 7- and 30-day lines."""

    def email(kind, user_id, days, status=EmailRecord.Status.SENT):
        record = EmailRecord.objects.create(
            kind=kind, user_id=user_id, recipient="x", status=status
        )
        EmailRecord.objects.filter(pk=record.pk).update(queued_at=ago(days), finished_at=ago(days))

    # Invitations: users 1-4 in the last 30 days (user 1 twice, counted once), 2 of them in
    # the last 7; user 5 40 days ago.
    for user_id, days in [(1, 2), (1, 3), (2, 5), (3, 12), (4, 20), (5, 40)]:
        email("invite", user_id, days)
    # Sign-in links sent: 3 in 30 days (1 in 7), one 60 days ago; failed and queued never count.
    for days in [1, 15, 25, 60]:
        email("sign_in_link", 1, days)
    email("sign_in_link", 1, 2, EmailRecord.Status.FAILED)
    email("sign_in_link", 1, 2, EmailRecord.Status.QUEUED)

    def event(kind, days, user_id=None, type_=None):
        Event.objects.create(
            kind=kind, at=ago(days), user_id=user_id, appointment_type_id=type_ and type_.pk
        )

    for days, type_ in [(1, type_a), (10, type_a), (3, type_b), (50, type_a)]:
        event(Event.Kind.BOOKING_LINK, days, 1, type_)
    for user_id, days in [(1, 1), (2, 9), (3, 20), (4, 80)]:
        event(Event.Kind.FIRST_SIGN_IN, days, user_id)

    def session(type_, days, booked_days=None):
        AppointmentSession.objects.create(
            flg_session_id=uuid.uuid4(),
            customer=customer,
            appointment_type=type_,
            lead_id=customer.lead_id,
            public_url="https://platform.getflg.com/x",
            closes_at=ago(days - 0.02),
            created_at=ago(days),
            booked_at=None if booked_days is None else ago(booked_days),
        )

    # Opened: A 4 in 30 days (2 in 7), B 2 in 30 days (1 in 7); booked: A 2 (1 in 7), B 1.
    for type_, days, booked in [
        (type_a, 1, 1),
        (type_a, 6, None),
        (type_a, 12, 12),
        (type_a, 29, None),
        (type_a, 45, 45),
        (type_b, 2, None),
        (type_b, 14, 14),
    ]:
        session(type_, days, booked)
    for code, type_, days in [
        (ErrorCode.UNAVAILABLE, type_a, 1),
        (ErrorCode.UNAVAILABLE, type_b, 20),
        (ErrorCode.REJECTED, type_a, 3),
        (ErrorCode.REJECTED, type_a, 35),
    ]:
        FlgFailure.objects.create(
            appointment_type=type_,
            customer=other_customer,
            code=code,
            customer_message="m",
            detail="d",
            created_at=ago(days),
        )
    for outcome, days in [
        ("created", 1),
        ("created", 8),
        ("created", 20),
        ("conflict", 4),
        ("updated", 95),
    ]:
        LeadDelivery.objects.create(lead_id="1", outcome=outcome, created_at=ago(days))


@pytest.fixture
def history(customer, other_customer, type_for_all, type_for_homeowners):
    seed(customer, other_customer, type_for_all, type_for_homeowners)
    return type_for_all, type_for_homeowners


def steps(figures):
    return [(s.count, s.conversion) for s in figures.steps]


def test_thirty_days_of_all_types(history):
    figures = dashboard_figures(days=30)
    # invited, links (3 sign-in + 3 booking), came in, opened, booked.
    assert steps(figures) == [(4, None), (6, 150), (3, 50), (6, 200), (3, 50)]
    assert (figures.sign_in_links, figures.booking_links) == (3, 3)
    failures = dict(figures.failures)
    assert failures["FLG unavailable"] == 2
    assert failures["FLG refused the lead or type (400)"] == 1
    assert sum(failures.values()) == 3
    assert dict(figures.deliveries) == {
        "Created": 3,
        "Updated": 0,
        "Unchanged": 0,
        "Skipped": 0,
        "Conflict": 1,
    }


def test_seven_days_of_all_types(history):
    figures = dashboard_figures(days=7)
    assert steps(figures) == [(2, None), (3, 150), (1, 33), (3, 300), (1, 33)]
    assert sum(n for _, n in figures.failures) == 2
    assert sum(n for _, n in figures.deliveries) == 2


def test_ninety_days_of_one_type(history):
    type_a, _ = history
    figures = dashboard_figures(days=90, appointment_type=type_a)
    # Invitations, sign-in links and first sign-ins have no type: all of them count.
    assert steps(figures) == [(5, None), (7, 140), (4, 57), (5, 125), (3, 60)]
    assert (figures.sign_in_links, figures.booking_links) == (4, 3)
    assert dict(figures.failures)["FLG refused the lead or type (400)"] == 2
    assert sum(n for _, n in figures.failures) == 3


def test_nothing_yet_shows_zeros_and_no_conversion(db):
    figures = dashboard_figures(days=30)
    assert steps(figures) == [(0, None), (0, None), (0, None), (0, None), (0, None)]


def table_rows(page: str, table_id: str) -> list[list[str]]:
    table = re.search(rf'<table id="{table_id}">(.*?)</table>', page, re.S)
    assert table is not None
    rows = re.findall(r"<tr>(.*?)</tr>", table[1], re.S)[1:]
    return [
        [
            unescape(re.sub(r"<[^>]+>", "", cell)).strip()
            for cell in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)
        ]
        for row in rows
    ]


def test_the_admin_index_shows_the_figures_for_the_chosen_period_and_type(staff, history):
    type_a, _ = history
    page = staff.get(f"/admin/?days=90&type={type_a.pk}").content.decode()
    assert table_rows(page, "funnel-table") == [
        ["Customers invited (all types)", "5", NONE],
        ["Sign-in and booking links sent", "7", "140%"],
        ["Customers who came in (all types)", "4", "57%"],
        ["Booking screens opened", "5", "125%"],
        ["Bookings reported", "3", "60%"],
    ]
    assert "Links sent: 4 sign-in links and 3 booking links." in page
    assert '<option value="90" selected>' in page
    # Each chart is an image with a name, drawn on the server, and the app list is still there.
    assert page.count('<svg viewBox="0 0 560') == 3
    assert 'role="img" aria-labelledby="funnel-title"' in page
    assert "Appointment types, lead groups and customers" in page


def test_a_period_the_dashboard_does_not_offer_falls_back_to_thirty_days(staff, history):
    page = staff.get("/admin/?days=1000&type=nonsense").content.decode()
    assert "the last 30 days" in page
    assert table_rows(page, "funnel-table")[0] == ["Customers invited", "4", NONE]


def test_staff_without_the_sessions_permission_see_no_dashboard(db, client):
    from django.contrib.auth import get_user_model

    from tests.conftest import staff_sign_in

    user = get_user_model().objects.create_user("helper", "helper@example.com", "pw", is_staff=True)
    page = staff_sign_in(client, user).get("/admin/").content.decode()
    assert "How the portal is doing" not in page


def test_a_first_sign_in_is_counted_once(client, customer):
    from tests.accounts.test_sign_in_links import ask_for_link, continue_, emailed_link

    for _ in range(2):
        ask_for_link(client, "casey@example.com")
        continue_(client, emailed_link())
        client.post("/accounts/logout/")
    assert list(Event.objects.values_list("kind", "user_id")) == [
        ("first_sign_in", customer.user_id)
    ]


def test_events_older_than_the_dashboard_needs_are_deleted_on_the_schedule(db):
    from outbox import kinds

    Event.objects.create(kind=Event.Kind.FIRST_SIGN_IN, at=ago(181), user_id=1)
    Event.objects.create(kind=Event.Kind.FIRST_SIGN_IN, at=ago(179), user_id=2)
    [job] = [job for job in kinds.jobs() if job.name == "prune_dashboard_events"]
    assert job.run() == {"dashboard events": 1}
    assert list(Event.objects.values_list("user_id", flat=True)) == [2]
