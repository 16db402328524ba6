"""The booking confirmation email, made in the worker from ids (see accounts/emails.py).

A booking queues it (appointments.bookings.booking_record) with the session's id only; the
worker reads the session at send time and renders the templates under
templates/appointments/emails/, attaching the calendar file when the slot's time is known.
Registered with the outbox in AppointmentsConfig.ready().
"""

from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.template.loader import render_to_string
from django.urls import reverse

from accounts import invites
from appointments import bookings, ics
from appointments.models import AppointmentSession
from outbox import kinds
from outbox.kinds import Attachment, Message

TEMPLATES = "appointments/emails/booking_confirmation"


def booking_confirmation_context(session: AppointmentSession) -> dict[str, Any]:
    return {
        **invites.email_context(),
        "user": session.customer.user,
        "session": session,
        "appointment_type": session.appointment_type,
        "reference": session.reference,
        "told_us": session.booked_via == "customer",
        "home_url": settings.PORTAL_URL + reverse("home"),
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
    context = booking_confirmation_context(session)
    subject = render_to_string(f"{TEMPLATES}_subject.txt", context)
    attachments: tuple[Attachment, ...] = ()
    if session.slot_starts_at is not None:
        attachments = (
            Attachment(ics.booking_filename(session), ics.booking_ics(session), ics.CONTENT_TYPE),
        )
    return Message(
        to=session.customer.user.email,
        # A subject must not hold a line break.
        subject="".join(subject.splitlines()).strip(),
        body=render_to_string(f"{TEMPLATES}_body.txt", context),
        html=render_to_string(f"{TEMPLATES}_body.html", context),
        attachments=attachments,
    )


def register() -> None:
    kinds.kind_register(bookings.EMAIL_KIND, booking_confirmation_render)
