"""FLG hanging past FLG_TIMEOUT: starts fail, everything else should not.

Two parts. The load again while FLG hangs: once the circuit breaker has opened, at most one
start per cooldown (its half-open probe) may wait the full timeout. Then a burst: with the
breaker closed again, simultaneous starts while a customer keeps loading home; the per-process
cap on calls waiting on FLG keeps threads free for home.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import requests

from bench import clients, locust_load
from bench.clients import TYPE_SLUG
from bench.config import (
    BREAKER_COOLDOWN,
    BURST_STARTS,
    DEGRADED_DURATION,
    FLG_TIMEOUT,
    HANG_SECONDS,
)
from bench.locust_load import LoadRun
from bench.report import say
from bench.servers import Portal, close_breaker, sandbox_calls, set_fault
from bench.stats import breaker_openings, percentile

SLOW_S = FLG_TIMEOUT * 0.9  # a start this slow waited for FLG's timeout
SAME_CUSTOMER_PRESSES = 10
SAME_CUSTOMER = BURST_STARTS + 1  # a base customer no other part of this stage uses


@dataclass(frozen=True)
class Degraded:
    load: LoadRun
    started_at: float  # time.time() as the load began: when slow answers came is told from it
    breaker_opened_at_s: list[int]
    flg_calls: int  # requests that reached the sandbox during the load
    after_open: dict[str, Any]  # the starts that waited for the timeout once the breaker opened
    burst: dict[str, Any]  # simultaneous starts during the hang, and home meanwhile


def run(portal: Portal) -> Degraded:
    say(
        f"Degraded load: FLG hangs {HANG_SECONDS} s, past FLG_TIMEOUT ({FLG_TIMEOUT} s), "
        f"for {DEGRADED_DURATION}…"
    )
    calls_before = sandbox_calls(portal.workspace)
    set_fault(portal.workspace, "hang")
    started_at, mark = time.time(), portal.log.stat().st_size
    degraded = locust_load.run(portal, "degraded", DEGRADED_DURATION)
    ended_at = time.time()
    opened = breaker_openings(portal.log, mark, portal.log.stat().st_size, started_at)
    flg_calls = sandbox_calls(portal.workspace) - calls_before

    say(f"Burst: {BURST_STARTS} simultaneous starts while FLG hangs, home loaded meanwhile…")
    close_breaker(portal.workspace)
    burst_before = sandbox_calls(portal.workspace)
    burst = start_burst(portal.url)
    burst["flg_calls"] = sandbox_calls(portal.workspace) - burst_before

    say(f"One customer presses Book {SAME_CUSTOMER_PRESSES} times at once while FLG hangs…")
    close_breaker(portal.workspace)
    same_before = sandbox_calls(portal.workspace)
    burst["one_customer"] = one_customer_presses(portal.url)
    burst["one_customer"]["flg_calls"] = sandbox_calls(portal.workspace) - same_before
    set_fault(portal.workspace, "none")
    return Degraded(
        load=degraded,
        started_at=started_at,
        breaker_opened_at_s=opened,
        flg_calls=flg_calls,
        after_open=slow_starts_after_opening(degraded, started_at, ended_at, opened),
        burst=burst,
    )


def slow_starts_after_opening(
    load: LoadRun, started_at: float, ended_at: float, opened: list[int]
) -> dict[str, Any]:
    """The starts that waited for FLG's timeout, told apart by when they began: before the
    breaker first opened (the first wave), or after it, per cooldown since that opening."""
    began = sorted(
        round(at - ms / 1000 - started_at, 1) for name, at, ms in load.slow if name == "start"
    )
    if not opened:
        return {"first_wave": len(began), "began_at_s": [], "per_cooldown": [], "max": None}
    first = opened[0]
    # The opening is logged in whole seconds; a start that began within the second before it
    # was already on its way.
    after = [s for s in began if s >= first - 0.5]
    windows = int((ended_at - started_at - first) // BREAKER_COOLDOWN) + 1
    per_cooldown = Counter(int((s - first) // BREAKER_COOLDOWN) for s in after)
    counts = [per_cooldown.get(i, 0) for i in range(max(windows, 1))]
    return {
        "first_wave": len(began) - len(after),
        "began_at_s": after,
        "per_cooldown": counts,
        "max": max(counts),
    }


def start_burst(portal: str) -> dict[str, Any]:
    """BURST_STARTS customers press Book at the same moment; another keeps loading home."""
    with ThreadPoolExecutor(max_workers=4) as pool:
        customers = list(pool.map(lambda n: clients.signed_in(portal, n), range(BURST_STARTS)))
    browsing = clients.signed_in(portal, BURST_STARTS)
    tokens = [clients.form_token(c.get(portal + "/", timeout=30).text) for c in customers]
    ready = threading.Barrier(BURST_STARTS + 1)
    starts: list[tuple[int, float]] = []
    home: list[float] = []
    done = threading.Event()

    def press(client: requests.Session, token: str) -> None:
        ready.wait()
        began = time.monotonic()
        answer = client.post(
            portal + f"/book/{TYPE_SLUG}/",
            {"csrfmiddlewaretoken": token, "start_over": "1"},
            allow_redirects=False,
            timeout=FLG_TIMEOUT + 30,
        )
        starts.append((answer.status_code, (time.monotonic() - began) * 1000))

    def browse() -> None:
        ready.wait()
        while not done.is_set():
            began = time.monotonic()
            browsing.get(portal + "/", timeout=30)
            home.append((time.monotonic() - began) * 1000)
            time.sleep(0.05)

    pressers = [
        threading.Thread(target=press, args=(c, t)) for c, t in zip(customers, tokens, strict=True)
    ]
    browser = threading.Thread(target=browse)
    for thread in [*pressers, browser]:
        thread.start()
    for thread in pressers:
        thread.join()
    done.set()
    browser.join()
    times = [ms for _, ms in starts]
    return {
        "starts": len(starts),
        "statuses": dict(Counter(str(status) for status, _ in starts)),
        "waited_for_timeout": sum(ms >= SLOW_S * 1000 for ms in times),
        "fast_p95_ms": percentile([ms for ms in times if ms < SLOW_S * 1000], 95),
        "home_requests": len(home),
        "home_p50_ms": percentile(home, 50),
        "home_p95_ms": percentile(home, 95),
        "home_max_ms": round(max(home), 1) if home else None,
    }


def one_customer_presses(portal: str) -> dict[str, Any]:
    """One customer's SAME_CUSTOMER_PRESSES presses of Book at the same moment (a frantic
    double click, several tabs): all should be answered within one FLG timeout, together."""
    client = clients.signed_in(portal, SAME_CUSTOMER)
    token = clients.form_token(client.get(portal + "/", timeout=30).text)
    ready = threading.Barrier(SAME_CUSTOMER_PRESSES)
    answers: list[tuple[int, float]] = []

    def press() -> None:
        tab = requests.Session()  # one browser, several tabs: the same cookies
        tab.cookies.update(client.cookies)
        ready.wait()
        began = time.monotonic()
        answer = tab.post(
            portal + f"/book/{TYPE_SLUG}/",
            {"csrfmiddlewaretoken": token},
            allow_redirects=False,
            timeout=FLG_TIMEOUT * SAME_CUSTOMER_PRESSES + 30,
        )
        answers.append((answer.status_code, (time.monotonic() - began) * 1000))

    pressers = [threading.Thread(target=press) for _ in range(SAME_CUSTOMER_PRESSES)]
    for thread in pressers:
        thread.start()
    for thread in pressers:
        thread.join()
    times = [ms for _, ms in answers]
    return {
        "presses": len(answers),
        "statuses": dict(Counter(str(status) for status, _ in answers)),
        "flg_timeout_s": FLG_TIMEOUT,
        "first_answer_ms": round(min(times), 1),
        "last_answer_ms": round(max(times), 1),
    }
