"""FLG 360 on loopback: the appointment sessions endpoint and the booking screen."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from functools import wraps
from typing import Any
from urllib.parse import urlsplit

from csp.decorators import csp_replace
from django.conf import settings
from django.contrib.admin.views.decorators import staff_member_required
from django.contrib.auth.views import redirect_to_login
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from flg_sandbox import services
from flg_sandbox.models import AccessKey, AppointmentType, Email, Fault, Lead, Session


def _fault_response(mode: str, fault: Fault) -> HttpResponse | None:
    if mode in (Fault.Mode.TOO_MANY, Fault.Mode.ERROR, Fault.Mode.UNAVAILABLE):
        response = JsonResponse({"message": f"Injected fault: {mode}"}, status=int(mode))
        if mode == Fault.Mode.TOO_MANY:
            response["Retry-After"] = "30"
        return response
    if mode == Fault.Mode.HANG:
        # Count the call now: a client that gave up must not see it counted later, and the
        # connection goes back first so a long hang cannot starve the database.
        services.api_call_record(status=503, fault=mode)
        connection.close()
        time.sleep(fault.hang_seconds)
        return JsonResponse({"message": "Injected fault: hang"}, status=503)
    if mode == Fault.Mode.MALFORMED:
        return HttpResponse(
            b'{"sessionId": "0260be7f-7c73-45ae-a1d0-2c73281', content_type="application/json"
        )
    if mode == Fault.Mode.HTML:
        return HttpResponse(
            b"<!doctype html><html><body><h1>Maintenance</h1></body></html>",
            content_type="text/html; charset=utf-8",
        )
    return None


@csrf_exempt
@require_POST
def api_sessions(request: HttpRequest) -> HttpResponse:
    # An injected latency is FLG's answer time: the answer leaves that long after the call
    # came, the stand-in's own work included (a real FLG's latency includes its own), so a
    # benchmark's "FLG took 200 ms" is FLG's 200 ms and not the sandbox's work on top.
    arrived = time.monotonic()
    response, latency_ms = _api_answer(request)
    if latency_ms:
        # The connection goes back first: a stand-in FLG slowed down for a benchmark must not
        # hold a database connection per waiting call (the portal's own need them).
        connection.close()
        time.sleep(max(0.0, arrived + latency_ms / 1000 - time.monotonic()))
    return response


def _api_answer(request: HttpRequest) -> tuple[HttpResponse, int]:
    """The answer, and the latency (ms) injected into it."""
    try:
        body = json.loads(request.body)
    except (ValueError, UnicodeDecodeError):
        body = None
    lead = str(body.get("lead", "")) if isinstance(body, dict) else ""
    type_id = str(body.get("appointmentType", "")) if isinstance(body, dict) else ""
    key = services.bearer_key(request.headers.get("Authorization", ""))
    call = services.call_read(key=key, body=body)
    fault = call.fault
    mode = services.fault_take(fault)

    injected = _fault_response(mode, fault)
    if injected is not None and mode != Fault.Mode.HANG:
        services.api_call_record(
            status=injected.status_code, lead=lead, appointment_type=type_id, fault=mode
        )
    if injected is not None:
        return injected, fault.latency_ms

    try:
        session = services.session_create(call=call, body=body, lead=lead, appointment_type=type_id)
    except services.ApiRefusal as refusal:
        answer = JsonResponse({"message": refusal.message}, status=refusal.status)
        return answer, fault.latency_ms

    public_url = request.build_absolute_uri(reverse("flg_sandbox:book", args=[session.token]))
    return JsonResponse(
        {
            "sessionId": str(session.session_id),
            "lead": session.lead.lead_id,
            "appointmentType": str(session.appointment_type_id),
            "closesAt": services.format_closes_at(session.closes_at),
            "publicUrl": public_url,
        }
    ), fault.latency_ms


@csrf_exempt
@never_cache
@xframe_options_exempt
# FLG's screen is made to be framed: by the portal on this host or another loopback port.
# (django-csp types its decorators for views without URL arguments, hence the ignore.)
@csp_replace({"frame-ancestors": ["'self'", "http://127.0.0.1:*", "http://localhost:*"]})  # type: ignore[arg-type]
@require_http_methods(["GET", "POST"])
def book(request: HttpRequest, token: str) -> HttpResponse:
    response = _book(request, token)
    # Opened in a window of its own, it reports a booking to the portal's page that opened it:
    # a COOP of its own would cut that link, so the screen sets none, as a page made to be
    # opened from other sites does.
    response["Cross-Origin-Opener-Policy"] = "unsafe-none"
    return response


def _book(request: HttpRequest, token: str) -> HttpResponse:
    session = get_object_or_404(
        Session.objects.select_related("lead", "appointment_type"), token=token
    )
    if not session.is_open:
        return render(request, "flg_sandbox/closed.html", {"session": session}, status=410)
    error = ""
    if request.method == "POST":
        slot = services.session_book(session=session, slot_value=request.POST.get("slot", ""))
        if slot is not None:
            return render(request, "flg_sandbox/booked.html", {"session": session, "slot": slot})
        if not session.is_open:
            return render(request, "flg_sandbox/closed.html", {"session": session}, status=410)
        error = "Please choose one of the times offered."
    return render(
        request,
        "flg_sandbox/screen.html",
        {
            "session": session,
            "slots": services.slots_for(session=session),
            "error": error,
            "chosen": request.POST.get("slot", ""),
        },
        status=400 if error else 200,
    )


def _staff_unless_debug(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Staff only, but under DEBUG (`make run`): on a demo host the page lists leads' names
    and emails. The booking screen and the API stay public, as FLG's are (a token, a key)."""
    staff_only = staff_member_required(view)

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if settings.DEBUG:
            return view(request, *args, **kwargs)
        # A staff password alone is not a staff sign-in (STAFF_TWO_FACTOR): the admin asks for
        # the code, then the person comes back here.
        verified = getattr(request.user, "is_verified", None)
        if request.user.is_staff and settings.STAFF_TWO_FACTOR and not (verified and verified()):
            return redirect_to_login(request.get_full_path(), reverse("two_factor_verify"))
        return staff_only(request, *args, **kwargs)

    return wrapper


@_staff_unless_debug
def index(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "flg_sandbox/index.html",
        {
            "keys": AccessKey.objects.all(),
            "leads": Lead.objects.all()[:50],
            "types": AppointmentType.objects.all(),
            "fault": services.fault_current(),
            "session_ttl": settings.FLG_SANDBOX_SESSION_TTL,
            "auto_leads": settings.FLG_SANDBOX_AUTO_LEADS,
            "api_url": request.build_absolute_uri(reverse("flg_sandbox:api_sessions")),
            # The host only: the URL's path holds the receiver's secret.
            "webhook_host": urlsplit(settings.FLG_SANDBOX_WEBHOOK_URL).netloc,
        },
    )


@never_cache
@require_http_methods(["GET", "HEAD"])
def mailbox(request: HttpRequest) -> HttpResponse:
    """Every email the portal sent, newest first: the customers' inboxes, played by the demo."""
    emails = Email.objects.only("pk", "to", "subject", "sent_at")[:200]
    return render(request, "flg_sandbox/mailbox.html", {"emails": emails})


@never_cache
@require_http_methods(["GET", "HEAD"])
def mailbox_email(request: HttpRequest, pk: int) -> HttpResponse:
    """One email: its text part, escaped, with its links made clickable; no HTML is rendered."""
    email = get_object_or_404(Email, pk=pk)
    response = render(request, "flg_sandbox/mailbox_email.html", {"email": email})
    # The page's links are sign-in links: never in a Referer.
    response["Referrer-Policy"] = "no-referrer"
    return response
