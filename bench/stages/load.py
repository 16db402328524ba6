"""The healthy load: simulated customers and a /healthz probe, FLG answering in 200 ms."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bench import locust_load
from bench.config import DURATION, USERS
from bench.locust_load import LoadRun
from bench.procfs import RssSampler
from bench.report import say
from bench.servers import Portal
from bench.stats import log_breakdown


@dataclass(frozen=True)
class Healthy:
    load: LoadRun
    split: dict[str, Any]  # per start and refresh, time in the portal and in FLG
    rss_mb: float  # peak resident memory of any one worker
    restarts: int  # workers gunicorn booted again (max_requests) during the load


def run(portal: Portal, sampler: RssSampler) -> Healthy:
    say(f"Healthy load: {USERS} customers and a /healthz probe for {DURATION}…")
    boots_before = portal.log.read_text().count("Booting worker")
    mark = portal.log.stat().st_size
    healthy = locust_load.run(portal, "healthy", DURATION)
    split = log_breakdown(portal.log, mark, portal.log.stat().st_size)
    rss_mb = sampler.take_peak_mb()
    restarts = portal.log.read_text().count("Booting worker") - boots_before
    return Healthy(load=healthy, split=split, rss_mb=rss_mb, restarts=restarts)
