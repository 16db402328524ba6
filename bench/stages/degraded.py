"""The load again with FLG hanging past FLG_TIMEOUT: starts fail, everything else should not."""

from __future__ import annotations

import time
from dataclasses import dataclass

from bench import locust_load
from bench.config import DURATION, FLG_TIMEOUT, HANG_SECONDS
from bench.locust_load import LoadRun
from bench.report import say
from bench.servers import Portal, sandbox_calls, set_fault
from bench.stats import breaker_openings


@dataclass(frozen=True)
class Degraded:
    load: LoadRun
    started_at: float  # time.time() as the load began: when slow answers came is told from it
    breaker_opened_at_s: list[int]
    flg_calls: int  # requests that reached the sandbox during the load


def run(portal: Portal) -> Degraded:
    say(
        f"Degraded load: FLG hangs {HANG_SECONDS} s, past FLG_TIMEOUT ({FLG_TIMEOUT} s), "
        f"for {DURATION}…"
    )
    calls_before = sandbox_calls(portal.workspace)
    set_fault(portal.workspace, "hang")
    started_at, mark = time.time(), portal.log.stat().st_size
    degraded = locust_load.run(portal, "degraded", DURATION)
    opened = breaker_openings(portal.log, mark, portal.log.stat().st_size, started_at)
    set_fault(portal.workspace, "none")
    flg_calls = sandbox_calls(portal.workspace) - calls_before
    return Degraded(
        load=degraded, started_at=started_at, breaker_opened_at_s=opened, flg_calls=flg_calls
    )
