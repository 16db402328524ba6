"""The bench's figures: where it writes, what the sandbox injects, how hard and how long it
loads the portal (BENCH_USERS, BENCH_DURATION, BENCH_SHORT_DURATION, BENCH_DEGRADED_DURATION),
the servers' sizes, the campaign burst and the capacity runs, and which stages run
(BENCH_STAGES)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
OUT = ROOT / "bench" / "out"
RESULTS = ROOT / "bench" / "results.json"

INJECTED_MS = 200
# Small, so the degraded phase sees several timeouts; the portal's default is 10 s.
FLG_TIMEOUT = 3
HANG_SECONDS = FLG_TIMEOUT + 7
# flg/breaker.py's COOLDOWN: once open, the breaker lets one probe through per this many seconds.
BREAKER_COOLDOWN = 30
# Simultaneous starts while FLG hangs, against the portal's 2 x 8 threads.
BURST_STARTS = 24
# Ten customers keep this 2-core machine busy without queueing every request behind the CPU
# (locust, both servers, PostgreSQL and Redis share it); BENCH_USERS=30 shows it saturated.
USERS = int(os.environ.get("BENCH_USERS", "10"))
DURATION = os.environ.get("BENCH_DURATION", "40s")
SHORT = os.environ.get("BENCH_SHORT_DURATION", "30s")
# FLG hanging: long enough for the breaker to open and then pass two cooldowns, so that the
# half-open probes (one start per cooldown waiting the full timeout) are seen.
DEGRADED_DURATION = os.environ.get("BENCH_DEGRADED_DURATION", "80s")
CUSTOMERS = 200  # the last RESERVED are the counting pass's and the CPU measurement's
RESERVED = 20
SCALE_CUSTOMERS, SCALE_SESSIONS = 10_000, 100_000
# gunicorn.conf.py's defaults. The sandbox plays FLG: threads enough never to be the limit,
# even with a second of latency and 40 presses a second.
PORTAL_WORKERS, PORTAL_THREADS = 2, 48
SANDBOX_WORKERS, SANDBOX_THREADS = 2, 64

# A campaign email goes out and customers press Book at once: this many within this window,
# FLG answering in BURST_LATENCY_MS, then again (new customers) with FLG at BURST_SLOW_MS.
BURST_CUSTOMERS = 200
BURST_WINDOW_S = 5.0
BURST_LATENCY_MS = 300
BURST_SLOW_MS = 1000
# A campaign over minutes: CAMPAIGN_CUSTOMERS_PER_5_MIN customers arriving over
# BENCH_CAMPAIGN_SECONDS (300 by default, as issue 24 asks; a shorter run keeps the rates and
# the shape, with fewer customers), with peaks, FLG answering in CAMPAIGN_LATENCY_MS.
CAMPAIGN_SECONDS = int(os.environ.get("BENCH_CAMPAIGN_SECONDS", "300"))
CAMPAIGN_CUSTOMERS_PER_5_MIN = 2000
CAMPAIGN_LATENCY_MS = 300
# Starts per second one instance serves when FLG is the wait: CAPACITY_CLIENTS customers
# pressing "start over" back to back for CAPACITY_SECONDS, at each FLG latency.
CAPACITY_LATENCIES_MS = (200, 1000)
CAPACITY_CLIENTS = 48
CAPACITY_SECONDS = 15.0
# Every stage (the default), or only the burst and capacity runs: BENCH_STAGES=burst, which
# updates the "burst" part of bench/results.json and leaves the rest as the last full run wrote.
STAGES = os.environ.get("BENCH_STAGES", "all").strip().lower() or "all"
# The portal's per-process cap on calls waiting on FLG, when a run wants another than the
# settings' default (GUNICORN_THREADS - 8): BENCH_FLG_MAX_CONCURRENT_CALLS=8, say.
FLG_MAX_CONCURRENT_CALLS = os.environ.get("BENCH_FLG_MAX_CONCURRENT_CALLS", "").strip()
