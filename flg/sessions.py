"""The FLG 360 appointment sessions API: the only code in the portal that speaks HTTP to FLG.

FLG's contract is `../shared/seed/flg360-appointment-sessions-api.txt`. Callers import the module
(`from appointments import flg`) and get either an `FlgSession` or one of the `FlgError`s below;
raw JSON never leaves this module and the access key never appears in a message or a log line.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import secrets
import threading
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests
from django.conf import settings
from django.core.cache import cache
from requests.adapters import HTTPAdapter
from urllib3.exceptions import (
    DecodeError,
    HTTPError,
    NameResolutionError,
    NewConnectionError,
    ReadTimeoutError,
)

from bookingportal.net import is_loopback

logger = logging.getLogger("appointments.flg")

SESSIONS_PATH = "/api/v2/appointment-sessions"
MAX_ANSWER_BYTES = 64 * 1024
MAX_URL_LENGTH = 4096
EXCERPT_CHARS = 200
CONNECT_TIMEOUT = 3.05
# Refused connections are retried quickly (nothing reached FLG, so no duplicate can result).
REFUSED_RETRY_DELAYS = (0.1, 0.3)
GATEWAY_RETRY_DELAY = 0.25
BREAKER_THRESHOLD = 5
BREAKER_COOLDOWN = 30
BREAKER_MEMORY = 120
BREAKER_FAILURES_KEY = "flg:breaker:failures"
BREAKER_OPEN_KEY = "flg:breaker:open-until"


@dataclass(frozen=True)
class FlgSession:
    """An appointment session FLG 360 created, validated."""

    session_id: uuid.UUID
    lead: str
    appointment_type: uuid.UUID
    closes_at: dt.datetime
    public_url: str


class FlgError(Exception):
    """FLG 360 could not give us a session. `detail` is for admins, `customer_message` for pages."""

    code = "flg_error"
    http_status = 502
    retryable = False
    customer_message = (
        "We could not open the booking screen just now. Please try again in a minute; "
        "if it keeps happening, contact us."
    )

    def __init__(self, detail: str, *, status: int | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.status = status

    def __str__(self) -> str:
        return self.detail


class FlgNotConfigured(FlgError):
    code = "not_configured"
    http_status = 503
    customer_message = (
        "Online booking is not switched on yet. Please contact us to book an appointment."
    )


class FlgRejected(FlgError):
    """400: FLG did not accept the lead or the appointment type (unknown, or wrong lead group)."""

    code = "rejected"
    http_status = 502
    customer_message = (
        "We could not open the booking screen for this appointment. This needs fixing on our "
        "side; please contact us and we will book it for you."
    )


class FlgKeyInvalid(FlgError):
    """401: the access key is wrong, revoked or missing."""

    code = "key_invalid"
    http_status = 502
    customer_message = (
        "Online booking is not working just now because of a problem on our side. "
        "Please try again later or contact us."
    )


class FlgKeyForbidden(FlgError):
    """403: the access key is valid but lacks 'Allow access to Appointments'."""

    code = "key_forbidden"
    http_status = 502
    customer_message = FlgKeyInvalid.customer_message


class FlgUnavailable(FlgError):
    """429, 5xx, a timeout or a refused connection: FLG is busy or down; try again later."""

    code = "unavailable"
    http_status = 503
    retryable = True
    customer_message = (
        "The booking system is busy or not responding just now. Please try again in a minute."
    )


class FlgProtocolError(FlgError):
    """FLG answered something we cannot trust or use."""

    code = "protocol_error"
    http_status = 502
    retryable = True


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


# Visible ASCII only: a header cannot carry anything else unchanged, and a key pasted with a
# curly quote or a non-breaking space would otherwise fail deep inside http.client.
_KEY_CHARS = re.compile(r"[!-~]+", re.ASCII)


def _usable_key(key: str) -> bool:
    return bool(_KEY_CHARS.fullmatch(key))


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

_ISO_DATETIME = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:[.,](\d{1,9}))?"
    r"(?:([Zz])|([+-])(\d{2})(?::?(\d{2}))?)",
    re.ASCII,
)


def parse_closes_at(value: object) -> dt.datetime:
    """An ISO 8601 timestamp with `Z` or an offset, with or without fractions, as aware UTC."""
    if not isinstance(value, str):
        raise ValueError("closesAt is not a string")
    match = _ISO_DATETIME.fullmatch(value.strip())
    if not match:
        raise ValueError("closesAt is not an ISO 8601 date and time with a time zone")
    year, month, day, hour, minute, second, fraction, zulu, sign, off_h, off_m = match.groups()
    if zulu:
        tz = dt.UTC
    else:
        if int(off_h) > 23 or int(off_m or 0) > 59:
            raise ValueError("closesAt has an impossible offset")
        offset = dt.timedelta(hours=int(off_h), minutes=int(off_m or 0))
        tz = dt.timezone(-offset if sign == "-" else offset)
    micro = int((fraction or "0").ljust(6, "0")[:6])
    moment = dt.datetime(
        int(year), int(month), int(day), int(hour), int(minute), int(second), micro, tzinfo=tz
    )
    return moment.astimezone(dt.UTC)


def _excerpt(body: bytes | str) -> str:
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    text = re.sub(r"[\x00-\x1f\x7f]+", " ", text).strip()
    if len(text) > EXCERPT_CHARS:
        text = text[:EXCERPT_CHARS] + "…"
    return text or "(empty)"


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
        return FlgProtocolError(f"FLG answered 200 but {reason}: {_excerpt(body)}", status=200)

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


# --- Transport -----------------------------------------------------------------------------

_local = threading.local()


def _http() -> requests.Session:
    """One pooled session per thread: requests.Session is not safe to share across threads."""
    session: requests.Session | None = getattr(_local, "session", None)
    if session is None:
        session = requests.Session()
        # No .netrc credentials or proxy variables may change what we send with the key.
        session.trust_env = False
        adapter = HTTPAdapter(pool_connections=2, pool_maxsize=4, max_retries=0)
        session.mount("https://", adapter)
        session.mount("http://", adapter)
        _local.session = session
    return session


def connections_close() -> None:
    """Close this thread's pooled connections to FLG (tests, or a worker shutting down)."""
    session: requests.Session | None = getattr(_local, "session", None)
    if session is not None:
        session.close()
        _local.session = None


@dataclass(frozen=True)
class _Answer:
    status: int
    body: bytes
    content_type: str


def _headers(key: str) -> dict[str, str]:
    return {
        "authorization": f"Bearer {key}",
        "content-type": "application/json",
        "accept": "application/json",
        "user-agent": f"flg-booking-portal/1.0 ({settings.PORTAL_NAME})",
    }


def _read_capped(response: requests.Response, *, deadline: float) -> bytes:
    """The body, at most MAX_ANSWER_BYTES, read before the deadline.

    read1 returns whatever has arrived, so an answer trickled a byte at a time is cut off at
    the deadline instead of holding the worker for as long as the trickle lasts.
    """
    status = response.status_code
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_ANSWER_BYTES:
        raise FlgProtocolError(
            f"FLG's answer is {declared} bytes, more than the {MAX_ANSWER_BYTES} we accept.",
            status=status,
        )
    chunks, size = [], 0
    try:
        while chunk := response.raw.read1(8192, decode_content=True):
            size += len(chunk)
            if size > MAX_ANSWER_BYTES:
                raise FlgProtocolError(
                    f"FLG's answer is longer than the {MAX_ANSWER_BYTES} bytes we accept.",
                    status=status,
                )
            if time.monotonic() > deadline:
                raise FlgUnavailable(
                    f"FLG did not finish its answer within the {settings.FLG_TIMEOUT} s budget.",
                    status=status,
                )
            chunks.append(chunk)
    except ReadTimeoutError:
        raise FlgUnavailable(
            f"FLG did not finish its answer within the {settings.FLG_TIMEOUT} s budget.",
            status=status,
        ) from None
    except DecodeError:
        raise FlgProtocolError("FLG's answer could not be decompressed.", status=status) from None
    except (HTTPError, OSError) as exc:
        raise FlgUnavailable(
            f"FLG dropped the connection in the middle of its answer ({type(exc).__name__}).",
            status=status,
        ) from None
    return b"".join(chunks)


def _post_once(url: str, *, key: str, payload: dict[str, str], deadline: float) -> _Answer:
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise FlgUnavailable(f"No time left in the {settings.FLG_TIMEOUT} s budget for FLG.")
    timeout = (min(CONNECT_TIMEOUT, remaining), remaining)
    http = _http()
    request = http.prepare_request(
        requests.Request("POST", url, data=json.dumps(payload).encode(), headers=_headers(key))
    )
    # Straight to the adapter: Session.send reads a redirect's whole body (past the size cap)
    # even when told not to follow it, and would keep FLG's cookies for the next customer.
    with http.get_adapter(url).send(request, stream=True, timeout=timeout) as response:
        body = _read_capped(response, deadline=deadline)
        return _Answer(response.status_code, body, response.headers.get("content-type", ""))


def _causes(exc: BaseException) -> list[BaseException]:
    """The exception and every exception linked to it, however requests and urllib3 wrap them."""
    seen: list[BaseException] = []
    stack: list[BaseException] = [exc]
    while stack:
        error = stack.pop()
        if any(error is e for e in seen):
            continue
        seen.append(error)
        linked = [getattr(error, "reason", None), error.__cause__, error.__context__, *error.args]
        stack.extend(e for e in linked if isinstance(e, BaseException))
    return seen


def _was_refused(exc: BaseException) -> bool:
    """True when no connection was made, so FLG cannot have seen the request."""
    return any(isinstance(e, NewConnectionError | ConnectionRefusedError) for e in _causes(exc))


def _connection_failure(exc: requests.ConnectionError) -> str:
    causes = _causes(exc)
    if any(isinstance(e, NameResolutionError) for e in causes):
        return "FLG's domain could not be found (DNS); check FLG_DOMAIN."
    if isinstance(exc, requests.exceptions.SSLError):
        return "The secure connection to FLG failed (TLS certificate or handshake)."
    if _was_refused(exc):
        return f"FLG refused the connection ({type(exc).__name__})."
    return f"FLG dropped the connection ({type(exc).__name__})."


def post(url: str, *, key: str, payload: dict[str, str]) -> _Answer:
    """POST JSON within the FLG_TIMEOUT budget, retrying only where no duplicate can result."""
    deadline = time.monotonic() + settings.FLG_TIMEOUT
    refused_retries = list(REFUSED_RETRY_DELAYS)
    gateway_retried = False
    while True:
        try:
            answer = _post_once(url, key=key, payload=payload, deadline=deadline)
        except requests.Timeout:
            raise FlgUnavailable(
                f"FLG did not answer within the {settings.FLG_TIMEOUT} s budget."
            ) from None
        except requests.ConnectionError as exc:
            delay = refused_retries.pop(0) if refused_retries else None
            if _was_refused(exc) and delay is not None and _time_left(deadline) > delay + 0.5:
                time.sleep(delay)
                continue
            raise FlgUnavailable(_connection_failure(exc)) from None
        except requests.RequestException as exc:
            raise FlgUnavailable(f"The request to FLG failed ({type(exc).__name__}).") from None
        if (
            answer.status in (502, 503, 504)
            and not gateway_retried
            and _time_left(deadline) > GATEWAY_RETRY_DELAY + 1
        ):
            # A gateway error means FLG did not create a session, so one retry is harmless.
            gateway_retried = True
            time.sleep(GATEWAY_RETRY_DELAY)
            continue
        return answer


def _time_left(deadline: float) -> float:
    return deadline - time.monotonic()


def error_for(answer: _Answer) -> FlgError:
    """The exception for a non-200 answer, quoting a short excerpt of FLG's body."""
    excerpt = _excerpt(answer.body)
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


# --- Circuit breaker, shared across processes through the cache ----------------------------


def breaker_is_open() -> bool:
    """True while the circuit breaker makes calls fail fast after repeated failures."""
    try:
        until = cache.get(BREAKER_OPEN_KEY)
    except Exception:  # a cache outage must not take booking down with it
        logger.warning("FLG circuit breaker: the cache is unavailable")
        return False
    return until is not None and until > time.time()


def _breaker_failure() -> None:
    try:
        cache.add(BREAKER_FAILURES_KEY, 0, BREAKER_MEMORY)
        failures = cache.incr(BREAKER_FAILURES_KEY)
        if failures >= BREAKER_THRESHOLD:
            cache.set(BREAKER_OPEN_KEY, time.time() + BREAKER_COOLDOWN, BREAKER_COOLDOWN)
            logger.warning(
                "FLG circuit breaker open for %s s after %s failures", BREAKER_COOLDOWN, failures
            )
    except Exception:
        logger.warning("FLG circuit breaker: the cache is unavailable")


def _breaker_success() -> None:
    try:
        cache.delete_many([BREAKER_FAILURES_KEY, BREAKER_OPEN_KEY])
    except Exception:
        logger.warning("FLG circuit breaker: the cache is unavailable")


def breaker_reset() -> None:
    """Close the breaker and forget failures (for admins and tests)."""
    _breaker_success()


# --- The endpoint --------------------------------------------------------------------------


_UNUSABLE_KEY = (
    "The access key contains a space, a control character or a non-ASCII character (often a "
    "copy-and-paste slip), so it cannot be sent; copy it again from FLG 360."
)


def _redacted(answer: _Answer, key: str) -> _Answer:
    # FLG might echo the key back. Removing it from the body before anything quotes an
    # excerpt means no part of it can reach a log or the admin, even cut off mid-key; a
    # publicUrl that carried it is then refused rather than framed.
    if not key or key.encode() not in answer.body:
        return answer
    return _Answer(
        answer.status, answer.body.replace(key.encode(), b"[access key]"), answer.content_type
    )


def _redact(error: FlgError, key: str) -> FlgError:
    # Belt and braces: no message we raise quotes the key, but none may ever carry it.
    if key and key in error.detail:
        error.detail = error.detail.replace(key, "[access key]")
        error.args = (error.detail,)
    return error


def create_session(
    *, lead: str, appointment_type: uuid.UUID, customer_id: int | None = None
) -> FlgSession:
    """Create an appointment session for a lead and an appointment type."""
    if not is_configured():
        raise FlgNotConfigured("FLG_DOMAIN or FLG_API_KEY is not set.")
    key = settings.FLG_API_KEY
    if not _usable_key(key):
        raise FlgKeyInvalid(_UNUSABLE_KEY)
    if breaker_is_open():
        raise FlgUnavailable(
            "Not calling FLG: the circuit breaker is open after repeated failures."
        )
    if not isinstance(appointment_type, uuid.UUID):
        # A string would be sent fine but never match the echoed UUID: a wasted session.
        appointment_type = uuid.UUID(str(appointment_type))
    payload = {"lead": str(lead), "appointmentType": str(appointment_type)}
    started = time.monotonic()
    status: int | None = None
    outcome = "error"
    try:
        answer = _redacted(post(sessions_url(), key=key, payload=payload), key)
        status = answer.status
        if answer.status != 200:
            raise error_for(answer)
        session = parse_session(
            answer.body, lead=str(lead), appointment_type=appointment_type, hosts=booking_hosts()
        )
        outcome = "ok"
    except FlgError as exc:
        outcome = exc.code
        status = exc.status if exc.status is not None else status
        if isinstance(exc, FlgUnavailable):
            _breaker_failure()
        raise _redact(exc, key) from None
    else:
        _breaker_success()
        return session
    finally:
        latency_ms = round((time.monotonic() - started) * 1000)
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
    if not _usable_key(use_key):
        raise FlgKeyInvalid(_UNUSABLE_KEY)
    try:
        answer = post(sessions_url(), key=use_key, payload={"appointmentType": ""})
    except FlgError as exc:
        raise _redact(exc, use_key) from None
    return answer.status


# --- Checking the configuration without creating a session --------------------------------

FULL_TEST = "manage.py flg_check --lead <lead id> --type <appointment type id>"
WRONG_KEY_PREFIX = "flg-check-wrong-key-"


@dataclass(frozen=True)
class ConnectionCheck:
    """The outcome of `check_connection`: whether it works, what to change, and what was seen."""

    ok: bool
    summary: str
    advice: str = ""
    steps: tuple[str, ...] = ()


def _unreachable_advice() -> str:
    return (
        f"Check that FLG_DOMAIN ({settings.FLG_BASE_URL}) is your FLG 360 domain and that this "
        "server can reach it over HTTPS (DNS, firewall, proxy); if FLG 360 itself is down, "
        "try again later."
    )


def _busy(status: int) -> bool:
    return status == 429 or 500 <= status <= 599


def check_connection() -> ConnectionCheck:
    """Prove the domain, the key and its Appointments permission without creating a session."""
    # Two requests without a lead: a deliberately wrong key must get 401 (FLG checks the key
    # before the body), then the configured key must get 400 (lead not specified), which only
    # a valid key with Appointments permission can reach.
    if not settings.FLG_BASE_URL:
        return ConnectionCheck(
            False,
            "FLG_DOMAIN is not set.",
            "Set FLG_DOMAIN to your FLG 360 domain, e.g. demo.flg360.co.uk.",
        )
    if not settings.FLG_API_KEY:
        return ConnectionCheck(
            False,
            "No access key is configured: FLG_API_KEY and FLG_API_KEY_FILE are both unset.",
            "Set FLG_API_KEY (or FLG_API_KEY_FILE, the path of a file holding it) to an FLG 360 "
            "access key with 'Allow access to Appointments' ticked.",
        )
    steps: list[str] = []

    def result(ok: bool, summary: str, advice: str = "") -> ConnectionCheck:
        return ConnectionCheck(ok, summary, advice, tuple(steps))

    step = "A deliberately wrong key"
    try:
        wrong = probe_status(key=WRONG_KEY_PREFIX + secrets.token_hex(16))
        steps.append(f"{step}: FLG answered {wrong}" + (" as it should." if wrong == 401 else "."))
        if _busy(wrong):
            return result(
                False, f"FLG 360 is busy or unavailable ({wrong}).", "Try again in a few minutes."
            )
        if wrong != 401:
            hint = (
                " A redirect usually means FLG_DOMAIN is not the exact FLG 360 domain."
                if 300 <= wrong <= 399
                else ""
            )
            return result(
                False,
                f"The check cannot conclude: FLG answered {wrong} to a deliberately wrong key "
                f"instead of 401, so its answer to the configured key would prove nothing.{hint}",
                f"Check that FLG_DOMAIN ({settings.FLG_BASE_URL}) is your FLG 360 domain, then "
                f"run the full test, which creates a real session: {FULL_TEST}.",
            )
        step = "The configured key, without a lead"
        status = probe_status()
        steps.append(f"{step}: FLG answered {status}.")
    except FlgKeyInvalid as exc:
        steps.append(f"{step}: not sent.")
        return result(
            False,
            exc.detail,
            "Copy the key again from FLG 360 (Settings > Configuration > Access Keys) into "
            "FLG_API_KEY or the file FLG_API_KEY_FILE names.",
        )
    except FlgUnavailable as exc:
        steps.append(f"{step}: no answer. {exc.detail}")
        return result(False, f"FLG 360 could not be reached: {exc.detail}", _unreachable_advice())
    except FlgError as exc:
        steps.append(f"{step}: an answer we cannot use. {exc.detail}")
        return result(
            False,
            f"FLG 360 answered something unexpected: {exc.detail}",
            f"Check that FLG_DOMAIN ({settings.FLG_BASE_URL}) is your FLG 360 domain and not "
            "another site.",
        )
    if status == 400:
        return result(True, "FLG 360 accepted the access key, and the key may use Appointments.")
    if status == 401:
        return result(
            False,
            "FLG 360 says the access key is invalid (401).",
            "Copy the key again from FLG 360 (Settings > Configuration > Access Keys) into "
            "FLG_API_KEY or the file FLG_API_KEY_FILE names.",
        )
    if status == 403:
        return result(
            False,
            "The access key is valid but may not use Appointments (403).",
            "In FLG 360 go to Settings > Configuration > Access Keys, open the key and tick "
            "'Allow access to Appointments'.",
        )
    if _busy(status):
        return result(
            False, f"FLG 360 is busy or unavailable ({status}).", "Try again in a few minutes."
        )
    return result(
        False,
        f"FLG 360 answered {status}, which the check does not expect.",
        f"Check that FLG_DOMAIN ({settings.FLG_BASE_URL}) is your FLG 360 domain, then run the "
        f"full test, which creates a real session: {FULL_TEST}.",
    )
