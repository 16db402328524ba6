"""Scale: 10,000 more customers and 100,000 past sessions, then CPU per request and the load
again (for BENCH_SHORT_DURATION)."""

from __future__ import annotations

import time
from dataclasses import dataclass

from bench import locust_load
from bench.config import CUSTOMERS, SCALE_CUSTOMERS, SCALE_SESSIONS, SHORT
from bench.locust_load import LoadRun
from bench.report import say
from bench.servers import Portal, close_breaker
from bench.stages import cpu
from bench.workspace import seed


@dataclass(frozen=True)
class Scale:
    seed_seconds: float
    costs: cpu.Costs
    load: LoadRun


def run(portal: Portal) -> Scale:
    say(f"Scale: adding {SCALE_CUSTOMERS:,} customers and {SCALE_SESSIONS:,} past sessions…")
    seeded = time.monotonic()
    seed(portal.workspace, "scale", str(SCALE_CUSTOMERS), str(SCALE_SESSIONS))
    seed_seconds = round(time.monotonic() - seeded, 1)
    # The degraded stage left the circuit breaker open; close it before measuring again.
    close_breaker(portal.workspace)
    costs = cpu.costs(portal, CUSTOMERS - 16)
    scaled = locust_load.run(portal, "scale", SHORT)
    return Scale(seed_seconds=seed_seconds, costs=costs, load=scaled)
