"""What a run found: results.json (its shape is what docs/performance.md's figures are read
from) and the table printed at the end. say() is how every part of the bench talks while it runs."""

from __future__ import annotations

import datetime as dt
import json
import os
import time
from typing import TYPE_CHECKING, Any

from bench.config import (
    CUSTOMERS,
    DEGRADED_DURATION,
    DURATION,
    FLG_TIMEOUT,
    HANG_SECONDS,
    INJECTED_MS,
    PORTAL_THREADS,
    PORTAL_WORKERS,
    RESULTS,
    SANDBOX_THREADS,
    SANDBOX_WORKERS,
    SCALE_CUSTOMERS,
    SCALE_SESSIONS,
    USERS,
)
from bench.stats import percentile, with_status

if TYPE_CHECKING:
    from bench.stages.burst import Burst
    from bench.stages.calls import Calls
    from bench.stages.cpu import Costs
    from bench.stages.csv_import import CsvImport
    from bench.stages.degraded import Degraded
    from bench.stages.load import Healthy
    from bench.stages.scale import Scale


def say(message: str) -> None:
    print(message, flush=True)


def results(
    *,
    started: float,
    load_before: float,
    database: str,
    cache: str,
    boot_cpu_ms: int,
    calls: Calls,
    costs: Costs,
    floor: dict[str, Any],
    healthy: Healthy,
    degraded: Degraded,
    scale: Scale,
    burst: Burst,
    campaign: dict[str, Any],
    csv_import: CsvImport,
    rss_all: float,
) -> dict[str, Any]:
    """Everything measured, in results.json's shape; `started` is the run's time.monotonic()."""
    eps = healthy.load.endpoints
    start_ep, home_ep = eps.get("start", {}), eps.get("home", {})
    degraded_eps = degraded.load.endpoints
    alone_p50 = percentile(calls.alone_ms, 50)
    return {
        "date": dt.date.today().isoformat(),
        "machine": {
            "cores": os.cpu_count(),
            "load_average_before": round(load_before, 2),
            "load_average_after": round(os.getloadavg()[0], 2),
        },
        "database": database,
        "cache": "Redis" if cache.startswith("redis") else "local memory (Redis not reachable)",
        "portal": (
            f"gunicorn gthread, {PORTAL_WORKERS} workers x {PORTAL_THREADS} threads "
            "(gunicorn.conf.py)"
        ),
        "sandbox": f"gunicorn gthread, {SANDBOX_WORKERS} workers x {SANDBOX_THREADS} threads",
        "users": USERS,
        "duration": DURATION,
        "injected_latency_ms": INJECTED_MS,
        "endpoints": eps,
        **calls.per_action,
        "start_overhead_p50_ms": round(start_ep["p50_ms"] - INJECTED_MS, 1) if start_ep else None,
        "start_breakdown": {
            "under_load": healthy.split["start"],
            "one_at_a_time": {
                "start_overhead_p50_ms": (
                    round(alone_p50 - INJECTED_MS, 1) if alone_p50 is not None else None
                ),
                **calls.alone_split["start"],
            },
        },
        "refresh_breakdown_under_load": healthy.split["refresh"],
        # CPU the portal's processes spend per request, counted at the server: the ratio
        # of the requests per second each can serve when the CPU is the limit.
        **cpu_figures(costs),
        # Where home's CPU goes, step by step (bench/stages/floor.py).
        "floor": floor,
        # The same comparison from the load run itself: mean latency, light load.
        "home_to_healthz_mean_latency_ratio": round(
            eps["healthz"]["mean_ms"] / home_ep["mean_ms"], 2
        )
        if home_ep.get("mean_ms") and eps.get("healthz")
        else None,
        "rss_mb_per_worker": healthy.rss_mb,
        "rss_mb_per_worker_all_phases": rss_all,
        "worker_boot_cpu_ms": boot_cpu_ms,
        "worker_restarts_in_healthy_load": healthy.restarts,
        "server_errors_healthy": with_status(healthy.load.statuses, " 500"),
        "statuses_healthy": healthy.load.statuses,
        "degraded": {
            "duration": DEGRADED_DURATION,
            "flg_timeout_s": FLG_TIMEOUT,
            "hang_seconds": HANG_SECONDS,
            "home_p95_ms": degraded_eps.get("home", {}).get("p95_ms"),
            "home_p95_ratio": round(degraded_eps["home"]["p95_ms"] / home_ep["p95_ms"], 2)
            if home_ep.get("p95_ms") and "home" in degraded_eps
            else None,
            "server_errors": with_status(degraded.load.statuses, " 500"),
            "start_p50_ms": degraded_eps.get("start", {}).get("p50_ms"),
            "starts": degraded_eps.get("start", {}).get("requests"),
            "starts_waiting_for_timeout": degraded.load.statuses.get("start slow", 0),
            "flg_calls": degraded.flg_calls,
            "breaker_opened_at_s": degraded.breaker_opened_at_s,
            # Starts that waited the full timeout, by when they began: before the breaker first
            # opened, and after it per cooldown (each window's half-open probe: at most 1).
            "starts_waiting_before_open": degraded.after_open["first_wave"],
            "starts_waiting_per_cooldown_after_open": degraded.after_open["per_cooldown"],
            "starts_waiting_per_cooldown_max": degraded.after_open["max"],
            "starts_waiting_after_open_began_at_s": degraded.after_open["began_at_s"],
            # Simultaneous starts with the breaker closed, and a customer loading home meanwhile.
            "burst": degraded.burst,
            # Anything besides sign-in and starts that took that long, and when (seconds
            # into the phase): a worker whose threads all wait on FLG would show here.
            "slow_answers": [
                {"name": name, "at_s": round(at - degraded.started_at, 1), "ms": ms}
                for name, at, ms in degraded.load.slow
                if name not in {"start", "login"}
            ],
            "statuses": degraded.load.statuses,
            "endpoints": degraded_eps,
        },
        "scale": {
            "customers": CUSTOMERS + SCALE_CUSTOMERS,
            "past_sessions": SCALE_SESSIONS,
            "seed_seconds": scale.seed_seconds,
            "home_p50_ms": scale.load.endpoints.get("home", {}).get("p50_ms"),
            "session_p50_ms": scale.load.endpoints.get("session", {}).get("p50_ms"),
            "small_home_p50_ms": home_ep.get("p50_ms"),
            "small_session_p50_ms": eps.get("session", {}).get("p50_ms"),
            "cpu_per_request": scale.costs,
            "small_cpu_per_request": costs,
            "server_errors": with_status(scale.load.statuses, " 500"),
            "endpoints": scale.load.endpoints,
        },
        "burst": burst.figures,
        "campaign": campaign,
        "csv_import": import_figures(csv_import, database),
        "seconds": round(time.monotonic() - started),
    }


def import_figures(imported: CsvImport, database: str) -> dict[str, Any]:
    """The CSV import's figures, as results.json holds them under "csv_import"."""
    return {
        "date": dt.date.today().isoformat(),
        "database": database,
        "rows": imported.rows,
        "megabytes": round(imported.size_bytes / 1024 / 1024, 2),
        "preview_seconds": imported.preview_s,
        "preview_summary": imported.preview_summary,
        "preview_page_kilobytes": round(imported.preview_page_bytes / 1024),
        "confirm_seconds": imported.confirm_s,
        "confirm_message": imported.confirm_message,
        "customers_created": imported.customers_created,
        "repeat_preview_seconds": imported.repeat_preview_s,
        "repeat_preview_summary": imported.repeat_summary,
        "goal_seconds": 20,
        "load_average_before": imported.load_average,
    }


def cpu_figures(costs: Costs) -> dict[str, Any]:
    """results.json's figures from the CPU per request of /healthz, home and the session page."""
    healthz_cpu, home_cpu = costs["healthz"]["cpu_ms"], costs["home"]["cpu_ms"]
    return {
        "home_to_healthz_rps_ratio": round(healthz_cpu / home_cpu, 2) if home_cpu else None,
        "cpu_per_request": costs,
        "capacity_rps_per_core": {
            name: round(1000 / cost["cpu_ms"]) if cost["cpu_ms"] else None
            for name, cost in costs.items()
        },
    }


def merge_alone(stage: str, figures: dict[str, Any]) -> None:
    """A stage run alone: its figures replace its own part of results.json, the rest kept."""
    results = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    results[stage] = figures
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    say(f"Written to bench/results.json under {stage!r}.")


def print_table(r: dict[str, Any]) -> None:
    say("")
    say(f"{'endpoint':<12}{'req/s':>8}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'requests':>10}")
    order = ["login", "home", "start", "session", "refresh", "healthz"]
    for name in sorted(r["endpoints"], key=lambda n: order.index(n) if n in order else 99):
        e = r["endpoints"][name]
        say(
            f"{name:<12}{e['rps']:>8}{e['p50_ms']:>9.0f}{e['p95_ms']:>9.0f}"
            f"{e['p99_ms']:>9.0f}{e['requests']:>10}"
        )
    alone = r["start_breakdown"]["one_at_a_time"]
    loaded = r["start_breakdown"]["under_load"]
    cpu = r["cpu_per_request"]
    scale_cpu = r["scale"]["cpu_per_request"]
    d, s = r["degraded"], r["scale"]
    rows = [
        ("figure", "result", "goal"),
        (
            "FLG calls per start / reload / refresh",
            f"{r['flg_calls_per_start']:g} / {r['flg_calls_per_reload']:g} / "
            f"{r['flg_calls_per_refresh']:g}",
            "1 / 0 / 1",
        ),
        (
            "start overhead p50 (start p50 - 200 ms), load",
            f"{r['start_overhead_p50_ms']} ms",
            "<= 15",
        ),
        (
            "  of which FLG (the sandbox) beyond its 200 ms",
            f"{loaded['flg_beyond_injected_p50_ms']} ms",
            "",
        ),
        ("  of which the portal's own, in Django", f"{loaded['portal_own_p50_ms']} ms", ""),
        ("start overhead p50, one customer at a time", f"{alone['start_overhead_p50_ms']} ms", ""),
        (
            "  FLG beyond 200 ms / the portal's own",
            f"{alone['flg_beyond_injected_p50_ms']} / {alone['portal_own_p50_ms']} ms",
            "",
        ),
        (
            "home : healthz capacity (CPU per request)",
            f"{r['home_to_healthz_rps_ratio']} ({cpu['home']['cpu_ms']} / "
            f"{cpu['healthz']['cpu_ms']} ms)",
            ">= 0.4, CPU <= 2.5 ms",
        ),
        (
            "  the same from the load, mean latency",
            f"{r['home_to_healthz_mean_latency_ratio']}",
            "",
        ),
        ("peak RSS per portal worker", f"{r['rss_mb_per_worker']} MB", ""),
        (
            "FLG hanging: home p95 against healthy",
            f"{d['home_p95_ratio']} ({d['home_p95_ms']:g} ms)",
            "<= 2",
        ),
        (
            "responses with status 500: healthy / scale",
            f"{r['server_errors_healthy']} / {s['server_errors']}",
            "0",
        ),
        ("FLG hanging: responses with status 500", f"{d['server_errors']}", "0"),
        (
            "FLG hanging: starts / waited for the timeout",
            f"{d['starts']} / {d['starts_waiting_for_timeout']} ({d['flg_calls']} FLG calls)",
            "",
        ),
        (
            "  waited before the breaker opened / per cooldown after",
            f"{d['starts_waiting_before_open']} / {d['starts_waiting_per_cooldown_after_open']}",
            "<= 1 per cooldown",
        ),
        (
            f"FLG hanging: {d['burst']['starts']} starts at once, waited for the timeout",
            f"{d['burst']['waited_for_timeout']} ({d['burst']['flg_calls']} FLG calls, "
            f"{d['burst']['statuses']})",
            "",
        ),
        (
            "  home meanwhile: p95 (max)",
            f"{d['burst']['home_p95_ms']} ms ({d['burst']['home_max_ms']} ms)",
            "< 100 ms",
        ),
        (
            f"FLG hanging: one customer presses {d['burst']['one_customer']['presses']} times "
            "at once, last answer",
            f"{d['burst']['one_customer']['last_answer_ms'] / 1000:.1f} s "
            f"({d['burst']['one_customer']['flg_calls']} FLG calls, "
            f"{d['burst']['one_customer']['statuses']})",
            f"<= FLG_TIMEOUT + 1 = {FLG_TIMEOUT + 1} s",
        ),
        (
            "10k customers, 100k sessions: home p50",
            f"{s['home_p50_ms']:g} ms (small: {s['small_home_p50_ms']:g} ms)",
            "flat",
        ),
        (
            "  session page p50",
            f"{s['session_p50_ms']:g} ms (small: {s['small_session_p50_ms']:g} ms)",
            "flat",
        ),
        (
            "  CPU per home / session page",
            f"{scale_cpu['home']['cpu_ms']} / {scale_cpu['session']['cpu_ms']} ms "
            f"(small: {cpu['home']['cpu_ms']} / {cpu['session']['cpu_ms']} ms)",
            "flat",
        ),
        (
            f"CSV import, {r['csv_import']['rows']:,} new customers: preview / confirm",
            f"{r['csv_import']['preview_seconds']} / {r['csv_import']['confirm_seconds']} s",
            "< 20 s each",
        ),
    ]
    say("")
    for label, value, goal in rows:
        say(f"{label:<48}{value:<42}{goal}")
    print_floor(r["floor"])
    print_burst(r["burst"])
    print_campaign(r["campaign"])
    m = r["machine"]
    say(
        f"\n{r['database']}, {r['cache']}; portal: {r['portal']}; {r['users']} simulated "
        f"customers; {m['cores']} cores, load average {m['load_average_before']} before; "
        f"{r['seconds']} s in all. Written to bench/results.json."
    )


FLOOR_STEPS = {
    "bare": "gunicorn alone (answered before Django)",
    "healthz": "/healthz",
    "signed_in": "a signed-in page that does nothing else",
    "home_unrendered": "home's reads, no page rendered",
    "home": "home",
}


def print_floor(f: dict[str, Any]) -> None:
    say("")
    say("Where home's CPU goes, at a server of its own (CPU per request; healthz : each):")
    for name, label in FLOOR_STEPS.items():
        added = f["added_ms"].get(name)
        ratio = f["healthz_ratio"].get(name)
        say(
            f"  {label:<44}{f['cpu_ms'][name]:>6} ms"
            + (f"  (+{added} ms)" if added is not None else "")
            + (f"  {ratio}" if ratio is not None else "")
        )


def print_burst(b: dict[str, Any]) -> None:
    say("")
    say(
        f"Campaign burst ({b['portal']}, FLG_MAX_CONCURRENT_CALLS "
        f"{b.get('flg_max_concurrent_calls', 'default')}): {b['customers']} customers pressed "
        f"Book within {b['window_s']:g} s, FLG answering in {b['flg_latency_ms']} ms"
    )
    for run in (b, b.get("slow_flg")):
        if run is None:
            continue
        say(
            f"  FLG {run['flg_latency_ms']} ms: started {run['started']}, errors "
            f"{run['errors']} {run['statuses']}, FLG calls {run['flg_calls']}; start p50 "
            f"{run['start_p50_ms']} ms, p95 {run['start_p95_ms']} ms, max "
            f"{run['start_max_ms']} ms; last answer {run['last_answer_after_s']} s after the first"
        )
    say(
        f"{'FLG latency':<14}{'starts/s':>10}{'formula':>10}{'CPU ms':>8}{'p50 ms':>9}"
        f"{'p95 ms':>9}{'errors':>8}"
    )
    for c in b["capacity"]:
        say(
            f"{c['flg_latency_ms']:>8} ms    {c['starts_per_second']:>10}"
            f"{c['formula_starts_per_second']:>10}{c.get('portal_cpu_ms_per_press')!s:>8}"
            # None when every press was refused: the table still prints, and says so.
            f"{c['start_p50_ms']!s:>9}{c['start_p95_ms']!s:>9}{c['errors']:>8}"
        )
    say(f"  (load average {b.get('load_average_before')} on this machine before the burst)")


def print_campaign(c: dict[str, Any]) -> None:
    say("")
    say(
        f"Campaign: {c['customers']} customers over {c['seconds']} s (mean "
        f"{c['mean_presses_per_second']}/s, peak {c['peak_presses_per_second']}/s), FLG "
        f"answering in {c['flg_latency_ms']} ms"
    )
    say(
        f"  started {c['started']}, errors {c['errors']} {c['statuses']}, FLG calls "
        f"{c['flg_calls']}; start p50 {c['start_p50_ms']} ms, p95 {c['start_p95_ms']} ms, "
        f"p99 {c['start_p99_ms']} ms, max {c['start_max_ms']} ms; portal CPU per press "
        f"{c['portal_cpu_ms_per_press']} ms; home meanwhile p95 {c['home_p95_ms']} ms"
    )
