"""The client's address, read correctly behind our proxy and never spoofable without one."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest


def client_ip(request: HttpRequest) -> str:
    """REMOTE_ADDR, or behind the trusted proxy the last address it appended to X-Forwarded-For.

    Only the proxy's own entry (the right-most) can be trusted: anything to its left came
    from the client and could be made up to lock someone else out.
    """
    if settings.TRUST_X_FORWARDED_PROTO:
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
        if hops:
            return hops[-1]
    return request.META.get("REMOTE_ADDR", "") or "unknown"
