"""The bench's figures: where it writes, what the sandbox injects, how hard and how long it
loads the portal (BENCH_USERS, BENCH_DURATION, BENCH_SHORT_DURATION, BENCH_DEGRADED_DURATION),
and the servers' sizes."""

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
PORTAL_WORKERS, PORTAL_THREADS = 2, 8
SANDBOX_WORKERS, SANDBOX_THREADS = 2, 16
