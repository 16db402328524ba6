"""Bookings: recording one (the booking screen's report, or the customer's own word), the slot's
day and time when known, and the customer's upcoming and past bookings.

A booking is made at FLG 360, on its screen; the portal only hears of it from the customer's
browser. What it records is that claim, how it learned of it, and the slot when the screen
said which: never the moment of the click shown as the appointment's time.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone

from appointments import metrics
from appointments.models import AppointmentSession, BookedVia, Customer

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


def bookings_upcoming(*, customer: Customer, now: dt.datetime | None = None) -> list[Any]:
    """Bookings whose slot has not ended, soonest first; then those with no known time
    booked in the last 30 days, newest first (they may well be ahead)."""
    now = now or timezone.now()
    timed = _booked(customer).filter(slot_ends_at__gt=now).order_by("slot_starts_at")
    untimed = (
        _booked(customer)
        .filter(slot_starts_at__isnull=True, booked_at__gt=now - dt.timedelta(days=30))
        .order_by("-booked_at")
    )
    return [*timed[:20], *untimed[:10]]


def bookings_past(
    *, customer: Customer, now: dt.datetime | None = None, limit: int = 10
) -> list[Any]:
    """Bookings whose slot has ended (or, time unknown, made over 30 days ago), newest first."""
    now = now or timezone.now()
    timed = _booked(customer).filter(slot_ends_at__lte=now).order_by("-slot_starts_at")
    untimed = (
        _booked(customer)
        .filter(slot_starts_at__isnull=True, booked_at__lte=now - dt.timedelta(days=30))
        .order_by("-booked_at")
    )
    return [*timed[:limit], *untimed[:limit]][:limit]


def booking_for_customer(*, customer: Customer, session_id: Any) -> AppointmentSession | None:
    """The customer's own booked session with a known time (for its calendar file)."""
    return (
        _booked(customer)
        .filter(pk=session_id, slot_starts_at__isnull=False)
        .select_related("customer__user")
        .first()
    )
