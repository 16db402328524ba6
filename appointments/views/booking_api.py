"""The booking page's JSON endpoints, for static/js/booking.js: a fresh session when the one
on screen is due; "it is booked" (the booking screen said so, with the slot when it said which,
or the customer did); and whether it is booked yet (another tab asking). All sit behind
`session_json`, which answers the page's script in JSON whatever goes wrong (never a sign-in
redirect)."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.http import HttpRequest, JsonResponse
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from accounts import links
from appointments import bookings, failures, offered, services
from appointments.models import AppointmentSession, BookedVia, Customer
from appointments.views.common import (
    BOOKED_MESSAGE,
    CONTACT_US_MESSAGE,
    LIMIT_MESSAGE,
    NOT_LINKED_MESSAGE,
    RETRY_AFTER,
    flg_failure_log,
    json_error,
    page_url,
)
from flg.errors import FlgError

SIGNED_OUT_MESSAGE = "You have been signed out. Sign in again to carry on booking."

SessionView = Callable[[HttpRequest, Customer, AppointmentSession], JsonResponse]


def _utc(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _no_store(response: JsonResponse) -> JsonResponse:
    response["Cache-Control"] = "no-store"
    return response


def session_json(
    *, bookable: bool, method: str = "POST"
) -> Callable[[SessionView], Callable[..., JsonResponse]]:
    """`method` only; the signed-in customer's own session of this type, or a JSON error.

    `bookable`: the customer must still be allowed to book, and the type still offered to them
    (a refresh); otherwise any of their sessions at this address will do (a booking report, which
    records what already happened at FLG even if booking has since been closed to them).
    """

    def decorate(view: SessionView) -> Callable[..., JsonResponse]:
        @require_http_methods([method])
        @wraps(view)
        def wrapper(request: HttpRequest, slug: str, session_id: uuid.UUID) -> JsonResponse:
            if not request.user.is_authenticated:
                return json_error("signed_out", SIGNED_OUT_MESSAGE, 401)
            customer = offered.customer_for_user(user=request.user)
            if customer is None:
                return json_error("not_linked", NOT_LINKED_MESSAGE, 403)
            if bookable:
                revision = customer.booking_links_revision
                if links.booking_session_revoked(request, revision=revision):
                    links.booking_session_end(request)
                    return json_error("signed_out", links.BOOKING_LINK_REVOKED_MESSAGE, 401)
                if not offered.customer_may_book(customer=customer):
                    return json_error("contact_us", CONTACT_US_MESSAGE, 403)
            session = offered.session_for_customer(
                customer=customer, session_id=session_id, slug=slug, bookable_only=bookable
            )
            if session is None:
                return json_error("not_found", "This booking session does not exist.", 404)
            return _no_store(view(request, customer, session))

        return wrapper

    return decorate


@session_json(bookable=True)
def session_refresh(
    request: HttpRequest, customer: Customer, session: AppointmentSession
) -> JsonResponse:
    if session.is_booked:
        # Booked in another tab: this one shows the confirmation instead of a fresh screen.
        return json_error("booked", BOOKED_MESSAGE, 409)
    try:
        fresh = services.session_refresh(customer=customer, session=session)
    except FlgError as exc:
        flg_failure_log(exc, customer)
        extra: dict[str, Any] = {"Retry_After": RETRY_AFTER} if exc.retryable else {}
        return json_error(
            exc.code, failures.customer_message(exc), failures.http_status(exc), **extra
        )
    except services.SessionLimitReached as exc:
        return json_error("rate_limited", LIMIT_MESSAGE, 429, Retry_After=exc.retry_after)
    return JsonResponse(
        {
            "id": str(fresh.pk),
            "publicUrl": fresh.public_url,
            "closesAt": _utc(fresh.closes_at),
            "secondsRemaining": services.seconds_remaining(fresh),
            "pageUrl": page_url(fresh),
            "flgSessionId": str(fresh.flg_session_id),
            "reference": fresh.reference,
        }
    )


def _booking_json(session: AppointmentSession) -> dict[str, Any]:
    """What a tab needs to show the confirmation: when, and how we know."""
    starts, ends = session.slot_starts_at, session.slot_ends_at
    return {
        "booked": session.is_booked,
        "bookedAt": _utc(session.booked_at) if session.booked_at else None,
        "bookedVia": session.booked_via or None,
        "slot": {"start": _utc(starts), "end": _utc(ends)} if starts and ends else None,
        "message": BOOKED_MESSAGE if session.is_booked else "",
        "when": session.when_text,
        "reference": session.reference,
        "calendarUrl": (
            reverse("booking_calendar", kwargs={"session_id": session.pk}) if starts else None
        ),
        # The confirmation page, which says the day and time (or that they are not known).
        "pageUrl": page_url(session),
    }


def _report(request: HttpRequest) -> dict[str, Any]:
    if request.content_type != "application/json":
        return {}  # the report's first form: a plain POST, saying only "booked"
    try:
        report = json.loads(request.body)
    except (ValueError, UnicodeDecodeError):
        raise bookings.SlotInvalid("The report is not JSON.") from None
    if not isinstance(report, dict):
        raise bookings.SlotInvalid("The report must be a JSON object.")
    return report


@session_json(bookable=False)
def session_booked(
    request: HttpRequest, customer: Customer, session: AppointmentSession
) -> JsonResponse:
    """The booking page reports a booking (idempotent): the booking screen said so, with the
    slot's start and end when it said which (`{"start", "end"}`, ISO 8601 with offsets), or
    the customer did (`{"via": "customer"}`)."""
    try:
        report = _report(request)
        via = report.get("via", BookedVia.SCREEN)
        if via not in BookedVia.values:
            raise bookings.SlotInvalid('"via" is "screen" or "customer".')
        slot = bookings.slot_parse(
            start=report.get("start"), end=report.get("end"), session=session
        )
    except bookings.SlotInvalid as exc:
        return json_error("bad_report", str(exc), 400)
    session = bookings.booking_record(customer=customer, session=session, via=via, slot=slot)
    return JsonResponse(_booking_json(session))


@session_json(bookable=False, method="GET")
def session_status(
    request: HttpRequest, customer: Customer, session: AppointmentSession
) -> JsonResponse:
    """Whether the session is booked yet: a tab coming back into view asks."""
    return JsonResponse(_booking_json(session))
