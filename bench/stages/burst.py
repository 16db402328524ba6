"""A campaign burst, and the starts per second one instance serves while FLG is the wait.

Burst: BURST_CUSTOMERS customers, each already signed in, press Book once, spread evenly over
BURST_WINDOW_S seconds, with FLG answering in BURST_LATENCY_MS: how long a start took (p50,
p95), how many failed, how many FLG calls they made. Then as many other customers do the same
with FLG answering in BURST_SLOW_MS.

Capacity: CAPACITY_CLIENTS customers press "start over" back to back (every press a real FLG
call) for CAPACITY_SECONDS, once per FLG latency in CAPACITY_LATENCIES_MS. A start holds a
worker thread for the whole FLG call, so one instance serves at most workers x threads /
latency starts a second, less when the CPU runs out first; the figures measure which.
"""

from __future__ import annotations

import json
import os
import secrets
import sys
import threading
import time
from dataclasses import dataclass
from typing import Any

import requests

from bench.clients import TYPE_SLUG
from bench.config import (
    BURST_CUSTOMERS,
    BURST_LATENCY_MS,
    BURST_SLOW_MS,
    BURST_WINDOW_S,
    CAPACITY_CLIENTS,
    CAPACITY_LATENCIES_MS,
    CAPACITY_SECONDS,
    FLG_MAX_CONCURRENT_CALLS,
    INJECTED_MS,
    PORTAL_THREADS,
    PORTAL_WORKERS,
)
from bench.procfs import tree_cpu_seconds
from bench.report import say
from bench.servers import Portal, sandbox_calls, set_fault
from bench.stats import percentile
from bench.workspace import seed_output


@dataclass(frozen=True)
class Burst:
    figures: dict[str, Any]  # results.json's "burst"


@dataclass(frozen=True)
class Press:
    """One press of Book: when it was sent (seconds into the run), how long, what came back."""

    at_s: float
    ms: float
    status: int  # 0: no answer (connection refused or reset, timeout)


def run(portal: Portal) -> Burst:
    say(
        f"Campaign burst: {BURST_CUSTOMERS} customers press Book within {BURST_WINDOW_S:g} s, FLG "
        f"answering in {BURST_LATENCY_MS} ms…"
    )
    keys: list[str] = json.loads(seed_output(portal.workspace, "burst", str(BURST_CUSTOMERS)))
    slow_keys: list[str] = json.loads(seed_output(portal.workspace, "burst", str(BURST_CUSTOMERS)))
    load_before = os.getloadavg()[0]
    set_fault(portal.workspace, "none", BURST_LATENCY_MS)
    try:
        burst = burst_run(portal, keys, BURST_LATENCY_MS)
        say(f"The same burst with FLG answering in {BURST_SLOW_MS} ms…")
        time.sleep(2)  # the first burst's last answers out of the way
        set_fault(portal.workspace, "none", BURST_SLOW_MS)
        slow = burst_run(portal, slow_keys, BURST_SLOW_MS)
        capacity = []
        for latency_ms in CAPACITY_LATENCIES_MS:
            say(
                f"Capacity: {CAPACITY_CLIENTS} customers press start over back to back for "
                f"{CAPACITY_SECONDS:g} s, FLG answering in {latency_ms} ms…"
            )
            set_fault(portal.workspace, "none", latency_ms)
            capacity.append(capacity_run(portal, keys[:CAPACITY_CLIENTS], latency_ms))
    finally:
        set_fault(portal.workspace, "none", INJECTED_MS)
    return Burst(
        figures={
            "date": time.strftime("%Y-%m-%d"),
            "load_average_before": round(load_before, 2),
            "portal": f"{PORTAL_WORKERS} workers x {PORTAL_THREADS} threads",
            "flg_max_concurrent_calls": FLG_MAX_CONCURRENT_CALLS or "default",
            **burst,
            "slow_flg": slow,
            "capacity": capacity,
        }
    )


def customer(portal: Portal, session_key: str) -> tuple[requests.Session, str]:
    """A signed-in browser (its session made by bench/seed.py) and its CSRF token.

    The token is one the browser chose itself, as Django allows: the unmasked secret in both
    the cookie and the form, so no page need be fetched before the press.
    """
    client = requests.Session()
    token = secrets.token_hex(16)  # 32 characters, CSRF_SECRET_LENGTH
    client.cookies.set("sessionid", session_key, domain="127.0.0.1")
    client.cookies.set("csrftoken", token, domain="127.0.0.1")
    return client, token


def press(client: requests.Session, url: str, token: str, origin: float, **data: str) -> Press:
    sent = time.perf_counter()
    try:
        status = client.post(
            url + f"/book/{TYPE_SLUG}/",
            {"csrfmiddlewaretoken": token, **data},
            allow_redirects=False,
            timeout=60,
        ).status_code
    except requests.RequestException:
        status = 0
    return Press(at_s=sent - origin, ms=(time.perf_counter() - sent) * 1000, status=status)


def status_counts(presses: list[Press]) -> dict[str, int]:
    statuses: dict[str, int] = {}
    for p in presses:
        statuses[str(p.status)] = statuses.get(str(p.status), 0) + 1
    return statuses


def burst_run(portal: Portal, keys: list[str], latency_ms: int) -> dict[str, Any]:
    browsers = [customer(portal, key) for key in keys]
    presses: list[Press] = []
    calls_before = sandbox_calls(portal.workspace)
    origin = time.perf_counter() + 1.0  # every thread started before the first press
    step = BURST_WINDOW_S / len(browsers)

    def one(n: int) -> None:
        client, token = browsers[n]
        time.sleep(max(0.0, origin + n * step - time.perf_counter()))
        presses.append(press(client, portal.url, token, origin))

    threads = [threading.Thread(target=one, args=(n,)) for n in range(len(browsers))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    flg_calls = sandbox_calls(portal.workspace) - calls_before
    ok = [p.ms for p in presses if p.status == 303]
    statuses = status_counts(presses)
    last_answer_s = max(p.at_s + p.ms / 1000 for p in presses)
    return {
        "customers": len(presses),
        "window_s": BURST_WINDOW_S,
        "flg_latency_ms": latency_ms,
        "started": len(ok),
        "errors": len(presses) - len(ok),
        "statuses": statuses,
        "flg_calls": flg_calls,
        "start_p50_ms": percentile(ok, 50),
        "start_p95_ms": percentile(ok, 95),
        "start_max_ms": round(max(ok), 1) if ok else None,
        "last_answer_after_s": round(last_answer_s, 2),
    }


def capacity_run(portal: Portal, keys: list[str], latency_ms: int) -> dict[str, Any]:
    browsers = [customer(portal, key) for key in keys]
    presses: list[Press] = []
    calls_before = sandbox_calls(portal.workspace)
    cpu_before = tree_cpu_seconds(portal.master)
    origin = time.perf_counter()
    until = origin + CAPACITY_SECONDS

    def loop(n: int) -> None:
        client, token = browsers[n]
        while time.perf_counter() < until:
            presses.append(press(client, portal.url, token, origin, start_over="1"))

    threads = [threading.Thread(target=loop, args=(n,)) for n in range(len(browsers))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - origin
    cpu_seconds = tree_cpu_seconds(portal.master) - cpu_before
    ok = [p.ms for p in presses if p.status == 303]
    statuses = status_counts(presses)
    slots = PORTAL_WORKERS * PORTAL_THREADS
    return {
        "flg_latency_ms": latency_ms,
        "clients": len(browsers),
        "seconds": round(elapsed, 1),
        "starts": len(ok),
        "errors": len(presses) - len(ok),
        "statuses": statuses,
        "flg_calls": sandbox_calls(portal.workspace) - calls_before,
        "starts_per_second": round(len(ok) / elapsed, 1),
        # The ceiling a thread per waiting start sets: workers x threads / FLG's latency.
        "formula_starts_per_second": round(slots / (latency_ms / 1000), 1),
        # The other ceiling: the portal's own CPU per answered press (its processes only,
        # counted at the server), so one core answers at most 1000 / this many a second.
        "portal_cpu_ms_per_press": round(cpu_seconds / len(presses) * 1000, 1) if presses else None,
        "start_p50_ms": percentile(ok, 50),
        "start_p95_ms": percentile(ok, 95),
    }


if __name__ == "__main__":
    from bench.runner import main

    sys.exit(main(only="burst"))
