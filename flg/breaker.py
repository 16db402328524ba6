"""The circuit breaker: after repeated "unavailable" answers, fail fast for a while.

Shared across processes through the cache, so a down FLG cannot tie up every worker; a cache
outage never stops a call (the breaker is a courtesy, not a gate).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from django.core.cache import cache

from flg import metrics

logger = logging.getLogger("flg.breaker")

THRESHOLD = 5
COOLDOWN = 30
MEMORY = 120
FAILURES_KEY = "flg:breaker:failures"
OPEN_KEY = "flg:breaker:open-until"


@dataclass(frozen=True)
class BreakerState:
    """What the breaker knows now: whether it is open, and the failures it remembers."""

    is_open: bool
    failures: int


def is_open() -> bool:
    """True while calls fail fast after repeated failures."""
    try:
        until = cache.get(OPEN_KEY)
    except Exception:  # a cache outage must not take booking down with it
        logger.warning("FLG circuit breaker: the cache is unavailable")
        return False
    return until is not None and until > time.time()


def failure_record() -> None:
    """Count one "unavailable" answer; open the breaker at the threshold."""
    try:
        cache.add(FAILURES_KEY, 0, MEMORY)
        failures = cache.incr(FAILURES_KEY)
        if failures >= THRESHOLD:
            until = cache.get(OPEN_KEY)
            if until is None or until <= time.time():
                metrics.breaker_openings.inc()
            cache.set(OPEN_KEY, time.time() + COOLDOWN, COOLDOWN)
            logger.warning(
                "FLG circuit breaker open for %s s after %s failures", COOLDOWN, failures
            )
    except Exception:
        logger.warning("FLG circuit breaker: the cache is unavailable")


def reset() -> None:
    """Close the breaker and forget failures (after a success; for admins and tests)."""
    try:
        cache.delete_many([FAILURES_KEY, OPEN_KEY])
    except Exception:
        logger.warning("FLG circuit breaker: the cache is unavailable")


def state() -> BreakerState:
    """The breaker as every worker sees it (for the metrics page)."""
    try:
        failures = cache.get(FAILURES_KEY) or 0
    except Exception:
        failures = 0
    return BreakerState(is_open=is_open(), failures=int(failures))
