from __future__ import annotations

import datetime as dt
import logging
import uuid
from typing import Any

from django.conf import settings
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.urls import reverse, reverse_lazy
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST
from django.views.generic import FormView

from appointments import flg, invites, services
from appointments.forms import InviteRequestForm
from appointments.models import AppointmentSession, Customer, FlgFailure
from bookingportal.middleware import frame_sources

logger = logging.getLogger("appointments.views")

LIMIT_MESSAGE = (
    "You have opened a lot of booking screens in a short time. "
    "Please wait a minute, then try again."
)
NOT_LINKED_MESSAGE = "Your account is not linked to a booking record yet. Please contact us."


def _not_linked(request: HttpRequest) -> HttpResponse:
    return render(request, "appointments/not_linked.html")


def _page_url(session: AppointmentSession) -> str:
    return reverse(
        "session_page", kwargs={"slug": session.appointment_type.slug, "session_id": session.pk}
    )


def _log_flg_failure(request: HttpRequest, exc: flg.FlgError, customer: Customer) -> None:
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


def _flg_error_page(
    request: HttpRequest, exc: flg.FlgError, *, retry_url: str, retry_post: bool
) -> HttpResponse:
    return error_page(
        request,
        status=exc.http_status,
        title="We could not open the booking screen",
        message=exc.customer_message,
        retry_url=retry_url if exc.retryable else None,
        retry_post=retry_post,
        retry_after=30 if exc.retryable else None,
    )


def _limit_page(request: HttpRequest, exc: services.SessionLimitReached) -> HttpResponse:
    return error_page(
        request,
        status=429,
        title="Please wait a moment",
        message=LIMIT_MESSAGE,
        retry_url=reverse("home"),
        retry_after=exc.retry_after,
    )


@require_GET
@login_required
def home(request: HttpRequest) -> HttpResponse:
    customer = services.customer_for_user(user=request.user)
    if customer is None:
        return _not_linked(request)
    types = services.appointment_types_for_customer(customer=customer)
    return render(request, "appointments/home.html", {"customer": customer, "types": types})


@require_POST
@login_required
def session_start(request: HttpRequest, slug: str) -> HttpResponse:
    customer = services.customer_for_user(user=request.user)
    if customer is None:
        return _not_linked(request)
    appointment_type = services.appointment_type_for_customer(customer=customer, slug=slug)
    if appointment_type is None:
        raise Http404("No such appointment type for this customer.")
    try:
        session = services.session_start(
            customer=customer,
            appointment_type=appointment_type,
            force_new=request.POST.get("start_over") == "1",
        )
    except flg.FlgError as exc:
        _log_flg_failure(request, exc, customer)
        return _flg_error_page(
            request,
            exc,
            retry_url=reverse("session_start", kwargs={"slug": slug}),
            retry_post=True,
        )
    except services.SessionLimitReached as exc:
        return _limit_page(request, exc)
    return _see_other(_page_url(session))


def _see_other(url: str) -> HttpResponseRedirect:
    # 303: the browser follows with a GET, so a reload never posts again (post/redirect/get).
    response = HttpResponseRedirect(url)
    response.status_code = 303
    return response


@require_GET
@never_cache
@login_required
def session_page(request: HttpRequest, slug: str, session_id: uuid.UUID) -> HttpResponse:
    customer = services.customer_for_user(user=request.user)
    if customer is None:
        return _not_linked(request)
    session = services.session_for_customer(customer=customer, session_id=session_id, slug=slug)
    if session is None:
        raise Http404("No such session for this customer.")
    if services.session_is_due(session):
        try:
            session = services.session_refresh(
                customer=customer, session=session, action=FlgFailure.Action.PAGE
            )
        except flg.FlgError as exc:
            _log_flg_failure(request, exc, customer)
            return _flg_error_page(request, exc, retry_url=request.path, retry_post=False)
        except services.SessionLimitReached as exc:
            return _limit_page(request, exc)
        if not services.session_is_due(session):
            return _see_other(_page_url(session))
        # FLG handed back a session that is already due: show it rather than loop.
    return render(request, "appointments/session.html", _session_context(session))


def _session_context(session: AppointmentSession) -> dict[str, Any]:
    return {
        "session": session,
        "appointment_type": session.appointment_type,
        "page_url": _page_url(session),
        "refresh_url": reverse(
            "session_refresh",
            kwargs={"slug": session.appointment_type.slug, "session_id": session.pk},
        ),
        "seconds_remaining": services.seconds_remaining(session),
        "minutes_remaining": services.seconds_remaining(session) // 60,
        "refresh_margin": settings.BOOKING_REFRESH_MARGIN,
        "booking_origins": " ".join(_origins()),
    }


def _origins() -> list[str]:
    # The booking screen's messages are read only from the origins it may be framed from.
    return frame_sources(flg.booking_hosts())


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
    session = services.session_for_customer(customer=customer, session_id=session_id, slug=slug)
    if session is None:
        return _json_error("not_found", "This booking session does not exist.", 404)
    try:
        fresh = services.session_refresh(customer=customer, session=session)
    except flg.FlgError as exc:
        _log_flg_failure(request, exc, customer)
        extra = {"Retry_After": 30} if exc.retryable else {}
        return _json_error(exc.code, exc.customer_message, exc.http_status, **extra)
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


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """A form that failed the CSRF check: say so in the portal's layout; nothing changed."""
    return render(request, "403_csrf.html", status=403)


def lockout(request: HttpRequest, response: Any = None, credentials: Any = None) -> HttpResponse:
    """Too many wrong passwords from this address for this email: say when to try again."""
    minutes = settings.AXES_COOLOFF_MINUTES
    retry_at = timezone.localtime(timezone.now() + dt.timedelta(minutes=minutes))
    page = render(
        request,
        "registration/lockout.html",
        {"minutes": minutes, "retry_at": retry_at},
        status=429,
    )
    page["Retry-After"] = str(minutes * 60)
    return page


class InviteAcceptView(auth_views.PasswordResetConfirmView):
    """An invited customer chooses a password and is signed in straight away."""

    template_name = "registration/invite_confirm.html"
    post_reset_login = True
    post_reset_login_backend = "appointments.backends.EmailBackend"
    success_url = reverse_lazy("home")


class InviteRenewView(FormView):
    """A customer whose invitation expired asks for a new one (the reset form skips them)."""

    template_name = "registration/invite_renew.html"
    form_class = InviteRequestForm
    success_url = reverse_lazy("password_reset_done")

    def form_valid(self, form: InviteRequestForm) -> HttpResponse:
        invites.invite_renew(
            email=form.cleaned_data["email"], base_url=self.request.build_absolute_uri("/")
        )
        return super().form_valid(form)
