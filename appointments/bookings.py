"""Bookings: recording one (the booking screen's report, or the customer's own word), the slot's
day and time when known, and the customer's upcoming and past bookings.

A booking is made at FLG 360, on its screen; the portal only hears of it from the customer's
browser. What it records is that claim, how it learned of it, and the slot when the screen
said which: never the moment of the click shown as the appointment's time.
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from appointments import metrics
from appointments.models import AppointmentSession, AppointmentType, BookedVia, Customer

# The mail queue's kind for the confirmation (registered in AppointmentsConfig.ready()).
EMAIL_KIND = "booking_confirmation"

# Beyond these, a reported slot is not an appointment anyone booked on this screen.
SLOT_LONGEST = dt.timedelta(hours=12)
SLOT_FURTHEST = dt.timedelta(days=2 * 366)
# FLG's clock and ours may differ a little: a slot may start this much before the session.
SLOT_CLOCK_LEEWAY = dt.timedelta(hours=1)
ISO_EXAMPLE = "2026-12-07T10:00:00+00:00"


class SlotInvalid(ValueError):
    """A reported slot that cannot be the appointment booked; the message says why."""


@dataclass(frozen=True)
class Slot:
    starts_at: dt.datetime
    ends_at: dt.datetime


def _moment(value: Any, name: str) -> dt.datetime:
    if not isinstance(value, str) or not value.strip() or len(value) > 40:
        raise SlotInvalid(f"The slot's {name} must be a date and time such as {ISO_EXAMPLE}.")
    try:
        moment = dt.datetime.fromisoformat(value.strip())
    except ValueError:
        raise SlotInvalid(
            f"The slot's {name} is not a date and time in ISO 8601, such as {ISO_EXAMPLE}."
        ) from None
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise SlotInvalid(
            f"The slot's {name} must carry its offset from UTC (Z or +01:00), as {ISO_EXAMPLE}."
        )
    return moment


def slot_parse(*, start: Any, end: Any, session: AppointmentSession) -> Slot | None:
    """The slot a booking report names, checked; None when it names none."""
    if start is None and end is None:
        return None
    if start is None or end is None:
        raise SlotInvalid("Send both the slot's start and its end, or neither.")
    starts_at, ends_at = _moment(start, "start"), _moment(end, "end")
    if ends_at <= starts_at:
        raise SlotInvalid("The slot must end after it starts.")
    if ends_at - starts_at > SLOT_LONGEST:
        raise SlotInvalid("A slot may last at most 12 hours.")
    if starts_at < session.created_at - SLOT_CLOCK_LEEWAY:
        raise SlotInvalid("The slot starts before this booking screen was opened.")
    if starts_at > session.created_at + SLOT_FURTHEST:
        raise SlotInvalid("The slot starts more than two years ahead.")
    return Slot(starts_at=starts_at.astimezone(dt.UTC), ends_at=ends_at.astimezone(dt.UTC))


@transaction.atomic
def booking_record(
    *,
    customer: Customer,
    session: AppointmentSession,
    via: str = BookedVia.SCREEN,
    slot: Slot | None = None,
) -> AppointmentSession:
    """Record that this session was booked, and queue the confirmation email (once).

    The first report is kept; another (a second tab, a retry) changes nothing, except that the
    booking screen's report of the slot fills in a time not known yet.
    """
    locked = AppointmentSession.objects.select_for_update().get(pk=session.pk, customer=customer)
    if locked.booked_at is None:
        locked.booked_at = timezone.now()
        locked.booked_via = via
        if slot is not None:
            locked.slot_starts_at, locked.slot_ends_at = slot.starts_at, slot.ends_at
        locked.save(update_fields=["booked_at", "booked_via", "slot_starts_at", "slot_ends_at"])
        # Counted once the transaction holds: a rolled-back report never counts.
        transaction.on_commit(metrics.bookings_reported.inc)
        _confirmation_queue(customer, locked)
    elif slot is not None and via == BookedVia.SCREEN and locked.slot_starts_at is None:
        locked.booked_via = via
        locked.slot_starts_at, locked.slot_ends_at = slot.starts_at, slot.ends_at
        locked.save(update_fields=["booked_via", "slot_starts_at", "slot_ends_at"])
    return locked


def _confirmation_queue(customer: Customer, session: AppointmentSession) -> None:
    from outbox import services as outbox

    outbox.email_queue(
        kind=EMAIL_KIND,
        user_id=customer.user_id,
        email=customer.user.email,
        params={"session": str(session.pk)},
    )


def _booked(customer: Customer) -> Any:
    return AppointmentSession.objects.select_related("appointment_type").filter(
        customer=customer, booked_at__isnull=False
    )


# Home's four lists, as the parts of one query: a timed booking whose slot has not ended (soonest
# first), an untimed one made in the last 30 days (newest first), a timed one whose slot has
# ended (newest first) and an untimed one made before that (newest first). A start with no end
# is in neither list. The SQL is written once per process: compiling the same query through the
# ORM cost more CPU than the rest of the page (see docs/performance.md).
UPCOMING_TIMED, UPCOMING_UNTIMED, PAST_TIMED, PAST_UNTIMED, NEITHER = range(5)
PART_LIMITS = {UPCOMING_TIMED: 20, UPCOMING_UNTIMED: 10, PAST_TIMED: 10, PAST_UNTIMED: 10}


@functools.cache
def _home_sql() -> str:
    session_meta, type_meta = AppointmentSession._meta, AppointmentType._meta
    quote = connection.ops.quote_name
    columns = ", ".join(f"s.{quote(f.column)}" for f in session_meta.concrete_fields if f.column)
    return f"""
        SELECT {columns}, t.{quote("name")} AS type_name, t.{quote("slug")} AS type_slug,
               s.part AS part
        FROM (
            SELECT s.*, ROW_NUMBER() OVER (
                PARTITION BY s.part
                ORDER BY CASE WHEN s.part = {UPCOMING_TIMED} THEN s.slot_starts_at END ASC,
                         CASE WHEN s.part = {PAST_TIMED} THEN s.slot_starts_at
                              ELSE s.booked_at END DESC
            ) AS part_rank
            FROM (
                SELECT b.*, CASE
                    WHEN b.slot_starts_at IS NULL AND b.booked_at > %s THEN {UPCOMING_UNTIMED}
                    WHEN b.slot_starts_at IS NULL THEN {PAST_UNTIMED}
                    WHEN b.slot_ends_at IS NULL THEN {NEITHER}
                    WHEN b.slot_ends_at > %s THEN {UPCOMING_TIMED}
                    ELSE {PAST_TIMED}
                END AS part
                FROM {quote(session_meta.db_table)} b
                WHERE b.customer_id = %s AND b.booked_at IS NOT NULL
            ) s
        ) s
        JOIN {quote(type_meta.db_table)} t ON t.id = s.appointment_type_id
        WHERE s.part_rank <= {max(PART_LIMITS.values())} AND s.part <> {NEITHER}
        ORDER BY s.part, s.part_rank
    """  # noqa: S608 (only the models' own table and column names and int constants; values are parameters)


@functools.cache
def _home_columns(vendor: str) -> tuple[list[str], list[tuple[int, Any]]]:
    """The session columns _home_sql selects, and how the database's values become the
    fields' (SQLite's text to datetimes and UUIDs; PostgreSQL's driver already does it)."""
    fields = [f for f in AppointmentSession._meta.concrete_fields if f.column]
    converters = []
    for position, field in enumerate(fields):
        column = field.get_col(AppointmentSession._meta.db_table)
        found = connection.ops.get_db_converters(column) + field.get_db_converters(connection)
        if found:
            converters.append((position, _chain(found, column)))
    return [f.attname for f in fields], converters


def _chain(converters: list[Any], column: Any) -> Any:
    def convert(value: Any) -> Any:
        for converter in converters:
            value = converter(value, column, connection)
        return value

    return convert


def bookings_home(
    *, customer: Customer, now: dt.datetime | None = None
) -> tuple[list[Any], list[Any]]:
    """The customer's upcoming and past bookings (see bookings_upcoming, bookings_past) in one
    query, each part numbered in its own order and cut to its limit."""
    now = now or timezone.now()
    moment = connection.ops.adapt_datetimefield_value
    params = [moment(now - dt.timedelta(days=30)), moment(now), customer.pk]
    names, converters = _home_columns(connection.vendor)
    with connection.cursor() as cursor:
        cursor.execute(_home_sql(), params)
        rows = cursor.fetchall()
    parts: dict[int, list[Any]] = {number: [] for number in PART_LIMITS}
    for row in rows:
        *values, type_name, type_slug, part = row
        if len(parts[part]) >= PART_LIMITS[part]:
            continue
        for position, convert in converters:
            values[position] = convert(values[position])
        booking = AppointmentSession.from_db(connection.alias, names, values)
        # The name and slug are all the lists show; the rest loads if ever asked for.
        booking.appointment_type = AppointmentType.from_db(
            connection.alias,
            ["id", "name", "slug"],
            [booking.appointment_type_id, type_name, type_slug],
        )
        parts[part].append(booking)
    upcoming = [*parts[UPCOMING_TIMED], *parts[UPCOMING_UNTIMED]]
    past = [*parts[PAST_TIMED], *parts[PAST_UNTIMED]][: PART_LIMITS[PAST_TIMED]]
    return upcoming, past


def bookings_upcoming(*, customer: Customer, now: dt.datetime | None = None) -> list[Any]:
    """Bookings whose slot has not ended, soonest first; then those with no known time
    booked in the last 30 days, newest first (they may well be ahead)."""
    return bookings_home(customer=customer, now=now)[0]


def bookings_past(*, customer: Customer, now: dt.datetime | None = None) -> list[Any]:
    """Bookings whose slot has ended (or, time unknown, made over 30 days ago), newest first."""
    return bookings_home(customer=customer, now=now)[1]


def booking_for_customer(*, customer: Customer, session_id: Any) -> AppointmentSession | None:
    """The customer's own booked session with a known time (for its calendar file)."""
    return (
        _booked(customer)
        .filter(pk=session_id, slot_starts_at__isnull=False)
        .select_related("customer__user")
        .first()
    )
