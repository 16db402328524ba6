"""The booking confirmation email, made in the worker from ids (as accounts/emails.py does).

A booking queues it (appointments.bookings.booking_record) with the session's id only; the
worker reads the session at send time, renders the wording (staff's, edited in the admin
through business.emails, else the shipped templates under templates/appointments/emails/),
and attaches the calendar file when the slot's time is known. Registered in
AppointmentsConfig.ready().
"""

from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.urls import reverse
from django.utils import dateformat

from appointments import bookings, ics
from appointments.models import UK_TIME, AppointmentSession
from business import emails as texts
from outbox import kinds
from outbox.kinds import Attachment, Message

_T = "appointments/emails/booking_confirmation"
CALENDAR_NOTE = "The attached calendar file (.ics) adds it to your calendar."


def booking_confirmation_values(session: AppointmentSession) -> dict[str, Any]:
    """The email's placeholders: plain strings, so staff may reword it in the admin."""
    starts = session.slot_starts_at
    return {
        "first_name": session.customer.user.first_name,
        "appointment_type": session.appointment_type.name,
        "when": session.when_text,
        "when_short": dateformat.format(starts.astimezone(UK_TIME), "l j F \\a\\t H:i")
        if starts
        else "",
        "reference": session.reference,
        "calendar_note": CALENDAR_NOTE if starts else "",
        "home_link": settings.PORTAL_URL + reverse("home"),
    }


def booking_confirmation_render(user_id: int, params: dict[str, Any]) -> Message | None:
    try:
        session_id = uuid.UUID(str(params.get("session")))
    except ValueError:
        return None
    session = (
        AppointmentSession.objects.select_related("appointment_type", "customer__user")
        .filter(
            pk=session_id,
            customer__user_id=user_id,
            customer__user__is_active=True,
            booked_at__isnull=False,
        )
        .first()
    )
    if session is None:
        return None
    made = texts.email_render(kind=bookings.EMAIL_KIND, values=booking_confirmation_values(session))
    attachments: tuple[Attachment, ...] = ()
    if session.slot_starts_at is not None:
        attachments = (
            Attachment(ics.booking_filename(session), ics.booking_ics(session), ics.CONTENT_TYPE),
        )
    return Message(
        to=session.customer.user.email,
        subject=made.subject,
        body=made.body,
        html=made.html,
        attachments=attachments,
    )


def register() -> None:
    kinds.kind_register(bookings.EMAIL_KIND, booking_confirmation_render)
    texts.kind_register(
        texts.EmailKind(
            name=bookings.EMAIL_KIND,
            label="Booking confirmation",
            subject_template=f"{_T}_subject.txt",
            body_template=f"{_T}_body.txt",
            html_template=f"{_T}_body.html",
            placeholders={
                "first_name": "the customer's first name (may be empty)",
                "appointment_type": "the appointment type's name",
                "when": "the day and time in UK time, or that they are not known",
                "when_short": "the day and time, short, for the subject (empty when not known)",
                "reference": "the reference to quote when changing or cancelling",
                "calendar_note": "a line about the attached calendar file (empty without one)",
                "home_link": "the customer's bookings on the portal",
            },
            links=("home_link",),
            sample={
                "appointment_type": "Initial consultation",
                "when": "Monday 7 December 2026, 10:00 to 10:45 (UK time)",
                "when_short": "Monday 7 December at 10:00",
                "reference": "1A2B3C4D",
                "calendar_note": CALENDAR_NOTE,
            },
        )
    )
