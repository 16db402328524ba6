"""Request ids, the access log line, and the headers Django does not set on its own."""

from __future__ import annotations

import codecs
import logging
import re
import time
import uuid
from collections.abc import Callable
from typing import Any

from csp.constants import HEADER, HEADER_REPORT_ONLY
from csp.middleware import CheckableLazyObject, CSPMiddleware, PolicyParts
from csp.utils import build_policy
from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.cache import patch_cache_control
from django.utils.functional import LazyObject

from bookingportal.logging import mask_secrets, request_id_var
from flg import sessions

access_logger = logging.getLogger("bookingportal.access")

_SANE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


class RequestIdMiddleware:
    """Take X-Request-ID from the proxy (or make one), return it, and log one line per request."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        incoming = request.headers.get("X-Request-ID", "")
        request_id = incoming if _SANE_REQUEST_ID.match(incoming) else uuid.uuid4().hex
        token = request_id_var.set(request_id)
        started = time.monotonic()
        try:
            response = self.get_response(request)
            response["X-Request-ID"] = request_id
            self.log(request, response.status_code, started)
            return response
        finally:
            request_id_var.reset(token)

    @staticmethod
    def log(request: HttpRequest, status: int, started: float) -> None:
        # Only a user the request already loaded: reading request.user here would load the
        # session for every request (the cache, the database) just to write a log line, and
        # fail with them when they are down.
        user = getattr(request, "user", None)
        if isinstance(user, LazyObject):  # not yet loaded: AuthenticationMiddleware's wrapper
            user = getattr(request, "_cached_user", None)
        user_id = user.pk if user is not None and user.is_authenticated else None
        latency_ms = round((time.monotonic() - started) * 1000, 1)
        path = loggable_path(request)
        access_logger.info(
            "%s %s %s %sms",
            request.method,
            path,
            status,
            latency_ms,
            extra={
                "event": "request",
                "method": request.method,
                "path": path,
                "status": status,
                "latency_ms": latency_ms,
                "user_id": user_id,
            },
        )


def loggable_path(request: HttpRequest) -> str:
    """The request's path with any secret in it masked (query strings never logged)."""
    return mask_secrets(request.path)


class SecretPathMiddleware:
    """`Referrer-Policy: no-referrer` on every answer to an address that holds a token.

    Those answers are redirects to token-free pages (and the pages saying a link is spent),
    so the browser sends no Referer with the token in it, whatever the page does next. Only
    there: under no-referrer a page's own form POST carries `Origin: null`, which Django's
    CSRF check refuses, so the rest of the site keeps same-origin.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if mask_secrets(request.path) != request.path:
            response["Referrer-Policy"] = "no-referrer"
        return response


class PermissionsPolicyMiddleware:
    """Switch off browser features the portal never uses."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.setdefault("Permissions-Policy", settings.PERMISSIONS_POLICY)
        return response


# Built policies, by what they were built from (a handful: the site's, the sandbox screen's).
_policies: dict[tuple[Any, ...], str] = {}


@receiver(setting_changed)
def _forget_policies(**kwargs: Any) -> None:
    # A policy built from the settings (config None) is keyed on the settings of the moment.
    _policies.clear()


def _frozen(value: Any) -> Any:
    """A directives dict as a key: the same policy gives the same key."""
    if isinstance(value, dict):
        return tuple(sorted((name, _frozen(item)) for name, item in value.items()))
    if isinstance(value, list | tuple):
        return ("seq", *(_frozen(item) for item in value))
    if isinstance(value, set | frozenset):
        return ("set", *sorted(map(repr, value)))
    hash(value)  # anything else unhashable raises TypeError: then the policy is built
    return value


class PortalCSPMiddleware(CSPMiddleware):
    """django-csp, with frame-src read from FLG_BOOKING_HOSTS at request time, and each policy
    built once per process.

    django-csp deep-copies its directives and writes the policy out on every response (about
    0.1 ms of CPU a page); the header depends only on the directives (and a nonce, which the
    portal does not use: its scripts are its own files), so a built one is kept. The rules
    for when a header is set are django-csp's own (test_security_headers checks the headers
    match its middleware's).
    """

    def get_policy_parts(
        self, request: HttpRequest, response: Any, report_only: bool = False
    ) -> PolicyParts:
        parts = super().get_policy_parts(request, response, report_only)
        replace = dict(parts.replace or {})
        replace.setdefault("frame-src", sessions.booking_origins() or ["'none'"])
        parts.replace = replace
        return parts

    def process_response(self, request: HttpRequest, response: Any) -> Any:
        if getattr(request, "_csp_nonce", None) is not None:
            return super().process_response(request, response)  # unique to this response
        if response.status_code in (500, 404) and settings.DEBUG:
            return response  # Django's debug pages, as django-csp leaves them
        for report_only, header, setting in (
            (False, HEADER, "CONTENT_SECURITY_POLICY"),
            (True, HEADER_REPORT_ONLY, "CONTENT_SECURITY_POLICY_REPORT_ONLY"),
        ):
            policy = self._policy(
                self.get_policy_parts(request, response, report_only), report_only
            )
            exempt = getattr(response, "_csp_exempt_ro" if report_only else "_csp_exempt", False)
            prefixes = (getattr(settings, setting, None) or {}).get("EXCLUDE_URL_PREFIXES") or ()
            if (
                policy
                and header not in response
                and exempt is False
                and not request.path_info.startswith(tuple(prefixes))
            ):
                response[header] = policy
        # As django-csp does: a nonce asked for after the header is written is an error.
        request.csp_nonce = CheckableLazyObject(self._csp_nonce_post_response)  # type: ignore[attr-defined]
        return response

    @staticmethod
    def _policy(parts: PolicyParts, report_only: bool = False) -> str:
        try:
            key = tuple(map(_frozen, (report_only, parts.config, parts.update, parts.replace)))
        except TypeError:
            return build_policy(parts.config, parts.update, parts.replace, report_only=report_only)
        policy = _policies.get(key)
        if policy is None:
            policy = build_policy(
                parts.config, parts.update, parts.replace, report_only=report_only
            )
            _policies[key] = policy
        return policy


class PrivatePagesMiddleware:
    """Mark every page the portal renders `Cache-Control: private, no-store`.

    Customer pages show names, appointments and booking links, and even the sign-in page
    carries a CSRF token: no page of ours is one a browser's or a proxy's cache may keep.
    Added to whatever a view chose itself (never_cache's directives stay). Static files never
    get here: WhiteNoise answers them further out, with their own headers.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if "public" in response.get("Cache-Control", ""):
            # A view that marked its answer public chose so (the brand's versioned files).
            return response
        patch_cache_control(response, private=True, no_store=True)
        return response


# The answer to a body in a character set the portal cannot read: short, and JSON like every
# other refusal of the lead webhook's (a client that sends such a body is no browser).
UNREADABLE_CHARSET_MESSAGE = "This request's charset cannot be read. Send it as UTF-8."


def charset_readable(charset: str) -> bool:
    """True when `charset` names a text encoding Python can decode bytes with.

    Python also knows bytes-to-bytes codecs by name (base64, zlib, hex, bz2, rot13, ...);
    decoding with one raises LookupError wherever a body is read, as an unknown name does.
    """
    try:
        codec = codecs.lookup(charset)
    except (LookupError, ValueError):
        return False
    return bool(getattr(codec, "_is_text_encoding", True))


class BodyCharsetMiddleware:
    """Answer 400 to a body whose Content-Type names a charset that is not a text encoding.

    Left alone, Django's form parsing, the CSRF check and the lead webhook each meet it as a
    LookupError, a 500. Refused here, before anything reads the body, no view needs to care.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        charset = request.content_params.get("charset") if request.content_params else None
        if charset is not None and not charset_readable(charset):
            return JsonResponse(
                {"error": "unreadable_charset", "message": UNREADABLE_CHARSET_MESSAGE}, status=400
            )
        return self.get_response(request)
