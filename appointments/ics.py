"""A booking as a calendar file (iCalendar, RFC 5545), made with the `icalendar` package.

The same file goes with the confirmation email and is offered on home for each upcoming
booking: one event, times in UTC, a UID derived from the session id so that a second import
(from the email, then from home) updates the event instead of adding another.
"""

from __future__ import annotations

import icalendar

from appointments.models import AppointmentSession
from business import branding

CONTENT_TYPE = "text/calendar; charset=utf-8; method=PUBLISH"
PRODID = "-//FLG booking portal//Appointments//EN"


def booking_uid(session: AppointmentSession) -> str:
    """Stable for the session: the same booking is the same event in every calendar."""
    return f"appointment-session-{session.pk}@flg-booking-portal"


def booking_filename(session: AppointmentSession) -> str:
    return f"appointment-{session.reference}.ics"


def booking_ics(session: AppointmentSession) -> bytes:
    """The booking's event; the session must be booked with a known slot."""
    if session.slot_starts_at is None or session.slot_ends_at is None or not session.booked_at:
        raise ValueError("Only a booking with a known day and time has a calendar file.")
    calendar = icalendar.Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    event = icalendar.Event()
    event.add("uid", booking_uid(session))
    # When the booking was made: the same in every copy of the file.
    event.add("dtstamp", session.booked_at)
    event.add("dtstart", session.slot_starts_at)
    event.add("dtend", session.slot_ends_at)
    brand = branding.email_context()  # the business's own name and contacts
    event.add("summary", f"{session.appointment_type.name} ({brand['portal_name']})")
    contact = brand["support_email"]
    if brand["support_phone"]:
        contact += f" or {brand['support_phone']}"
    event.add(
        "description",
        f"Booked through {brand['portal_name']}. To change or cancel, contact us at "
        f"{contact}, quoting reference {session.reference}.",
    )
    event.add("status", "CONFIRMED")
    event.add("sequence", 0)
    event.add("transp", "OPAQUE")
    calendar.add_component(event)
    return bytes(calendar.to_ical())
