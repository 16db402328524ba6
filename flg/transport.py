"""HTTP to FLG 360: pooled connections, one time budget, a size cap, and careful retries.

Every request to FLG goes through `post`. It never follows a redirect, never reads more than
MAX_ANSWER_BYTES, finishes within FLG_TIMEOUT, retries only where FLG cannot have acted on the
first attempt, and removes the access key from whatever FLG says before anyone can quote it
(and sends a call again, once, when the connection kept from an earlier one was closed by FLG's
side as it went out: see KEPT_CONNECTION_CLOSED).
Callers hold a `slot` around it: at most FLG_MAX_CONCURRENT_CALLS calls per process wait on FLG,
so a hanging FLG cannot take every thread from the pages that do not need it. A call that finds
every slot taken waits its turn for up to SLOT_WAIT (a healthy FLG frees one in a fraction of
that), but only MAX_SLOT_WAITERS calls at a time may wait: the rest are refused at once.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import requests
from django.conf import settings
from requests.adapters import HTTPAdapter
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import (
    DecodeError,
    HTTPError,
    NameResolutionError,
    NewConnectionError,
    ReadTimeoutError,
)

from flg import metrics
from flg.errors import FlgBusy, FlgKeyInvalid, FlgProtocolError, FlgUnavailable

logger = logging.getLogger("flg.transport")

MAX_ANSWER_BYTES = 64 * 1024
EXCERPT_CHARS = 200
CONNECT_TIMEOUT = 3.05
# Refused connections are retried quickly (nothing reached FLG, so no duplicate can result).
REFUSED_RETRY_DELAYS = (0.1, 0.3)
GATEWAY_RETRY_DELAY = 0.25
# How long a call may wait for a place when all are taken: long enough to ride out a campaign
# burst on a healthy FLG (a place frees every latency / FLG_MAX_CONCURRENT_CALLS), short enough
# that a customer is told soon when the portal is genuinely overloaded.
SLOT_WAIT = 3.0
# Calls waiting for a place hold a thread each: at most this many per process, so that the
# threads left for pages (GUNICORN_THREADS - FLG_MAX_CONCURRENT_CALLS) are never all taken.
MAX_SLOT_WAITERS = 4

# Visible ASCII only: a header cannot carry anything else unchanged, and a key pasted with a
# curly quote or a non-breaking space would otherwise fail deep inside http.client.
_KEY_CHARS = re.compile(r"[!-~]+", re.ASCII)
UNUSABLE_KEY = (
    "The access key contains a space, a control character or a non-ASCII character (often a "
    "copy-and-paste slip), so it cannot be sent; copy it again from FLG 360."
)


@dataclass(frozen=True)
class Answer:
    """FLG's answer: its status and its body, with the access key already removed."""

    status: int
    body: bytes
    content_type: str


def key_usable(key: str) -> bool:
    """True when the key can travel in a header unchanged."""
    return bool(_KEY_CHARS.fullmatch(key))


def excerpt(body: bytes | str) -> str:
    """A short, single-line quote of what FLG said, for staff."""
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    text = re.sub(r"[\x00-\x1f\x7f]+", " ", text).strip()
    if len(text) > EXCERPT_CHARS:
        text = text[:EXCERPT_CHARS] + "…"
    return text or "(empty)"


_local = threading.local()

# Why a call is sent a second time: a connection kept open from an earlier call was closed by
# FLG's side (an idle timeout at its load balancer, a server restarting or recycled) just as
# this call went out on it, before any answer. Nothing answered it, and had FLG's server read
# it before closing, the result is a second appointment session for the same lead and type,
# which is harmless: the portal uses the one it is answered with, and the other closes unused
# at its closesAt. A call on a new connection that drops is not sent again.
KEPT_CONNECTION_CLOSED = "FLG closed a kept connection as a call went out on it; sent again"


class _NotingPool(HTTPConnectionPool):
    """Notes, for the thread's call, whether its connection was kept from an earlier call."""

    def _get_conn(self, timeout: float | None = None) -> Any:
        conn = super()._get_conn(timeout)
        # A kept connection urllib3 found closed is closed here, and is then a new one.
        _local.kept = getattr(conn, "sock", None) is not None
        return conn


class _NotingHTTPSPool(_NotingPool, HTTPSConnectionPool):
    pass


class _Adapter(HTTPAdapter):
    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _NotingPool, "https": _NotingHTTPSPool}


def _http() -> requests.Session:
    """One pooled session per thread: requests.Session is not safe to share across threads."""
    session: requests.Session | None = getattr(_local, "session", None)
    if session is None:
        session = requests.Session()
        # No .netrc credentials or proxy variables may change what we send with the key.
        session.trust_env = False
        adapter = _Adapter(pool_connections=2, pool_maxsize=4, max_retries=0)
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


class _Slots:
    """FLG_MAX_CONCURRENT_CALLS places, and a count of the calls waiting for one."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.places = threading.BoundedSemaphore(size)
        self.waiting = 0
        self.lock = threading.Lock()

    def take(self) -> None:
        if self.places.acquire(blocking=False):
            return
        with self.lock:
            if self.waiting >= MAX_SLOT_WAITERS:
                self._refuse(waited=False)
            self.waiting += 1
        try:
            if not self.places.acquire(timeout=SLOT_WAIT):
                self._refuse(waited=True)
        finally:
            with self.lock:
                self.waiting -= 1

    def _refuse(self, *, waited: bool) -> None:
        metrics.busy_refusals.inc()
        how = f"for {SLOT_WAIT:g} s" if waited else f"with {MAX_SLOT_WAITERS} calls already waiting"
        raise FlgBusy(
            f"Not calling FLG: all {self.size} places for calls (FLG_MAX_CONCURRENT_CALLS) "
            f"stayed taken {how}: the portal is overloaded."
        )


_slots_lock = threading.Lock()
_slots: _Slots | None = None


def _current_slots() -> _Slots:
    global _slots
    size = settings.FLG_MAX_CONCURRENT_CALLS
    with _slots_lock:
        if _slots is None or _slots.size != size:
            _slots = _Slots(size)
        return _slots


@contextmanager
def slot() -> Iterator[None]:
    """Hold one of this process's FLG_MAX_CONCURRENT_CALLS places, waiting up to SLOT_WAIT for
    one; FlgBusy when none frees in time or too many calls are waiting already."""
    slots = _current_slots()
    slots.take()
    try:
        yield
    finally:
        slots.places.release()


def _headers(key: str) -> dict[str, str]:
    return {
        "authorization": f"Bearer {key}",
        "content-type": "application/json",
        "accept": "application/json",
        "user-agent": f"flg-booking-portal/1.0 ({settings.PORTAL_NAME})",
    }


def _over_budget(status: int | None = None) -> FlgUnavailable:
    return FlgUnavailable(
        f"FLG did not finish its answer within the {settings.FLG_TIMEOUT} s budget.", status=status
    )


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
                raise _over_budget(status)
            chunks.append(chunk)
    except ReadTimeoutError:
        raise _over_budget(status) from None
    except DecodeError:
        raise FlgProtocolError("FLG's answer could not be decompressed.", status=status) from None
    except (HTTPError, OSError) as exc:
        raise FlgUnavailable(
            f"FLG dropped the connection in the middle of its answer ({type(exc).__name__}).",
            status=status,
        ) from None
    return b"".join(chunks)


def _post_once(url: str, *, key: str, payload: dict[str, str], deadline: float) -> Answer:
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
        return Answer(response.status_code, body, response.headers.get("content-type", ""))


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


def _time_left(deadline: float) -> float:
    return deadline - time.monotonic()


def _send(url: str, *, key: str, payload: dict[str, str]) -> Answer:
    deadline = time.monotonic() + settings.FLG_TIMEOUT
    refused_retries = list(REFUSED_RETRY_DELAYS)
    gateway_retried = kept_retried = False
    while True:
        _local.kept = False
        try:
            answer = _post_once(url, key=key, payload=payload, deadline=deadline)
        except requests.Timeout:
            raise FlgUnavailable(
                f"FLG did not answer within the {settings.FLG_TIMEOUT} s budget."
            ) from None
        except requests.ConnectionError as exc:
            if _local.kept and not kept_retried and _time_left(deadline) > 0.5:
                kept_retried = True  # urllib3 has discarded it: the next goes on a new one
                logger.info(KEPT_CONNECTION_CLOSED + " (%s).", type(exc).__name__)
                continue
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
            # A gateway error means FLG did not act on the request, so one retry is harmless.
            gateway_retried = True
            time.sleep(GATEWAY_RETRY_DELAY)
            continue
        return answer


def post(url: str, *, key: str, payload: dict[str, str]) -> Answer:
    """POST JSON within the FLG_TIMEOUT budget, retrying only where no duplicate can result."""
    if not key_usable(key):
        raise FlgKeyInvalid(UNUSABLE_KEY)
    answer = _send(url, key=key, payload=payload)
    # FLG might echo the key back. This is the one place it is removed: nothing downstream
    # (an excerpt in an error, a log line, the admin) ever sees a body that still holds it,
    # and a publicUrl that carried it is refused rather than framed.
    if key.encode() in answer.body:
        answer = Answer(
            answer.status, answer.body.replace(key.encode(), b"[access key]"), answer.content_type
        )
    return answer
