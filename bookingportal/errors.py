"""The answer to an uncaught exception: a 503 page while the database is out, else the 500."""

from __future__ import annotations

import logging
import sys

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, HttpResponseServerError
from django.template import loader

from bookingportal.context_processors import portal_without_database
from bookingportal.middleware import loggable_path

logger = logging.getLogger(__name__)

# Seconds a customer (or a proxy) should wait before trying again.
RETRY_AFTER = 60
# What a database that is down, restarting or unreachable raises, wherever it is first
# touched: in a view, or in the session or authentication middleware.
DATABASE_UNAVAILABLE = (OperationalError, InterfaceError)


def server_error(request: HttpRequest) -> HttpResponse:
    """handler500: every uncaught exception passes here, whichever layer raised it.

    Django turns an exception into a response at the middleware that raised it, so no
    middleware of ours could catch what the session middleware raises; this handler sees all.
    """
    exc = sys.exc_info()[1]
    if not isinstance(exc, DATABASE_UNAVAILABLE):
        return HttpResponseServerError(loader.render_to_string("500.html"))
    logger.warning(
        "The database is unavailable (%s: %s); answered 503",
        type(exc).__name__,
        str(exc).strip().splitlines()[0] if str(exc).strip() else "",
        extra={"event": "database_unavailable", "path": loggable_path(request)},
    )
    # Rendered without the request, so no context processor (the user, messages) can reach
    # for the database again.
    retry_url = request.get_full_path() if request.method in {"GET", "HEAD"} else "/"
    html = loader.render_to_string(
        "503.html", {**portal_without_database(), "retry_url": retry_url}
    )
    response = HttpResponse(html, status=503)
    response["Retry-After"] = str(RETRY_AFTER)
    # Logged above in one line; spare the log Django's own copy with the whole traceback.
    response._has_been_logged = True  # type: ignore[attr-defined]
    return response


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    """handler400: Django's own runs the CSRF check again, which reads the form again.

    A form body Django refuses to read (a urlencoded body declared in a charset other than
    UTF-8 raises BadRequest from request.POST) then raises a second time inside the handler,
    and the 400 became a 500. This one reads nothing from the request's body.
    """
    return HttpResponseBadRequest(loader.render_to_string("400.html", request=request))
