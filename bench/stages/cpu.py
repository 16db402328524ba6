"""CPU per request at the portal's processes: /healthz, home and a session page."""

from __future__ import annotations

import time

import requests

from bench import clients
from bench.config import CUSTOMERS
from bench.procfs import children, tree_cpu_seconds
from bench.report import say
from bench.servers import Portal

# Per endpoint: cpu_ms, wall_ms, requests, errors.
Costs = dict[str, dict[str, float]]


def run(portal: Portal) -> Costs:
    say("CPU per request at the portal's processes: /healthz, home, session page…")
    return costs(portal, CUSTOMERS - 15)


def costs(portal: Portal, customer: int) -> Costs:
    """CPU per request of /healthz, home and a session page: the least of three interleaved
    rounds, since anything else running on the machine can only make a round costlier."""
    client = clients.signed_in(portal.url, customer)
    page = clients.start(portal.url, client)
    targets = {
        # As an orchestrator's probe asks: no cookie.
        "healthz": (requests.Session(), portal.url + "/healthz", 500),
        "home": (client, portal.url + "/", 150),
        "session": (client, portal.url + page, 150),
    }
    best: Costs = {}
    for _ in range(3):
        for name, (who, url, n) in targets.items():
            measured = per_request(portal.master, who, url, n)
            if name not in best or measured["cpu_ms"] < best[name]["cpu_ms"]:
                best[name] = measured
    return best


def per_request(master: int, client: requests.Session, url: str, n: int) -> dict[str, float]:
    """CPU the portal's processes spend on one request, over N sequential requests.

    Counted at the server, so neither the client nor anything else on the machine is in it.
    A worker recycled by max_requests mid-measurement would bring its boot into the sum: then
    it measures again.
    """
    for _ in range(10):
        client.get(url, timeout=10)
    for _ in range(3):
        workers = set(children(master))
        before, clock, errors = tree_cpu_seconds(master), time.perf_counter(), 0
        for _ in range(n):
            if client.get(url, timeout=10).status_code != 200:
                errors += 1
        wall = time.perf_counter() - clock
        used = tree_cpu_seconds(master) - before
        if set(children(master)) == workers:
            break
    return {
        "cpu_ms": round(used / n * 1000, 2),
        "wall_ms": round(wall / n * 1000, 2),
        "requests": n,
        "errors": errors,
    }
