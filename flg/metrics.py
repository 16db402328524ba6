"""What the portal's calls to FLG 360 look like from outside, for Prometheus.

Counted where they happen (flg/sessions.py, flg/breaker.py); bookingportal/metrics.py serves
them. No label carries a lead id or anything else about a customer.
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from flg.errors import ErrorCode

# "ok", or the ErrorCode of the failure: a short, fixed list.
OUTCOMES = ("ok", *(code.value for code in ErrorCode))

calls = Counter(
    "portal_flg_calls",
    "Calls to FLG's appointment sessions endpoint, by outcome (ok or the kind of failure).",
    ["outcome"],
)
call_seconds = Histogram(
    "portal_flg_call_duration_seconds",
    "Time one call to FLG took, retries included, by outcome.",
    ["outcome"],
    # FLG answers in a few hundred milliseconds; FLG_TIMEOUT (10 s by default) caps a call.
    buckets=(0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1, 2, 3, 5, 10, 15, 30),
)
breaker_openings = Counter(
    "portal_flg_breaker_openings",
    "Times the FLG circuit breaker opened: after repeated 'unavailable' answers, or again "
    "when its probe call failed.",
)
breaker_fast_failures = Counter(
    "portal_flg_breaker_fast_failures",
    "Session creations refused without calling FLG by the circuit breaker (open, half-open "
    "with its probe under way, or holding back while calls wait on a failing FLG).",
)
busy_refusals = Counter(
    "portal_flg_busy_refusals",
    "Session creations refused without calling FLG because this process already had "
    "FLG_MAX_CONCURRENT_CALLS calls waiting on FLG.",
)

for _outcome in OUTCOMES:
    # Every series exists from the start, at zero, so a rate() never starts from nothing.
    calls.labels(_outcome)
    call_seconds.labels(_outcome)


def call_observe(*, outcome: str, seconds: float) -> None:
    """Count one call to FLG and its duration."""
    calls.labels(outcome).inc()
    call_seconds.labels(outcome).observe(seconds)


class BreakerCollector(Collector):
    """The circuit breaker's state, read from the cache when Prometheus scrapes.

    The state lives in the cache (shared by every worker and replica through Redis) and ends by
    expiry, not by an event a worker would see, so it is read, not remembered.
    """

    def collect(self) -> Iterator[GaugeMetricFamily]:
        from flg import breaker  # breaker counts into this module: imported when scraped

        state = breaker.state()
        yield GaugeMetricFamily(
            "portal_flg_breaker_open",
            "1 while the FLG circuit breaker is open (calls fail fast), else 0.",
            value=1.0 if state.is_open else 0.0,
        )
        yield GaugeMetricFamily(
            "portal_flg_breaker_half_open",
            "1 after the cooldown, while one probe call decides whether FLG is back, else 0.",
            value=1.0 if state.half_open else 0.0,
        )
        yield GaugeMetricFamily(
            "portal_flg_breaker_recent_failures",
            "'Unavailable' answers from FLG the breaker currently remembers.",
            value=float(state.failures),
        )
