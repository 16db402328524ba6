"""The run: set-up, the stages in order, the report; and, whatever happens, the clean-up."""

from __future__ import annotations

import json
import os
import shutil
import signal
import time

from bench import processes, procfs, report, servers, workspace
from bench.config import CUSTOMERS, OUT, RESULTS, STAGES
from bench.report import say
from bench.stages import (
    burst,
    calls,
    campaign,
    cpu,
    csv_import,
    degraded,
    floor,
    load,
    mail,
    scale,
)

# The stages that can run alone, after the set-up: `main(only=...)`, or BENCH_STAGES.
ALONE = ("burst", "campaign", "cpu", "csv_import", "mail")


def main(only: str | None = None) -> int:
    """The whole run; or, with `only` (or BENCH_STAGES) naming a stage of ALONE, the set-up
    and that stage alone, whose figures replace only its own part of results.json."""
    only = only or (None if STAGES == "all" else STAGES)
    if only is not None and only not in ALONE:
        say(f"BENCH_STAGES must be all or one of {', '.join(ALONE)}, not {only!r}.")
        return 2
    signal.signal(signal.SIGTERM, processes.exit_on_signal)
    signal.signal(signal.SIGHUP, processes.exit_on_signal)
    if only == "mail":
        # Email off the request path sets up its own servers, worker and SMTP server.
        return mail.main()
    started = time.monotonic()
    load_before = os.getloadavg()[0]
    shutil.rmtree(OUT, ignore_errors=True)
    OUT.mkdir(parents=True)
    try:
        with workspace.prepared("bench-", customers=CUSTOMERS) as run:
            say(f"Database: {run.database}; cache: {run.work.cache}. Logs in bench/out/.")
            if load_before > 1.5:
                say(
                    f"Note: the machine is already busy (load average {load_before:.1f} on "
                    f"{os.cpu_count()} cores); latencies will be higher than on a quiet machine."
                )
            return _stages(run, only, started=started, load_before=load_before)
    except (KeyboardInterrupt, SystemExit):
        say("\nInterrupted; stopping everything the bench started.")
        return 130
    except Exception as exc:  # the bench itself could not run: say why, clean up, fail
        say(f"\nThe benchmark could not run: {exc}")
        return 1


def _stages(
    run: workspace.Prepared, only: str | None, *, started: float, load_before: float
) -> int:
    """The stages after the set-up: `only` alone, or every stage and the report."""
    work = run.work
    portal = servers.start(work)
    if only == "csv_import":
        imported = csv_import.run(portal)
        report.merge_alone("csv_import", report.import_figures(imported, run.database))
        return 0
    if only == "burst":
        bursted = burst.run(portal)
        report.merge_alone("burst", bursted.figures)
        report.print_burst(bursted.figures)
        return 0
    if only == "cpu":
        costs = cpu.run(portal)
        for key, value in report.cpu_figures(costs).items():
            report.merge_alone(key, value)
        say(json.dumps(report.cpu_figures(costs), indent=2))
        floored = floor.run(portal)
        report.merge_alone("floor", floored)
        report.print_floor(floored)
        return 0
    if only == "campaign":
        waves = campaign.run(portal)
        report.merge_alone("campaign", waves)
        report.print_campaign(waves)
        return 0
    boot_cpu_ms = procfs.worker_cpu_ms(portal.master)  # before any request adds to it

    counted = calls.run(portal)
    costs = cpu.run(portal)
    floored = floor.run(portal)
    sampler = procfs.RssSampler(portal.master)  # peak memory from the healthy load on
    sampler.start()
    healthy = load.run(portal, sampler)
    hanging = degraded.run(portal)
    scaled = scale.run(portal)
    bursted = burst.run(portal)
    waves = campaign.run(portal)
    # Last: it adds 35,000 customers, which no stage after it should meet.
    imported = csv_import.run(portal)
    rss_all = max(healthy.rss_mb, sampler.take_peak_mb())
    sampler.stopping.set()

    results = report.results(
        started=started,
        load_before=load_before,
        database=run.database,
        cache=work.cache,
        boot_cpu_ms=boot_cpu_ms,
        calls=counted,
        costs=costs,
        floor=floored,
        healthy=healthy,
        degraded=hanging,
        scale=scaled,
        burst=bursted,
        campaign=waves,
        csv_import=imported,
        rss_all=rss_all,
    )
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    report.print_table(results)
    return 0
