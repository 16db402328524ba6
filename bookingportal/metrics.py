"""/metrics for Prometheus, and the request counts behind it.

The figures are defined where they are counted (flg/metrics.py, appointments/metrics.py,
accounts/metrics.py); this serves them all. Under gunicorn each worker writes its figures to
files in PROMETHEUS_MULTIPROC_DIR and a scrape adds them up, so whichever worker answers, the
page shows the whole instance. The page answers only `Authorization: Bearer <METRICS_TOKEN>`
and does not exist without a token set.
"""

from __future__ import annotations

import hmac
import time
from collections.abc import Callable
from functools import cache

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    disable_created_metrics,
    generate_latest,
    multiprocess,
)

# Imported here so that every series is on the page, at zero, before its first count.
from accounts import metrics as accounts_metrics  # noqa: F401
from appointments import metrics as appointments_metrics  # noqa: F401
from flg import metrics as flg_metrics
from outbox import metrics as outbox_metrics

# The `_created` timestamps only exist in a single process; one page shape in both modes.
disable_created_metrics()

METHODS = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}

requests_total = Counter(
    "portal_http_requests",
    "Requests answered, by method and status family (2xx, 3xx, 4xx, 5xx).",
    ["method", "status"],
)
request_seconds = Histogram(
    "portal_http_request_duration_seconds",
    "Time to answer a request, by method (a start waits on FLG: see portal_flg_call_*).",
    ["method"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)


def request_observe(*, method: str, status: int, seconds: float) -> None:
    """Count one answered request; any method outside the usual few counts as "other"."""
    method = method if method in METHODS else "other"
    requests_total.labels(method, f"{status // 100}xx").inc()
    request_seconds.labels(method).observe(seconds)


class RequestMetricsMiddleware:
    """Count every request and its time, whatever answers it (probes and errors included)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.monotonic()
        response = self.get_response(request)
        request_observe(
            method=request.method or "",
            status=response.status_code,
            seconds=time.monotonic() - started,
        )
        return response


@cache
def registry() -> CollectorRegistry:
    """What a scrape reads: every worker's files in multiprocess mode, else this process."""
    collected = CollectorRegistry()
    if settings.PROMETHEUS_MULTIPROC_DIR:
        multiprocess.MultiProcessCollector(collected, path=settings.PROMETHEUS_MULTIPROC_DIR)
    else:
        collected.register(REGISTRY)
    collected.register(flg_metrics.BreakerCollector())
    # The queue and the emails, read from the database (the worker runs in its own process).
    collected.register(outbox_metrics.OutboxCollector())
    return collected


def authorised(request: HttpRequest) -> bool:
    """The request carries `Authorization: Bearer <METRICS_TOKEN>` (compared in constant time)."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(
        token.strip().encode(), settings.METRICS_TOKEN.encode()
    )


@never_cache
@require_safe
def metrics(request: HttpRequest) -> HttpResponse:
    """The figures in Prometheus' text format, for a scraper that has the token."""
    if not settings.METRICS_TOKEN:
        raise Http404("No metrics without METRICS_TOKEN.")
    if not authorised(request):
        refused = HttpResponse(
            "Send Authorization: Bearer <METRICS_TOKEN>.\n", status=401, content_type="text/plain"
        )
        refused["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return refused
    return HttpResponse(generate_latest(registry()), content_type=CONTENT_TYPE_LATEST)
