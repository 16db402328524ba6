"""Who did it and from where, for every change the audit trail records in a request."""

from __future__ import annotations

from collections.abc import Callable

from auditlog.context import set_actor
from axes.helpers import get_client_ip_address
from django.http import HttpRequest, HttpResponse


class AuditActorMiddleware:
    """As auditlog's own middleware, but with the address the portal believes.

    Auditlog's reads X-Forwarded-For from anyone; the portal's client address comes from the
    callable django-axes is given (bookingportal.proxy.client_ip, TRUSTED_PROXIES only).
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        actor = user if user is not None and user.is_authenticated else None
        with set_actor(actor, remote_addr=get_client_ip_address(request)):
            return self.get_response(request)
