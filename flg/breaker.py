"""The circuit breaker: after repeated "unavailable" answers, fail fast instead of waiting on FLG.

Closed: calls go to FLG. Once FLG has failed at least once, calls already waiting on it count
against the threshold too, so a hanging FLG (whose failures all arrive FLG_TIMEOUT late) cannot
draw in a second wave of calls while the first is still timing out. At THRESHOLD failures it
opens: every call fails fast for COOLDOWN seconds. Then it is half-open: exactly one call (the
probe) goes to FLG while the others still fail fast; an answer from FLG closes the breaker, and
another failure opens it for a new cooldown.

The state is shared by every process through the cache, so one probe per cooldown reaches FLG
however many workers there are. When the cache cannot be reached, each process keeps its own
state instead: the breaker degrades, it never blocks or fails a call on the cache's account.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

from django.conf import settings
from django.core.cache import cache

from flg import metrics
from flg.errors import FlgBreakerOpen, FlgError, FlgUnavailable

logger = logging.getLogger("flg.breaker")

THRESHOLD = 5
COOLDOWN = 30
MEMORY = 120
# A probe holds its place for at most its FLG_TIMEOUT budget and this much more, so a worker
# that died mid-probe cannot keep the breaker half-open with no probe for ever.
PROBE_MARGIN = 5
FAILURES_KEY = "flg:breaker:failures"
OPEN_KEY = "flg:breaker:open-until"
# One probe key per cooldown (named by when that cooldown ended): a call that read the state
# just before a failed probe re-opened the breaker finds that cooldown's probe key still taken,
# so it cannot become a second probe; the next cooldown's probe has a key of its own.
PROBE_KEY = "flg:breaker:probe:{until}"
IN_FLIGHT_KEY = "flg:breaker:in-flight"
CACHE_WARNING_EVERY = 60

T = TypeVar("T")


# --- Where the state lives: the cache, or this process when the cache is down -------------


class _ProcessState:
    """The breaker's keys in this process alone, expiring as cache keys do."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._values: dict[str, tuple[Any, float]] = {}

    def _live(self, key: str) -> Any:
        value, expires = self._values.get(key, (None, 0.0))
        if expires <= time.time():
            self._values.pop(key, None)
            return None
        return value

    def get_many(self, keys: Iterable[str]) -> dict[str, Any]:
        with self._lock:
            found = {key: self._live(key) for key in keys}
        return {key: value for key, value in found.items() if value is not None}

    def add(self, key: str, value: Any, ttl: float) -> bool:
        with self._lock:
            if self._live(key) is not None:
                return False
            self._values[key] = (value, time.time() + ttl)
            return True

    def set(self, key: str, value: Any, ttl: float) -> None:
        with self._lock:
            self._values[key] = (value, time.time() + ttl)

    def incr(self, key: str, delta: int, ttl: float) -> int:
        with self._lock:
            current = self._live(key)
            if current is None:
                if delta < 0:
                    return 0
                self._values[key] = (delta, time.time() + ttl)
                return delta
            _, expires = self._values[key]
            self._values[key] = (current + delta, expires)
            return int(current + delta)

    def delete_many(self, keys: Iterable[str]) -> None:
        with self._lock:
            for key in keys:
                self._values.pop(key, None)


_process = _ProcessState()
_last_cache_warning = 0.0


def _shared(action: Callable[[], T], fallback: Callable[[], T]) -> T:
    """`action` on the shared cache; `fallback` on this process's state if the cache fails."""
    global _last_cache_warning
    try:
        return action()
    except Exception:  # any cache outage: the breaker is a courtesy, never a gate
        now = time.monotonic()
        if now - _last_cache_warning > CACHE_WARNING_EVERY:
            _last_cache_warning = now
            logger.warning("FLG circuit breaker: the cache is unavailable; using this process's")
        return fallback()


def _cache_incr(key: str, delta: int, ttl: float) -> int:
    if delta < 0:
        try:
            return int(cache.decr(key, -delta))
        except ValueError:  # expired: nothing left to take back
            return 0
    # The count exists while calls come (one round trip); only the first after a quiet spell
    # makes it. add can lose to another process making it meanwhile: then count on theirs.
    for _ in range(3):
        try:
            return int(cache.incr(key, delta))
        except ValueError:
            if cache.add(key, delta, ttl):
                return delta
    return delta


def _get_many(keys: list[str]) -> dict[str, Any]:
    return _shared(lambda: cache.get_many(keys), lambda: _process.get_many(keys))


def _add(key: str, value: Any, ttl: float) -> bool:
    return _shared(lambda: bool(cache.add(key, value, ttl)), lambda: _process.add(key, value, ttl))


def _set(key: str, value: Any, ttl: float) -> None:
    _shared(lambda: cache.set(key, value, ttl), lambda: _process.set(key, value, ttl))


def _incr(key: str, delta: int = 1, ttl: float = MEMORY) -> int:
    return _shared(lambda: _cache_incr(key, delta, ttl), lambda: _process.incr(key, delta, ttl))


def _delete_many(keys: list[str]) -> None:
    _shared(lambda: cache.delete_many(keys), lambda: _process.delete_many(keys))


# --- The states ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Admission:
    """One call let through to FLG: the half-open breaker's single trial (`probe_key` set), or
    a call made while FLG had no failures on record (`clean`: its success has nothing to clear).
    """

    probe_key: str = ""
    clean: bool = False

    @property
    def probe(self) -> bool:
        return bool(self.probe_key)


def _open_ttl() -> float:
    # Half-open lasts until a probe settles it, or, with no call at all, until the failure
    # count (which late failures may renew up to FLG_TIMEOUT after opening) has expired too.
    return COOLDOWN + MEMORY + settings.FLG_TIMEOUT


def _open(*, failures: int) -> None:
    # add, not set: failures that arrive after the breaker opened (calls that were already
    # waiting on FLG) neither extend the cooldown nor announce a second opening.
    until = time.time() + COOLDOWN
    if _add(OPEN_KEY, until, _open_ttl()):
        metrics.breaker_openings.inc()
        logger.warning("FLG circuit breaker open for %s s after %s failures", COOLDOWN, failures)


def _reopen() -> None:
    # The probe's key stays until it expires (well within the cooldown): see PROBE_KEY.
    _set(OPEN_KEY, time.time() + COOLDOWN, _open_ttl())
    metrics.breaker_openings.inc()
    logger.warning("FLG circuit breaker open again for %s s: the probe call failed", COOLDOWN)


def _close(*, announce: bool) -> None:
    _delete_many([FAILURES_KEY, OPEN_KEY])
    if announce:
        logger.warning("FLG circuit breaker closed: FLG answered the probe call")


def is_open() -> bool:
    """True during the cooldown, while every call fails fast (half-open afterwards)."""
    until = _get_many([OPEN_KEY]).get(OPEN_KEY)
    return until is not None and until > time.time()


def admit() -> Admission:
    """Let one call through to FLG, or raise FlgUnavailable at once; `settle` it afterwards."""
    state = _get_many([FAILURES_KEY, OPEN_KEY, IN_FLIGHT_KEY])
    until = state.get(OPEN_KEY)
    if until is not None:
        if until > time.time():
            metrics.breaker_fast_failures.inc()
            raise FlgBreakerOpen(
                "Not calling FLG: the circuit breaker is open after repeated failures."
            )
        probe_key = PROBE_KEY.format(until=until)
        if not _add(probe_key, time.time(), settings.FLG_TIMEOUT + PROBE_MARGIN):
            metrics.breaker_fast_failures.inc()
            raise FlgBreakerOpen(
                "Not calling FLG: the circuit breaker is half-open and another call is "
                "checking whether FLG is back."
            )
        return Admission(probe_key=probe_key)
    in_flight = _incr(IN_FLIGHT_KEY)
    failures = int(state.get(FAILURES_KEY) or 0)
    # Once FLG has failed, the calls still waiting on it are likely failures on their way.
    if failures and failures + max(in_flight, 1) > THRESHOLD:
        _incr(IN_FLIGHT_KEY, -1)
        metrics.breaker_fast_failures.inc()
        raise FlgBreakerOpen(
            f"Not calling FLG: the circuit breaker is holding back after {failures} failures "
            f"with {in_flight - 1} calls still waiting on FLG."
        )
    return Admission(clean=not failures)


def settle(admission: Admission, *, answered: bool | None) -> None:
    """Record how an admitted call ended: FLG answered (True), was unavailable (False), or
    neither could be told (None, e.g. a bug on our side)."""
    if not admission.probe:
        _incr(IN_FLIGHT_KEY, -1)
    if answered:
        if not admission.clean:
            _close(announce=admission.probe)
    elif answered is None:
        if admission.probe:
            _delete_many([admission.probe_key])
    elif admission.probe:
        _reopen()
    else:
        failures = _incr(FAILURES_KEY)
        if failures >= THRESHOLD:
            _open(failures=failures)


@contextmanager
def guard() -> Iterator[Admission]:
    """Admit a call to FLG (or fail fast) and record its outcome.

    FlgUnavailable from inside counts as a failure; any other answer, refusals included, shows
    that FLG is answering.
    """
    admission = admit()
    answered: bool | None = None
    try:
        yield admission
        answered = True
    except FlgUnavailable:
        answered = False
        raise
    except FlgError:
        answered = True
        raise
    finally:
        settle(admission, answered=answered)


def reset() -> None:
    """Close the breaker and forget failures (for admins, benchmarks and tests)."""
    # Probe keys are left to expire: each cooldown has its own, so none can block a later one.
    _delete_many([FAILURES_KEY, OPEN_KEY, IN_FLIGHT_KEY])
    _process.delete_many([FAILURES_KEY, OPEN_KEY, IN_FLIGHT_KEY])


@dataclass(frozen=True)
class BreakerState:
    """What the breaker knows now, as every worker sees it (for the metrics page)."""

    is_open: bool  # the cooldown: every call fails fast
    half_open: bool  # after it: one probe call decides
    failures: int


def state() -> BreakerState:
    """The breaker's state now, read from where it lives (the cache, or this process)."""
    found = _get_many([FAILURES_KEY, OPEN_KEY])
    until = found.get(OPEN_KEY)
    now = time.time()
    return BreakerState(
        is_open=until is not None and until > now,
        half_open=until is not None and until <= now,
        failures=int(found.get(FAILURES_KEY) or 0),
    )
