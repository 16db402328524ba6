from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections.abc import Callable
from functools import wraps
from typing import Any

from axes.helpers import get_client_ip_address
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.db import DatabaseError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts import links
from accounts.views import not_linked
from appointments import booking_links, failures, leads, metrics, services
from appointments.models import AppointmentSession, AppointmentType, Customer, FlgFailure
from flg import sessions, webhooks
from flg.errors import FlgError

logger = logging.getLogger("appointments.views")

LIMIT_MESSAGE = (
    "You have opened a lot of booking screens in a short time. "
    "Please wait a minute, then try again."
)
NOT_LINKED_MESSAGE = "Your account is not linked to a booking record yet. Please contact us."
BOOKED_MESSAGE = "Your appointment is booked."
RETRY_AFTER = 30

CustomerView = Callable[..., HttpResponse]


def customer_required(view: CustomerView) -> Callable[..., HttpResponse]:
    """Signed in and linked to a lead: the view gets the customer; others see why not."""

    @wraps(view)
    @login_required
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        customer = services.customer_for_user(user=request.user)
        if customer is None:
            return not_linked(request)
        if links.booking_session_revoked(request, revision=customer.booking_links_revision):
            links.booking_session_end(request)
            return redirect_to_login(request.get_full_path())
        return view(request, customer, *args, **kwargs)

    return wrapper


def _page_url(session: AppointmentSession) -> str:
    return reverse(
        "session_page", kwargs={"slug": session.appointment_type.slug, "session_id": session.pk}
    )


def _log_flg_failure(exc: FlgError, customer: Customer) -> None:
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


def _start_failure_page(
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
    _log_flg_failure(exc, customer)
    return error_page(
        request,
        status=failures.http_status(exc),
        title="We could not open the booking screen",
        message=failures.customer_message(exc),
        retry_url=retry_url if exc.retryable else None,
        retry_post=retry_post,
        retry_after=RETRY_AFTER if exc.retryable else None,
    )


CONTACT_US_MESSAGE = (
    "Online booking is not open for your account just now. Please contact us and we will "
    "arrange your appointment with you."
)


def _contact_us_page(request: HttpRequest) -> HttpResponse:
    # FLG has the lead in a status staff chose to keep from booking online (FLG_WEBHOOK_...).
    return error_page(request, status=403, title="Please contact us", message=CONTACT_US_MESSAGE)


@require_GET
@customer_required
def home(request: HttpRequest, customer: Customer) -> HttpResponse:
    types = services.appointment_types_for_customer(customer=customer)
    bookings = services.bookings_recent(customer=customer)
    may_book = services.customer_may_book(customer=customer)
    return render(
        request,
        "appointments/home.html",
        {"customer": customer, "types": types, "bookings": bookings, "may_book": may_book},
    )


@require_http_methods(["GET", "POST"])
@customer_required
def session_start(request: HttpRequest, customer: Customer, slug: str) -> HttpResponse:
    if not services.customer_may_book(customer=customer):
        return _contact_us_page(request)
    appointment_type = services.appointment_type_for_customer(customer=customer, slug=slug)
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
        return _start_failure_page(
            request, exc, customer=customer, retry_url=retry_url, retry_post=True
        )
    return _see_other(_page_url(session))


def _booking_link_page(
    request: HttpRequest, slug: str, token: str
) -> tuple[AppointmentType | None, Customer | None]:
    appointment_type = AppointmentType.objects.filter(slug=slug, is_active=True).first()
    if appointment_type is None:
        return None, None
    customer = booking_links.booking_link_customer(token=token, appointment_type=appointment_type)
    return appointment_type, customer


def _booking_link_spent(
    request: HttpRequest, appointment_type: AppointmentType | None
) -> HttpResponse:
    # Signing in from here returns to the type's Book page.
    next_url = (
        reverse("session_start", kwargs={"slug": appointment_type.slug}) if appointment_type else ""
    )
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
        return _booking_link_spent(request, appointment_type)
    if not services.customer_may_book(customer=customer):
        return _contact_us_page(request)
    if request.method == "GET":
        context = {
            "appointment_type": appointment_type,
            "action": request.path,
            "who": links.masked_email(customer.user.email),
        }
        return render(request, "appointments/book.html", context)
    links.sign_in_for_booking(request, customer.user, revision=customer.booking_links_revision)
    return _start(request, customer, appointment_type)


def _see_other(url: str) -> HttpResponseRedirect:
    # 303: the browser follows with a GET, so a reload never posts again (post/redirect/get).
    response = HttpResponseRedirect(url)
    response.status_code = 303
    return response


@require_GET
@never_cache
@customer_required
def session_page(
    request: HttpRequest, customer: Customer, slug: str, session_id: uuid.UUID
) -> HttpResponse:
    session = services.session_for_customer(
        customer=customer, session_id=session_id, slug=slug, bookable_only=False
    )
    if session is not None and session.is_booked:
        # Booked: the confirmation, never a fresh screen inviting a second booking.
        return render(request, "appointments/booked.html", _booked_context(session))
    if not services.customer_may_book(customer=customer):
        return _contact_us_page(request)
    session = services.session_for_customer(customer=customer, session_id=session_id, slug=slug)
    if session is None:
        raise Http404("No such session for this customer.")
    if services.session_is_due(session):
        try:
            session = services.session_refresh(
                customer=customer, session=session, action=FlgFailure.Action.PAGE
            )
        except (FlgError, services.SessionLimitReached) as exc:
            return _start_failure_page(
                request, exc, customer=customer, retry_url=request.path, retry_post=False
            )
        if not services.session_is_due(session):
            return _see_other(_page_url(session))
        # FLG handed back a session that is already due: show it rather than loop.
    return render(request, "appointments/session.html", _session_context(session))


def _booked_context(session: AppointmentSession) -> dict[str, Any]:
    return {"session": session, "appointment_type": session.appointment_type}


def _session_context(session: AppointmentSession) -> dict[str, Any]:
    kwargs = {"slug": session.appointment_type.slug, "session_id": session.pk}
    return {
        "session": session,
        "appointment_type": session.appointment_type,
        "page_url": _page_url(session),
        "refresh_url": reverse("session_refresh", kwargs=kwargs),
        "booked_url": reverse("session_booked", kwargs=kwargs),
        "seconds_remaining": services.seconds_remaining(session),
        "closes_in": closes_in(services.seconds_remaining(session)),
        "refresh_margin": settings.BOOKING_REFRESH_MARGIN,
        "idle_refreshes": settings.BOOKING_IDLE_REFRESHES,
        # The booking screen's messages are read only from the origins it may be framed from.
        "booking_origins": " ".join(sessions.booking_origins()),
    }


def closes_in(seconds: int) -> str:
    """How long until a session closes, in words that read after "closes" (as booking.js)."""
    minutes = seconds // 60
    if minutes >= 2:
        return f"in about {minutes} minutes"
    if minutes == 1:
        return "in about a minute"
    return "in less than a minute"


def _json_error(code: str, message: str, status: int, **extra: Any) -> JsonResponse:
    response = JsonResponse({"error": code, "message": message}, status=status)
    for header, value in extra.items():
        response[header.replace("_", "-")] = str(value)
    return response


@require_POST
def session_refresh(request: HttpRequest, slug: str, session_id: uuid.UUID) -> JsonResponse:
    if not request.user.is_authenticated:
        return _json_error(
            "signed_out", "You have been signed out. Sign in again to carry on booking.", 401
        )
    customer = services.customer_for_user(user=request.user)
    if customer is None:
        return _json_error("not_linked", NOT_LINKED_MESSAGE, 403)
    if links.booking_session_revoked(request, revision=customer.booking_links_revision):
        links.booking_session_end(request)
        return _json_error("signed_out", links.BOOKING_LINK_REVOKED_MESSAGE, 401)
    if not services.customer_may_book(customer=customer):
        return _json_error("contact_us", CONTACT_US_MESSAGE, 403)
    session = services.session_for_customer(customer=customer, session_id=session_id, slug=slug)
    if session is None:
        return _json_error("not_found", "This booking session does not exist.", 404)
    if session.is_booked:
        # Booked in another tab: this one shows the confirmation instead of a fresh screen.
        return _json_error("booked", BOOKED_MESSAGE, 409, Cache_Control="no-store")
    try:
        fresh = services.session_refresh(customer=customer, session=session)
    except FlgError as exc:
        _log_flg_failure(exc, customer)
        extra = {"Retry_After": RETRY_AFTER} if exc.retryable else {}
        return _json_error(
            exc.code, failures.customer_message(exc), failures.http_status(exc), **extra
        )
    except services.SessionLimitReached as exc:
        return _json_error("rate_limited", LIMIT_MESSAGE, 429, Retry_After=exc.retry_after)
    response = JsonResponse(
        {
            "id": str(fresh.pk),
            "publicUrl": fresh.public_url,
            "closesAt": fresh.closes_at.astimezone(dt.UTC)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "secondsRemaining": services.seconds_remaining(fresh),
            "pageUrl": _page_url(fresh),
        }
    )
    response["Cache-Control"] = "no-store"
    return response


@require_POST
def session_booked(request: HttpRequest, slug: str, session_id: uuid.UUID) -> JsonResponse:
    """The booking page reports that the booking screen confirmed a booking (idempotent)."""
    if not request.user.is_authenticated:
        return _json_error(
            "signed_out", "You have been signed out. Sign in again to carry on booking.", 401
        )
    customer = services.customer_for_user(user=request.user)
    if customer is None:
        return _json_error("not_linked", NOT_LINKED_MESSAGE, 403)
    session = services.session_for_customer(
        customer=customer, session_id=session_id, slug=slug, bookable_only=False
    )
    if session is None:
        return _json_error("not_found", "This booking session does not exist.", 404)
    session = services.session_mark_booked(customer=customer, session=session)
    assert session.booked_at is not None  # just recorded
    response = JsonResponse(
        {
            "booked": True,
            "bookedAt": session.booked_at.astimezone(dt.UTC)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "message": BOOKED_MESSAGE,
        }
    )
    response["Cache-Control"] = "no-store"
    return response


# --- FLG 360's lead webhook -------------------------------------------------------------------


def _content_length(request: HttpRequest) -> int:
    try:
        return max(0, int(request.META.get("CONTENT_LENGTH") or 0))
    except ValueError:
        return 0


def _too_large() -> JsonResponse:
    return _json_error(
        "too_large", f"The body is over {webhooks.MAX_BODY_BYTES // 1024} KiB; no lead is.", 413
    )


# FLG signs nothing: the token in the URL is the only gate, so an unknown one gets the same 404
# as an address that does not exist. The access log shows the path with the token masked.
@csrf_exempt
@never_cache
def lead_webhook(request: HttpRequest, token: str) -> HttpResponse:
    if not leads.webhook_token_valid(token):
        raise Http404("No such page.")
    response = _lead_delivery(request)
    # Deliveries that were applied are counted with their outcome where they are recorded.
    if response.status_code >= 500:
        metrics.webhook_deliveries.labels("unavailable").inc()
    elif response.status_code >= 400:
        metrics.webhook_deliveries.labels("refused").inc()
    return response


def _lead_delivery(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        response = _json_error("method_not_allowed", "FLG 360 posts leads here: use POST.", 405)
        response["Allow"] = "POST"
        return response
    if _content_length(request) > webhooks.MAX_BODY_BYTES:
        return _too_large()
    if not webhooks.is_form(request.content_type or ""):
        return _json_error(
            "unsupported_media_type",
            f"Send the lead form-encoded ({webhooks.CONTENT_TYPE}), as FLG 360 does.",
            415,
        )
    body = request.read(webhooks.MAX_BODY_BYTES + 1)
    if len(body) > webhooks.MAX_BODY_BYTES:
        return _too_large()
    charset = (request.content_params or {}).get("charset")
    try:
        delivery = webhooks.payload_parse(body, charset=charset)
    except webhooks.DeliveryInvalid as exc:
        return _json_error(exc.code, exc.message, 400)
    try:
        record = leads.lead_upsert(delivery=delivery, source=get_client_ip_address(request))
    except DatabaseError:
        logger.exception("Lead delivery for lead %s not applied", delivery.lead_id)
        return _json_error(
            "unavailable", "The portal could not store the lead just now; send it again.", 503
        )
    answer = {"outcome": record.outcome, "lead": record.lead_id}
    if record.reason:
        answer["reason"] = record.reason
    return JsonResponse(answer)
