"""The booking page's JSON endpoints, for static/js/booking.js: a fresh session when the one
on screen is due, and "the booking screen says it is booked". Both sit behind `session_json`,
which answers the page's script in JSON whatever goes wrong (never a sign-in redirect)."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_POST

from accounts import links
from appointments import failures, services
from appointments.models import AppointmentSession, Customer
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


def session_json(*, bookable: bool) -> Callable[[SessionView], Callable[..., JsonResponse]]:
    """POST only; the signed-in customer's own session of this type, or a JSON error.

    `bookable`: the customer must still be allowed to book, and the type still offered to them
    (a refresh); otherwise any of their sessions at this address will do (a booking report, which
    records what already happened at FLG even if booking has since been closed to them).
    """

    def decorate(view: SessionView) -> Callable[..., JsonResponse]:
        @require_POST
        @wraps(view)
        def wrapper(request: HttpRequest, slug: str, session_id: uuid.UUID) -> JsonResponse:
            if not request.user.is_authenticated:
                return json_error("signed_out", SIGNED_OUT_MESSAGE, 401)
            customer = services.customer_for_user(user=request.user)
            if customer is None:
                return json_error("not_linked", NOT_LINKED_MESSAGE, 403)
            if bookable:
                revision = customer.booking_links_revision
                if links.booking_session_revoked(request, revision=revision):
                    links.booking_session_end(request)
                    return json_error("signed_out", links.BOOKING_LINK_REVOKED_MESSAGE, 401)
                if not services.customer_may_book(customer=customer):
                    return json_error("contact_us", CONTACT_US_MESSAGE, 403)
            session = services.session_for_customer(
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
        }
    )


@session_json(bookable=False)
def session_booked(
    request: HttpRequest, customer: Customer, session: AppointmentSession
) -> JsonResponse:
    """The booking page reports that the booking screen confirmed a booking (idempotent)."""
    session = services.session_mark_booked(customer=customer, session=session)
    assert session.booked_at is not None  # just recorded
    return JsonResponse(
        {"booked": True, "bookedAt": _utc(session.booked_at), "message": BOOKED_MESSAGE}
    )
