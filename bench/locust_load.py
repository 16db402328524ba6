"""One headless locust run against the portal (bench/locustfile.py), and what it measured."""

from __future__ import annotations

import csv
import json
import os
from dataclasses import dataclass
from pathlib import Path

from bench.config import BIN, CUSTOMERS, FLG_TIMEOUT, OUT, RESERVED, USERS
from bench.processes import loader
from bench.servers import Portal
from bench.stats import percentile


@dataclass(frozen=True)
class LoadRun:
    """Per endpoint: requests, req/s, latency percentiles and mean; answers counted per endpoint
    and status; and the answers slower than FLG's timeout, as (endpoint, when, ms)."""

    endpoints: dict[str, dict[str, float]]
    statuses: dict[str, int]
    slow: list[tuple[str, float, int]]


def run(portal: Portal, label: str, duration: str) -> LoadRun:
    """One headless locust run; per endpoint: req/s, and latency percentiles of every answer."""
    prefix = OUT / label
    status_file = OUT / f"{label}-statuses.json"
    env = {
        **os.environ,
        "BENCH_CUSTOMERS": str(CUSTOMERS - RESERVED),
        "BENCH_STATUS_FILE": str(status_file),
        "BENCH_SLOW_MS": str(FLG_TIMEOUT * 1000 * 0.9),
    }
    with (OUT / f"{label}-locust.log").open("w") as log:
        process = loader(
            [
                str(BIN / "locust"),
                "-f",
                str(portal.workspace.src / "bench" / "locustfile.py"),
                "--headless",
                "--users",
                str(USERS + 1),
                "--spawn-rate",
                str(USERS + 1),
                "--run-time",
                duration,
                "--stop-timeout",
                "5",
                "--host",
                portal.url,
                "--csv",
                str(prefix),
                "--only-summary",
                "--loglevel",
                "WARNING",
            ],
            env=env,
            log=log,
        )
        process.wait(timeout=600)
    endpoints: dict[str, dict[str, float]] = {}
    stats = Path(f"{prefix}_stats.csv")
    if not stats.exists():
        raise RuntimeError(f"locust wrote no statistics; see {OUT / (label + '-locust.log')}")
    with stats.open(newline="") as rows:
        for row in csv.DictReader(rows):
            if row["Name"] == "Aggregated":
                continue
            endpoints[row["Name"]] = {
                "requests": int(row["Request Count"]),
                "rps": round(float(row["Requests/s"]), 1),
                "p50_ms": float(row["50%"]),
                "p95_ms": float(row["95%"]),
                "p99_ms": float(row["99%"]),
                "mean_ms": round(float(row["Average Response Time"]), 1),
            }
    counted = json.loads(status_file.read_text()) if status_file.exists() else {}
    # locust rounds its percentiles to two significant figures (230, 240 ms): exact ones from
    # every response time instead, where the locustfile wrote them.
    for name, values in counted.get("times", {}).items():
        if name in endpoints:
            for p in (50, 95, 99):
                exact = percentile(values, p)
                if exact is not None:
                    endpoints[name][f"p{p}_ms"] = exact
    return LoadRun(
        endpoints=endpoints,
        statuses=counted.get("statuses", {}),
        slow=[(str(name), float(at), int(ms)) for name, at, ms in counted.get("slow", [])],
    )
