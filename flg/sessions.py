"""FLG 360's appointment sessions endpoint: create a session, and the rules for its answer.

The contract is FLG's own document of the API. `create` gives either a validated `FlgSession`
or one of the errors in `flg.errors`; raw JSON never leaves this module.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import logging
import re
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings

from flg import breaker, metrics, transport
from flg.errors import (
    FlgError,
    FlgKeyForbidden,
    FlgKeyInvalid,
    FlgNotConfigured,
    FlgProtocolError,
    FlgRejected,
    FlgUnavailable,
)
from flg.net import is_loopback

logger = logging.getLogger("flg.sessions")

SESSIONS_PATH = "/api/v2/appointment-sessions"
MAX_URL_LENGTH = 4096


@dataclass(frozen=True)
class FlgSession:
    """An appointment session FLG 360 created, validated."""

    session_id: uuid.UUID
    lead: str
    appointment_type: uuid.UUID
    closes_at: dt.datetime
    public_url: str


# --- Configuration --------------------------------------------------------------------------


def is_configured() -> bool:
    """True when a base URL and an access key are set."""
    return bool(settings.FLG_BASE_URL and settings.FLG_API_KEY)


def sessions_url() -> str:
    """The appointment sessions endpoint under the configured base URL."""
    return settings.FLG_BASE_URL + SESSIONS_PATH


def booking_hosts() -> list[str]:
    """The hosts (or host:port) a publicUrl may point at."""
    return list(settings.FLG_BOOKING_HOSTS)


def booking_origins(hosts: Iterable[str] | None = None) -> list[str]:
    """The origins the booking screen is served from: the CSP frame-src and the message senders.

    https for every host; plain http too for loopback hosts (the sandbox).
    """
    return list(_origins(tuple(booking_hosts() if hosts is None else hosts)))


@functools.lru_cache(maxsize=64)
def _origins(hosts: tuple[str, ...]) -> tuple[str, ...]:
    # Asked for every page's CSP header: the hosts are parsed once a process.
    origins = []
    for host in hosts:
        origins.append(f"https://{host}")
        if is_loopback(urlsplit(f"//{host}").hostname or ""):
            origins.append(f"http://{host}")
    return tuple(origins)


# --- The one function that decides whether a URL may be embedded ----------------------------

_UNSAFE_CHARS = re.compile(r"[\x00-\x20\x7f-\x9f\\]")


def is_embeddable_url(url: object, *, hosts: Iterable[str]) -> bool:
    """True when `url` is an absolute https URL on exactly one of `hosts` and safe to frame.

    A host entry is `host` (default port only) or `host:port`. Plain http is allowed only for
    loopback hosts (the sandbox). User-info, backslashes, whitespace and control characters are
    refused, since browsers and parsers disagree about them.
    """
    if not isinstance(url, str) or not url or len(url) > MAX_URL_LENGTH:
        return False
    if _UNSAFE_CHARS.search(url) or not url.isascii():
        return False
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return False
    host = parts.hostname or ""
    if not host or "@" in parts.netloc:
        return False
    if parts.scheme == "https":
        default_port = 443
    elif parts.scheme == "http" and is_loopback(host):
        default_port = 80
    else:
        return False
    for allowed in hosts:
        try:
            entry = urlsplit("//" + allowed.strip().lower())
            allowed_host, allowed_port = entry.hostname, entry.port
        except ValueError:
            continue
        if host == allowed_host and (port or default_port) == (allowed_port or default_port):
            return True
    return False


# --- Parsing the 200 answer ----------------------------------------------------------------

_LONG_FRACTION = re.compile(r"[.,]\d{10,}")
# fromisoformat reads "+01:60" as two hours; an offset's minutes must be a real minute.
_BAD_OFFSET_MINUTES = re.compile(r"[+-]\d{2}:?[6-9]\d$")


def parse_closes_at(value: object) -> dt.datetime:
    """An ISO 8601 timestamp with `Z` or an offset, with or without fractions, as aware UTC."""
    if not isinstance(value, str) or not value.isascii() or _LONG_FRACTION.search(value):
        raise ValueError("closesAt is not a string of ISO 8601")
    text = value.strip()
    if _BAD_OFFSET_MINUTES.search(text):
        raise ValueError("closesAt has an impossible offset")
    if text.endswith("z"):
        text = text[:-1] + "Z"
    moment = dt.datetime.fromisoformat(text)
    if moment.tzinfo is None:
        raise ValueError("closesAt has no time zone")
    return moment.astimezone(dt.UTC)


class _Members(list[tuple[str, Any]]):
    """A JSON object's members in order, so that a repeated key can be seen."""


def parse_session(
    body: bytes,
    *,
    lead: str,
    appointment_type: uuid.UUID,
    hosts: Iterable[str],
    now: dt.datetime | None = None,
) -> FlgSession:
    """Read FLG's 200 answer tolerantly, then validate it strictly; raise FlgProtocolError."""
    now = now or dt.datetime.now(dt.UTC)

    def fail(reason: str) -> FlgProtocolError:
        return FlgProtocolError(
            f"FLG answered 200 but {reason}: {transport.excerpt(body)}", status=200
        )

    try:
        data = json.loads(body, object_pairs_hook=_Members)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise fail("the answer is not JSON") from None
    if not isinstance(data, _Members):
        raise fail("the answer is not a JSON object")

    # The published example has the key " publicUrl": keys are compared without whitespace.
    # A key given twice (exactly or after stripping) is ambiguous, so it is refused.
    fields: dict[str, Any] = {}
    for key, value in data:
        name = key.strip()
        if name in fields:
            raise fail(f"the field {name!r} appears twice")
        fields[name] = value

    for name in ("sessionId", "lead", "appointmentType", "closesAt", "publicUrl"):
        if name not in fields:
            raise fail(f"the field {name!r} is missing")

    raw_id = fields["sessionId"]
    try:
        if not isinstance(raw_id, str):
            raise ValueError
        session_id = uuid.UUID(raw_id.strip())
    except ValueError:
        raise fail("sessionId is not a UUID") from None

    raw_lead = fields["lead"]
    if isinstance(raw_lead, bool) or not isinstance(raw_lead, str | int):
        raise fail("lead is not a string")
    if str(raw_lead).strip() != lead:
        raise fail(f"the session is for lead {str(raw_lead)[:30]!r}, not the lead we sent")

    raw_type = fields["appointmentType"]
    try:
        if not isinstance(raw_type, str):
            raise ValueError
        echoed_type = uuid.UUID(raw_type.strip())
    except ValueError:
        raise fail("appointmentType is not a UUID") from None
    if echoed_type != appointment_type:
        raise fail("the session is for another appointment type than the one we sent")

    try:
        closes_at = parse_closes_at(fields["closesAt"])
    except (ValueError, OverflowError):
        raise fail("closesAt is not a date and time with a time zone") from None
    if closes_at <= now:
        raise fail("closesAt is already in the past")

    public_url = fields["publicUrl"]
    if isinstance(public_url, str):
        public_url = public_url.strip()
    if not is_embeddable_url(public_url, hosts=hosts):
        raise fail("publicUrl is not an https URL on an allowed booking host")

    return FlgSession(
        session_id=session_id,
        lead=lead,
        appointment_type=appointment_type,
        closes_at=closes_at,
        public_url=public_url,
    )


def error_for(answer: transport.Answer) -> FlgError:
    """The exception for a non-200 answer, quoting a short excerpt of FLG's body."""
    excerpt = transport.excerpt(answer.body)
    status = answer.status
    if status == 400:
        return FlgRejected(
            "FLG refused the lead or the appointment type (400): the type id may be wrong, or "
            f"the lead's group may not match the type's lead group. FLG said: {excerpt}",
            status=status,
        )
    if status == 401:
        return FlgKeyInvalid(
            f"FLG says the access key is invalid (401). FLG said: {excerpt}", status=status
        )
    if status == 403:
        return FlgKeyForbidden(
            "FLG says the access key lacks 'Allow access to Appointments' (403). "
            f"FLG said: {excerpt}",
            status=status,
        )
    if status == 429 or 500 <= status <= 599:
        return FlgUnavailable(f"FLG is unavailable ({status}). FLG said: {excerpt}", status=status)
    if 300 <= status <= 399:
        return FlgProtocolError(
            f"FLG answered with a redirect ({status}), which we never follow: FLG_DOMAIN may not "
            f"be the exact FLG 360 domain. FLG said: {excerpt}",
            status=status,
        )
    return FlgProtocolError(f"FLG answered with status {status}: {excerpt}", status=status)


# --- The endpoint --------------------------------------------------------------------------


def create(*, lead: str, appointment_type: uuid.UUID, customer_id: int | None = None) -> FlgSession:
    """Create an appointment session for a lead and an appointment type."""
    if not is_configured():
        raise FlgNotConfigured("FLG_DOMAIN or FLG_API_KEY is not set.")
    if not isinstance(appointment_type, uuid.UUID):
        # A string would be sent fine but never match the echoed UUID: a wasted session.
        appointment_type = uuid.UUID(str(appointment_type))
    # This process's cap first, so a call refused for want of a place never touches the
    # breaker's shared state (nor takes the half-open breaker's one probe). Either refusal is
    # immediate, and is no call to FLG, so it is not logged as one.
    with transport.slot(), breaker.guard():
        return _post(lead=str(lead), appointment_type=appointment_type, customer_id=customer_id)


def _post(*, lead: str, appointment_type: uuid.UUID, customer_id: int | None) -> FlgSession:
    payload = {"lead": lead, "appointmentType": str(appointment_type)}
    started = time.monotonic()
    status: int | None = None
    outcome = "error"
    try:
        answer = transport.post(sessions_url(), key=settings.FLG_API_KEY, payload=payload)
        status = answer.status
        if answer.status != 200:
            raise error_for(answer)
        session = parse_session(
            answer.body, lead=lead, appointment_type=appointment_type, hosts=booking_hosts()
        )
        outcome = "ok"
        return session
    except FlgError as exc:
        outcome = exc.code
        status = exc.status if exc.status is not None else status
        raise
    finally:
        elapsed = time.monotonic() - started
        metrics.call_observe(outcome=outcome, seconds=elapsed)
        latency_ms = round(elapsed * 1000)
        logger.info(
            "flg call create_session status=%s outcome=%s latency_ms=%s appointment_type=%s "
            "customer_id=%s",
            status,
            outcome,
            latency_ms,
            appointment_type,
            customer_id,
            extra={
                "event": "flg_call",
                "flg_status": status,
                "outcome": outcome,
                "latency_ms": latency_ms,
                "appointment_type": str(appointment_type),
                "customer_id": customer_id,
            },
        )


def probe_status(*, key: str | None = None) -> int:
    """POST a body without a lead and return FLG's status; creates no session.

    FLG checks the key before the body, so a wrong key answers 401 and a good key with
    Appointments permission answers 400 (lead not specified).
    """
    if not settings.FLG_BASE_URL:
        raise FlgNotConfigured("FLG_DOMAIN is not set.")
    use_key = settings.FLG_API_KEY if key is None else key
    if not use_key:
        raise FlgNotConfigured("FLG_API_KEY is not set.")
    with transport.slot():
        return transport.post(sessions_url(), key=use_key, payload={"appointmentType": ""}).status


# A lead id FLG can never hold (its lead ids are digits), so a probe never creates a session.
PROBE_LEAD = "portal-type-check"


@dataclass(frozen=True)
class ProbeAnswer:
    """FLG's status and message for a probe, the message as FLG wrote it (or an excerpt)."""

    status: int
    message: str


def probe_type(*, appointment_type: uuid.UUID) -> ProbeAnswer:
    """POST this type id with a lead that cannot exist; what FLG answered. Creates no session."""
    if not is_configured():
        raise FlgNotConfigured("FLG_DOMAIN or FLG_API_KEY is not set.")
    payload = {"lead": PROBE_LEAD, "appointmentType": str(appointment_type)}
    with transport.slot(), breaker.guard():
        answer = transport.post(sessions_url(), key=settings.FLG_API_KEY, payload=payload)
        if answer.status == 429 or 500 <= answer.status <= 599:
            raise error_for(answer)
    return ProbeAnswer(answer.status, _message(answer))


def _message(answer: transport.Answer) -> str:
    try:
        body = json.loads(answer.body)
    except ValueError:
        body = None
    if isinstance(body, dict) and isinstance(body.get("message"), str):
        return transport.excerpt(body["message"])
    return transport.excerpt(answer.body)
