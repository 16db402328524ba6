"""Home's upcoming and past lists, fetched in one query: each part in its own order and limit."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from appointments import bookings
from tests.appointments.test_booked import make_session

pytestmark = pytest.mark.django_db


def booked(customer, appointment_type, *, booked_days_ago, slot_in_hours=None):
    now = timezone.now()
    fields = {"booked_at": now - dt.timedelta(days=booked_days_ago)}
    if slot_in_hours is not None:
        starts = now + dt.timedelta(hours=slot_in_hours)
        fields |= {"slot_starts_at": starts, "slot_ends_at": starts + dt.timedelta(minutes=30)}
    return make_session(customer, appointment_type, **fields)


def test_each_list_keeps_its_order_and_limit_in_one_query(customer, other_customer, type_for_all):
    ahead = [
        booked(customer, type_for_all, booked_days_ago=1, slot_in_hours=h) for h in range(25, 1, -1)
    ]
    recent = [booked(customer, type_for_all, booked_days_ago=d) for d in (3, 1, 2)]
    ended = [
        booked(customer, type_for_all, booked_days_ago=40, slot_in_hours=-h) for h in range(1, 13)
    ]
    for days in (31, 45):  # untimed and old: past, but after ten timed ones
        booked(customer, type_for_all, booked_days_ago=days)
    make_session(customer, type_for_all)  # started, never booked
    make_session(customer, type_for_all, booked_at=timezone.now(), slot_starts_at=timezone.now())
    booked(other_customer, type_for_all, booked_days_ago=1, slot_in_hours=3)

    with CaptureQueriesContext(connection) as queries:
        upcoming, past = bookings.bookings_home(customer=customer)

    assert len(queries.captured_queries) == 1
    soonest = sorted(ahead, key=lambda s: s.slot_starts_at)[:20]
    newest = sorted(recent, key=lambda s: s.booked_at, reverse=True)
    assert [s.pk for s in upcoming] == [s.pk for s in soonest + newest]
    latest_ended = sorted(ended, key=lambda s: s.slot_starts_at, reverse=True)[:10]
    assert [s.pk for s in past] == [s.pk for s in latest_ended]
    assert upcoming[0].appointment_type.name == type_for_all.name


def test_past_untimed_bookings_follow_the_timed_ones(customer, type_for_all):
    ended = booked(customer, type_for_all, booked_days_ago=50, slot_in_hours=-2)
    older = booked(customer, type_for_all, booked_days_ago=60)
    old = booked(customer, type_for_all, booked_days_ago=31)

    upcoming, past = bookings.bookings_home(customer=customer)

    assert upcoming == []
    assert [s.pk for s in past] == [ended.pk, old.pk, older.pk]
