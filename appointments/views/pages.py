"""The customer's pages: home, a type's Book page, personal booking links, and the booking
page (the FLG screen in a frame, its countdown, and the confirmation once booked)."""

from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from accounts import links
from appointments import booking_links, bookings, ics, offered, services
from appointments.models import AppointmentSession, AppointmentType, Customer, FlgFailure
from appointments.views.common import (
    contact_us_page,
    customer_required,
    page_url,
    see_other,
    start_failure_page,
)
from flg import sessions
from flg.errors import FlgError


@require_GET
@customer_required
def home(request: HttpRequest, customer: Customer) -> HttpResponse:
    return render(request, "appointments/home.html", home_context(customer))


def home_context(customer: Customer) -> dict[str, Any]:
    """What home shows: the types the customer may book, and their bookings."""
    types = offered.appointment_types_for_customer(customer=customer)
    upcoming, past = bookings.bookings_home(customer=customer)
    return {
        "customer": customer,
        "types": types,
        "upcoming": upcoming,
        "past": past,
        "may_book": offered.customer_may_book(customer=customer),
    }


@require_GET
@never_cache
@customer_required
def booking_calendar(
    request: HttpRequest, customer: Customer, session_id: uuid.UUID
) -> HttpResponse:
    """The booking's calendar file, as the confirmation email attaches it; owner only."""
    session = bookings.booking_for_customer(customer=customer, session_id=session_id)
    if session is None:
        raise Http404("No booking with a known time for this customer.")
    response = HttpResponse(ics.booking_ics(session), content_type=ics.CONTENT_TYPE)
    response["Content-Disposition"] = f'attachment; filename="{ics.booking_filename(session)}"'
    return response


@require_http_methods(["GET", "POST"])
@customer_required
def session_start(request: HttpRequest, customer: Customer, slug: str) -> HttpResponse:
    if not offered.customer_may_book(customer=customer):
        return contact_us_page(request)
    appointment_type = offered.appointment_type_for_customer(customer=customer, slug=slug)
    if appointment_type is None:
        raise Http404("No such appointment type for this customer.")
    if request.method == "GET":
        # The type's own page with its Book button: where a sign-in that began here returns.
        return render(
            request,
            "appointments/book.html",
            {"appointment_type": appointment_type, "action": request.path},
        )
    return _start(request, customer, appointment_type)


def _start(
    request: HttpRequest, customer: Customer, appointment_type: AppointmentType
) -> HttpResponse:
    slug = appointment_type.slug
    try:
        session = services.session_start(
            customer=customer,
            appointment_type=appointment_type,
            force_new=request.POST.get("start_over") == "1",
        )
    except (FlgError, services.SessionLimitReached) as exc:
        retry_url = reverse("session_start", kwargs={"slug": slug})
        return start_failure_page(
            request, exc, customer=customer, retry_url=retry_url, retry_post=True
        )
    return see_other(page_url(session))


def _booking_link_page(
    request: HttpRequest, slug: str, token: str
) -> tuple[AppointmentType | None, Customer | None]:
    appointment_type = AppointmentType.objects.filter(slug=slug, is_active=True).first()
    if appointment_type is None:
        return None, None
    customer = booking_links.booking_link_customer(token=token, appointment_type=appointment_type)
    return appointment_type, customer


def _booking_link_spent(
    request: HttpRequest, appointment_type: AppointmentType | None, token: str
) -> HttpResponse:
    # Signing in from here returns to the type's Book page.
    next_url = (
        reverse("session_start", kwargs={"slug": appointment_type.slug}) if appointment_type else ""
    )
    if request.user.is_authenticated:
        # No sign-in form for someone signed in: their own link goes on to the Book page.
        owner = None
        if appointment_type is not None:
            owner = booking_links.booking_link_owner(token=token, appointment_type=appointment_type)
        customer = Customer.objects.filter(user=owner).first() if owner else None
        if customer is None or not offered.appointment_type_for_customer(
            customer=customer, slug=appointment_type.slug if appointment_type else ""
        ):
            next_url = ""  # not a type they may book (any more): home instead
        onward = links.link_onward_signed_in(request, owner=owner, next_url=next_url)
        if onward is not None:
            return onward
    return render(request, "appointments/booking_link_spent.html", {"next": next_url}, status=410)


# The booking links being opened, by type slug, moved out of the address into the session:
# the Book page's address then holds no token, so neither a log line nor a Referer can.
LINKS_IN_SESSION = "appointments.booking_links"


@never_cache
@require_GET
def booking_link(request: HttpRequest, slug: str, token: str) -> HttpResponse:
    """Opening a personal booking link: the token goes into the session, and the browser to
    the type's Book page; the redirect renders nothing that could send the token on."""
    opened = request.session.get(LINKS_IN_SESSION) or {}
    request.session[LINKS_IN_SESSION] = {**opened, slug: token}
    return HttpResponseRedirect(reverse("booking_link_start", kwargs={"slug": slug}))


@never_cache
@require_http_methods(["GET", "POST"])
def booking_link_start(request: HttpRequest, slug: str) -> HttpResponse:
    """A personal booking link's Book page; opening it changes nothing (mail scanners open
    every link), and only the button's POST signs in (for booking only) and books."""
    opened = request.session.get(LINKS_IN_SESSION) or {}
    # A page rendered before the token moved to the session still posts it in the body.
    token = opened.get(slug) or request.POST.get("token", "")
    appointment_type, customer = _booking_link_page(request, slug, token)
    if appointment_type is None or customer is None:
        return _booking_link_spent(request, appointment_type, token)
    if not offered.customer_may_book(customer=customer):
        return contact_us_page(request)
    if request.method == "GET":
        context = {
            "appointment_type": appointment_type,
            "action": request.path,
            "who": links.masked_email(customer.user.email),
        }
        return render(request, "appointments/book.html", context)
    links.sign_in_for_booking(request, customer.user, revision=customer.booking_links_revision)
    return _start(request, customer, appointment_type)


@require_GET
@never_cache
@customer_required
def session_page(
    request: HttpRequest, customer: Customer, slug: str, session_id: uuid.UUID
) -> HttpResponse:
    session, bookable = offered.session_with_bookable(
        customer=customer, session_id=session_id, slug=slug
    )
    if session is not None and session.is_booked:
        # Booked: the confirmation, never a fresh screen inviting a second booking.
        return render(request, "appointments/booked.html", _booked_context(session))
    if not offered.customer_may_book(customer=customer):
        return contact_us_page(request)
    if session is None or not bookable:
        raise Http404("No such session for this customer.")
    if services.session_is_due(session):
        try:
            session = services.session_refresh(
                customer=customer, session=session, action=FlgFailure.Action.PAGE
            )
        except (FlgError, services.SessionLimitReached) as exc:
            return start_failure_page(
                request, exc, customer=customer, retry_url=request.path, retry_post=False
            )
        if not services.session_is_due(session):
            return see_other(page_url(session))
        # FLG handed back a session that is already due: show it rather than loop.
    response = render(request, "appointments/session.html", _session_context(session))
    # The booking screen opened in a new window reports a booking to this page (its opener):
    # under COOP same-origin the browser would cut that link for a window on FLG's origin.
    response["Cross-Origin-Opener-Policy"] = "same-origin-allow-popups"
    return response


def _booked_context(session: AppointmentSession) -> dict[str, Any]:
    return {"session": session, "appointment_type": session.appointment_type}


def _session_context(session: AppointmentSession) -> dict[str, Any]:
    kwargs = {"slug": session.appointment_type.slug, "session_id": session.pk}
    return {
        "session": session,
        "appointment_type": session.appointment_type,
        "page_url": page_url(session),
        "refresh_url": reverse("session_refresh", kwargs=kwargs),
        "booked_url": reverse("session_booked", kwargs=kwargs),
        "status_url": reverse("session_status", kwargs=kwargs),
        "seconds_remaining": services.seconds_remaining(session),
        "closes_in": closes_in(services.seconds_remaining(session)),
        "closes_rule": CLOSES_RULE,
        "refresh_margin": settings.BOOKING_REFRESH_MARGIN,
        "idle_refreshes": settings.BOOKING_IDLE_REFRESHES,
        # The booking screen's messages are read only from the origins it may be framed from.
        "booking_origins": " ".join(sessions.booking_origins()),
    }


# What happens when the screen closes, said the same way by the page and its script.
CLOSES_RULE = "If it closes before you have booked, a fresh one opens in its place."


def closes_in(seconds: int) -> str:
    """How long until a session closes, in words that read after "closes" (as booking.js)."""
    minutes = seconds // 60
    if minutes >= 2:
        return f"in about {minutes} minutes"
    if minutes == 1:
        return "in about a minute"
    return "in less than a minute"
