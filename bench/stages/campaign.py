"""A campaign over minutes: customers arriving after an email, in waves, each pressing Book.

CAMPAIGN_CUSTOMERS_PER_5_MIN customers (2,000) over CAMPAIGN_SECONDS (300), FLG answering in
CAMPAIGN_LATENCY_MS: 40 % arrive evenly over the whole time, and 20 % in each of three waves
(the email reaching three batches of inboxes) a tenth of the time long, at 10 %, 40 % and
70 % of the way, so the peaks come at about five times the mean rate. Each customer, already
signed in, presses Book once. Meanwhile one more customer loads home every 200 ms: pages must
stay fast while the starts wait on FLG. BENCH_CAMPAIGN_SECONDS=60 runs the same shape with a
fifth of the customers.
"""

from __future__ import annotations

import json
import os
import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import requests

from bench import clients
from bench.config import (
    CAMPAIGN_CUSTOMERS_PER_5_MIN,
    CAMPAIGN_LATENCY_MS,
    CAMPAIGN_SECONDS,
    INJECTED_MS,
)
from bench.procfs import tree_cpu_seconds
from bench.report import say
from bench.servers import Portal, sandbox_calls, set_fault
from bench.stages.burst import Press, customer, press, status_counts
from bench.stats import percentile
from bench.workspace import seed_output

WAVES = (0.1, 0.4, 0.7)  # where each wave begins, as a share of the whole time
WAVE_SHARE, WAVE_LENGTH = 0.2, 0.1  # of the customers, of the time
BROWSER = 150  # the customer who keeps loading home (one of bench/seed.py's base customers)


def arrivals(customers: int, seconds: float, seed: int = 24) -> list[float]:
    """When each customer presses Book, seconds from the start, in order."""
    rng = random.Random(seed)
    wave = int(customers * WAVE_SHARE)
    times = [rng.uniform(0, seconds) for _ in range(customers - wave * len(WAVES))]
    for begins in WAVES:
        times += [rng.uniform(begins, begins + WAVE_LENGTH) * seconds for _ in range(wave)]
    return sorted(times)


def run(portal: Portal) -> dict[str, Any]:
    customers = round(CAMPAIGN_CUSTOMERS_PER_5_MIN * CAMPAIGN_SECONDS / 300)
    say(
        f"Campaign: {customers} customers press Book over {CAMPAIGN_SECONDS} s in three waves, "
        f"FLG answering in {CAMPAIGN_LATENCY_MS} ms…"
    )
    keys: list[str] = json.loads(seed_output(portal.workspace, "burst", str(customers)))
    browser = clients.signed_in(portal.url, BROWSER)
    schedule = arrivals(customers, CAMPAIGN_SECONDS)
    load_before = os.getloadavg()[0]
    set_fault(portal.workspace, "none", CAMPAIGN_LATENCY_MS)
    presses: list[Press] = []
    home: list[float] = []
    done = threading.Event()

    def browse() -> None:
        while not done.is_set():
            began = time.perf_counter()
            browser.get(portal.url + "/", timeout=30)
            home.append((time.perf_counter() - began) * 1000)
            time.sleep(0.2)

    def one(client: requests.Session, token: str) -> None:
        presses.append(press(client, portal.url, token, origin))

    calls_before = sandbox_calls(portal.workspace)
    cpu_before = tree_cpu_seconds(portal.master)
    browsing = threading.Thread(target=browse)
    origin = time.perf_counter()
    try:
        browsing.start()
        with ThreadPoolExecutor(max_workers=200) as pool:
            for key, at in zip(keys, schedule, strict=True):
                time.sleep(max(0.0, origin + at - time.perf_counter()))
                client, token = customer(portal, key)
                pool.submit(one, client, token)
        done.set()
        browsing.join()
    finally:
        set_fault(portal.workspace, "none", INJECTED_MS)
    cpu_seconds = tree_cpu_seconds(portal.master) - cpu_before
    ok = [p.ms for p in presses if p.status == 303]
    per_second = [0] * (CAMPAIGN_SECONDS + 1)
    for at in schedule:
        per_second[int(at)] += 1
    return {
        "date": time.strftime("%Y-%m-%d"),
        "load_average_before": round(load_before, 2),
        "customers": len(presses),
        "seconds": CAMPAIGN_SECONDS,
        "flg_latency_ms": CAMPAIGN_LATENCY_MS,
        "peak_presses_per_second": max(per_second),
        "mean_presses_per_second": round(len(schedule) / CAMPAIGN_SECONDS, 1),
        "started": len(ok),
        "errors": len(presses) - len(ok),
        "statuses": status_counts(presses),
        "flg_calls": sandbox_calls(portal.workspace) - calls_before,
        "start_p50_ms": percentile(ok, 50),
        "start_p95_ms": percentile(ok, 95),
        "start_p99_ms": percentile(ok, 99),
        "start_max_ms": round(max(ok), 1) if ok else None,
        "portal_cpu_ms_per_press": round(cpu_seconds / len(presses) * 1000, 1) if presses else None,
        "home_requests": len(home),
        "home_p50_ms": percentile(home, 50),
        "home_p95_ms": percentile(home, 95),
    }
