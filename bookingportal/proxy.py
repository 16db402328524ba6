"""The client's address, read correctly behind our proxy and never spoofable without one."""

from __future__ import annotations

import ipaddress

from django.conf import settings
from django.http import HttpRequest


def _valid(address: str) -> str | None:
    try:
        return str(ipaddress.ip_address(address.strip()))
    except ValueError:
        return None


def client_ip(request: HttpRequest) -> str | None:
    """REMOTE_ADDR, or behind the trusted proxy the last address it appended to X-Forwarded-For.

    Only the proxy's own entry (the right-most) can be trusted: anything to its left came
    from the client and could be made up to lock someone else out. None when there is no
    valid address (a request made inside the process, say), which django-axes stores as such.
    """
    if settings.TRUST_X_FORWARDED_PROTO:
        hops = [hop for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if hop]
        if hops and (address := _valid(hops[-1])):
            return address
    return _valid(request.META.get("REMOTE_ADDR", "") or "")
