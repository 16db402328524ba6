"""Who did it and from where, for every change the audit trail records in a request."""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar
from typing import Any

from axes.helpers import get_client_ip_address
from django.http import HttpRequest, HttpResponse

_request: ContextVar[HttpRequest | None] = ContextVar("audit_request", default=None)


class AuditActorMiddleware:
    """As auditlog's own middleware, but with the address the portal believes, and lazily.

    Auditlog's reads X-Forwarded-For from anyone; the portal's client address comes from the
    callable django-axes is given (bookingportal.proxy.client_ip, TRUSTED_PROXIES only).
    Auditlog's also loads the user and connects a signal receiver on every request; here the
    request is only noted, and `entry_fill` (connected once) reads who and where when an
    entry is written, which few requests do.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        token = _request.set(request)
        try:
            return self.get_response(request)
        finally:
            _request.reset(token)


def entry_fill(sender: Any, instance: Any, **kwargs: Any) -> None:
    """pre_save of an audit entry: the signed-in user and the client's address, when a request
    is being served and the entry does not already name them (auditlog's set_actor)."""
    request = _request.get()
    if request is None:
        return
    if instance.actor is None:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            instance.actor = user
            instance.actor_email = getattr(user, "email", None)
    if not instance.remote_addr:
        instance.remote_addr = get_client_ip_address(request)
