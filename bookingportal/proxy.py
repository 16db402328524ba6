"""The client's address and scheme, believed from our own proxies (TRUSTED_PROXIES) only.

Anyone who reaches the portal directly can send X-Forwarded-For or X-Forwarded-Proto; only
a peer listed in TRUSTED_PROXIES may tell us who the client is or that it used https.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from functools import lru_cache

from django.conf import settings
from django.http import HttpRequest, HttpResponse

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

# Headers only a proxy may set. Django reads X-Forwarded-Proto (SECURE_PROXY_SSL_HEADER);
# the rest are dropped too, so nothing downstream can be tempted to believe them.
FORWARDED_HEADERS = (
    "HTTP_X_FORWARDED_FOR",
    "HTTP_X_FORWARDED_PROTO",
    "HTTP_X_FORWARDED_HOST",
    "HTTP_X_FORWARDED_PORT",
    "HTTP_FORWARDED",
)


@lru_cache(maxsize=8)
def _networks(entries: tuple[str, ...]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(entry, strict=False) for entry in entries)


def _valid(address: str) -> str | None:
    try:
        return str(ipaddress.ip_address(address.strip()))
    except ValueError:
        return None


def is_trusted_proxy(address: str | None) -> bool:
    """True when the address is one of TRUSTED_PROXIES."""
    if not address or _valid(address) is None:
        return False
    ip = ipaddress.ip_address(address.strip())
    return any(ip in network for network in _networks(tuple(settings.TRUSTED_PROXIES)))


def client_ip(request: HttpRequest) -> str | None:
    """REMOTE_ADDR, or behind our proxies the nearest address they did not vouch for.

    X-Forwarded-For is read right to left: each of our proxies appends the address it saw,
    and anything left of the first address that is not ours came from the client, who could
    have made it up to dodge a lockout or to lock someone else out. None when there is no
    valid address (a request made inside the process, say), which django-axes stores as such.
    """
    address = _valid(request.META.get("REMOTE_ADDR", "") or "")
    if address is None or not is_trusted_proxy(address):
        return address
    for hop in reversed(request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")):
        if not hop.strip():
            continue
        hop_address = _valid(hop)
        if hop_address is None:
            break
        address = hop_address
        if not is_trusted_proxy(address):
            break
    return address


class ForwardedHeadersMiddleware:
    """Drop forwarded headers unless the peer is one of TRUSTED_PROXIES, before anyone reads them.

    Django believes X-Forwarded-Proto from whoever sends it once SECURE_PROXY_SSL_HEADER is
    set; here it reaches Django only from our proxies.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not is_trusted_proxy(request.META.get("REMOTE_ADDR")):
            for name in FORWARDED_HEADERS:
                request.META.pop(name, None)
        return self.get_response(request)
