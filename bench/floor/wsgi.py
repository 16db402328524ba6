"""The portal's WSGI application, with /_floor/bare answered before Django sees it."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from bench.floor import BARE
from bookingportal.wsgi import application as portal


def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    if environ.get("PATH_INFO") == BARE:
        start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "2")])
        return [b"ok"]
    return portal(environ, start_response)
