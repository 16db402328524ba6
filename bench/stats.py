"""Figures from what a run recorded: percentiles, and the portal's own log read back (a
start's time split between the portal and FLG, the breaker's openings)."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import math
from pathlib import Path
from typing import Any

from bench.config import INJECTED_MS


def percentile(values: list[float], p: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)], 1)


def with_status(statuses: dict[str, int], suffix: str) -> int:
    return sum(n for key, n in statuses.items() if key.endswith(suffix))


def _between(log: Path, since: int, until: int) -> str:
    """What the log gained between two sizes of it."""
    with log.open("rb") as f:
        f.seek(since)
        return f.read(until - since).decode(errors="replace")


def log_breakdown(log: Path, since: int, until: int) -> dict[str, Any]:
    """From the JSON lines between two offsets: per start and refresh, the request's time in
    Django and the FLG call's time within it (same request id)."""
    by_id: dict[str, dict[str, Any]] = {}
    for line in _between(log, since, until).splitlines():
        if not line.startswith("{"):
            continue
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if record.get("event") in {"request", "flg_call"}:
            by_id.setdefault(record.get("request_id", "-"), {})[record["event"]] = record
    split: dict[str, dict[str, list[float]]] = {
        "start": {"own": [], "flg": []},
        "refresh": {"own": [], "flg": []},
    }
    for item in by_id.values():
        request, call = item.get("request"), item.get("flg_call")
        if not request or not call or request.get("method") != "POST":
            continue
        kind = "refresh" if request["path"].endswith("/refresh/") else "start"
        split[kind]["own"].append(request["latency_ms"] - call["latency_ms"])
        split[kind]["flg"].append(call["latency_ms"])
    result: dict[str, Any] = {}
    for kind, values in split.items():
        flg_p50 = percentile(values["flg"], 50)
        result[kind] = {
            "count": len(values["own"]),
            "portal_own_p50_ms": percentile(values["own"], 50),
            "portal_own_p95_ms": percentile(values["own"], 95),
            "flg_call_p50_ms": flg_p50,
            "flg_beyond_injected_p50_ms": (
                round(flg_p50 - INJECTED_MS, 1) if flg_p50 is not None else None
            ),
        }
    return result


def breaker_openings(log: Path, since: int, until: int, origin: float) -> list[int]:
    """When (whole seconds after `origin`) the portal logged its FLG circuit breaker opening."""
    moments = set()
    for line in _between(log, since, until).splitlines():
        if line.startswith("{") and "circuit breaker open" in line:
            with contextlib.suppress(ValueError, KeyError):
                at = dt.datetime.fromisoformat(json.loads(line)["time"]).timestamp()
                moments.add(round(at - origin))
    return sorted(moments)
