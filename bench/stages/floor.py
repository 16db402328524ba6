"""Where home's CPU goes (bench.floor): each step from gunicorn alone to home, at the server.

The figure it explains is home : healthz. Each address below costs what the one before it does
and more, so healthz divided by each is as high as that ratio could go if home cost nothing
beyond that step: a signed-in page that does nothing else, or home without its render.
"""

from __future__ import annotations

import itertools
from typing import Any

import requests

from bench import clients
from bench.config import CUSTOMERS
from bench.floor import BARE
from bench.report import say
from bench.servers import Portal, floor
from bench.stages.cpu import per_request

# In order, each adding to the one before: (name, path, signed in, requests per round).
STEPS = [
    ("bare", BARE, False, 500),
    ("healthz", "/healthz", False, 500),
    ("signed_in", "/_floor/signed-in/", True, 150),
    ("home_unrendered", "/_floor/home-unrendered/", True, 150),
    ("home", "/", True, 150),
]


def run(portal: Portal) -> dict[str, Any]:
    say("Where home's CPU goes: gunicorn alone, /healthz, signed in, home's reads, home…")
    with floor(portal) as served:
        client = clients.signed_in(served.url, CUSTOMERS - 17)
        best: dict[str, dict[str, float]] = {}
        for _ in range(3):  # the least of three rounds, as cpu.costs
            for name, path, signed, n in STEPS:
                who = client if signed else requests.Session()
                measured = per_request(served.master, who, served.url + path, n)
                if name not in best or measured["cpu_ms"] < best[name]["cpu_ms"]:
                    best[name] = measured
    return figures(best)


def figures(best: dict[str, dict[str, float]]) -> dict[str, Any]:
    """CPU per step, what each adds to the one before, and healthz : each."""
    cpu = {name: best[name]["cpu_ms"] for name, *_ in STEPS}
    names = [name for name, *_ in STEPS]
    return {
        "cpu_ms": cpu,
        "added_ms": {
            name: round(cpu[name] - cpu[before], 2) for before, name in itertools.pairwise(names)
        },
        "healthz_ratio": {
            name: round(cpu["healthz"] / cpu[name], 2) if cpu[name] else None for name in names[2:]
        },
        "errors": sum(int(best[name]["errors"]) for name in names),
    }
