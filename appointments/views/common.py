"""What the customer pages and the booking page's endpoints share: who the customer is, and
how a failure is shown (a page in the portal's layout, or JSON for the page's script)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.urls import reverse

from accounts import links
from accounts.views import not_linked
from appointments import failures, offered, services
from appointments.models import AppointmentSession, Customer
from flg.errors import FlgError

# One logger for the package: staff's log filters and alerts name it.
logger = logging.getLogger("appointments.views")

LIMIT_MESSAGE = (
    "You have opened a lot of booking screens in a short time. "
    "Please wait a minute, then try again."
)
NOT_LINKED_MESSAGE = "Your account is not linked to a booking record yet. Please contact us."
BOOKED_MESSAGE = "Your appointment is booked."
CONTACT_US_MESSAGE = (
    "Online booking is not open for your account just now. Please contact us and we will "
    "arrange your appointment with you."
)
RETRY_AFTER = 30

CustomerView = Callable[..., HttpResponse]


def customer_required(view: CustomerView) -> Callable[..., HttpResponse]:
    """Signed in and linked to a lead: the view gets the customer; others see why not."""

    @wraps(view)
    @login_required
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        customer = offered.customer_for_user(user=request.user)
        if customer is None:
            return not_linked(request)
        if links.booking_session_revoked(request, revision=customer.booking_links_revision):
            links.booking_session_end(request)
            return redirect_to_login(request.get_full_path())
        return view(request, customer, *args, **kwargs)

    return wrapper


def page_url(session: AppointmentSession) -> str:
    return reverse(
        "session_page", kwargs={"slug": session.appointment_type.slug, "session_id": session.pk}
    )


def see_other(url: str) -> HttpResponseRedirect:
    # 303: the browser follows with a GET, so a reload never posts again (post/redirect/get).
    response = HttpResponseRedirect(url)
    response.status_code = 303
    return response


def flg_failure_log(exc: FlgError, customer: Customer) -> None:
    logger.warning(
        "FLG could not create a session for customer %s: %s",
        customer.pk,
        exc.detail,
        extra={"event": "flg_failure", "outcome": exc.code, "customer_id": customer.pk},
    )


def error_page(
    request: HttpRequest,
    *,
    status: int,
    title: str,
    message: str,
    retry_url: str | None = None,
    retry_post: bool = False,
    retry_after: int | None = None,
) -> HttpResponse:
    """A failure in the portal's layout: what happened, what to do, and whom to contact."""
    response = render(
        request,
        "appointments/error.html",
        {
            "title": title,
            "message": message,
            "retry_url": retry_url,
            "retry_post": retry_post,
        },
        status=status,
    )
    if retry_after is not None:
        response["Retry-After"] = str(retry_after)
    return response


def start_failure_page(
    request: HttpRequest,
    exc: FlgError | services.SessionLimitReached,
    *,
    customer: Customer,
    retry_url: str,
    retry_post: bool,
) -> HttpResponse:
    """The page for a start or refresh that FLG or the session limit refused."""
    if isinstance(exc, services.SessionLimitReached):
        return error_page(
            request,
            status=429,
            title="Please wait a moment",
            message=LIMIT_MESSAGE,
            retry_url=reverse("home"),
            retry_after=exc.retry_after,
        )
    flg_failure_log(exc, customer)
    return error_page(
        request,
        status=failures.http_status(exc),
        title="We could not open the booking screen",
        message=failures.customer_message(exc),
        retry_url=retry_url if exc.retryable else None,
        retry_post=retry_post,
        retry_after=RETRY_AFTER if exc.retryable else None,
    )


def contact_us_page(request: HttpRequest) -> HttpResponse:
    # FLG has the lead in a status staff chose to keep from booking online (FLG_WEBHOOK_...).
    return error_page(request, status=403, title="Please contact us", message=CONTACT_US_MESSAGE)


def json_error(code: str, message: str, status: int, **extra: Any) -> JsonResponse:
    """An error for the page's script: a code it acts on, and a sentence it shows."""
    response = JsonResponse({"error": code, "message": message}, status=status)
    for header, value in extra.items():
        response[header.replace("_", "-")] = str(value)
    return response
