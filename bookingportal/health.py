"""Liveness and readiness for the orchestrator: no sign-in, no HTTPS redirect, never cached."""

from __future__ import annotations

from collections.abc import Callable

from django.core.cache import caches
from django.db import DatabaseError, connection
from django.http import HttpRequest, HttpResponse, HttpResponsePermanentRedirect, JsonResponse
from django.templatetags.static import static
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from bookingportal import metrics
from flg import sessions
from outbox import metrics as outbox_metrics


@never_cache
@require_safe
def healthz(request: HttpRequest) -> HttpResponse:
    """The process answers; touches nothing else, so it stays fast when the database is not."""
    return HttpResponse("ok", content_type="text/plain")


def cache_state() -> str:
    """Whether the shared cache (Redis) answers now: "ok" or "unavailable".

    A per-process cache cannot be out. Reported, never a reason to take the instance out of
    service: the portal works without the cache, and every replica would fail together.
    """
    for backend in caches.all(initialized_only=False):
        is_available = getattr(backend, "is_available", None)
        if is_available is not None and not is_available():
            return "unavailable"
    return "ok"


@never_cache
@require_safe
def readyz(request: HttpRequest) -> JsonResponse:
    """Ready for customers: the database answers and FLG is configured; the cache and whether
    a worker was seen in the last minute are reported."""
    state = cache_state()
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception as exc:
        return JsonResponse(
            {
                "status": "unavailable",
                "reason": f"database: {type(exc).__name__}",
                "cache": state,
            },
            status=503,
        )
    if not sessions.is_configured():
        return JsonResponse(
            {
                "status": "unavailable",
                "reason": "FLG_DOMAIN or FLG_API_KEY is not set",
                "cache": state,
            },
            status=503,
        )
    # Reported, never a reason to take the web out of service: email waits in the queue.
    try:
        worker = "seen" if outbox_metrics.worker_seen_recently() else "not seen"
    except DatabaseError:
        worker = "unknown"  # the outbox's table not there yet (a migration pending)
    return JsonResponse({"status": "ok", "cache": state, "worker": worker})


def favicon(request: HttpRequest) -> HttpResponse:
    """Browsers ask for /favicon.ico on pages without an icon link (the admin's)."""
    return HttpResponsePermanentRedirect(static("favicon.svg"))


PROBES: dict[str, Callable[[HttpRequest], HttpResponse]] = {
    "/healthz": healthz,
    "/readyz": readyz,
    # Not a probe, but asked for the same way: Prometheus scrapes each pod by its address.
    "/metrics": metrics.metrics,
}


class HealthCheckMiddleware:
    """Answer the probes (and /metrics) before the Host header is checked.

    Docker's HEALTHCHECK, a load balancer and Prometheus ask by the container's own address,
    which ALLOWED_HOSTS does not (and should not) list; every other path is still checked.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        probe = PROBES.get(request.path_info)
        if probe is not None:
            return probe(request)
        return self.get_response(request)
