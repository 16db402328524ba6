"""The two servers a run measures, the FLG sandbox and the portal pointed at it, and the
switches the stages flip on them through manage.py."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from bench.config import (
    BREAKER_COOLDOWN,
    FLG_MAX_CONCURRENT_CALLS,
    HANG_SECONDS,
    INJECTED_MS,
    OUT,
    PORTAL_THREADS,
    PORTAL_WORKERS,
    SANDBOX_THREADS,
    SANDBOX_WORKERS,
)
from bench.processes import free_port, gunicorn, stop
from bench.workspace import Workspace, manage


@dataclass(frozen=True)
class Portal:
    """The portal under test: where it answers, its gunicorn master, and its log."""

    workspace: Workspace
    url: str
    master: int
    # JSON lines, one per request and one per FLG call, which the stages read back.
    log: Path
    sandbox: str = ""  # FLG_DOMAIN as the portal has it: the sandbox's base URL


def start(workspace: Workspace) -> Portal:
    """The sandbox under gunicorn, then the portal under gunicorn, calling it as FLG."""
    sandbox_port, portal_port = free_port(), free_port()
    sandbox_env = {
        **workspace.env,
        "FLG_SANDBOX": "1",
        # DEBUG is off, as in production: the bench's host is a demo host on purpose.
        "FLG_SANDBOX_DEMO_HOST": "1",
        "FLG_SANDBOX_SESSION_TTL": "1800",
        # Never recycled: under the capacity runs' load both its workers reached max_requests
        # within two seconds, and the new ones answered in 2 to 3 s while they warmed up, so
        # "FLG" timed out and the portal's breaker rightly opened for the rest of the run. A
        # real FLG's capacity does not dip because our own load recycled it.
        "GUNICORN_MAX_REQUESTS": "0",
    }
    gunicorn(
        workspace.src,
        sandbox_env,
        sandbox_port,
        SANDBOX_WORKERS,
        SANDBOX_THREADS,
        OUT / "sandbox.log",
    )
    sandbox = f"http://127.0.0.1:{sandbox_port}/sandbox"
    log = OUT / "portal.log"
    process = gunicorn(
        workspace.src,
        _portal_env(workspace, sandbox),
        portal_port,
        PORTAL_WORKERS,
        PORTAL_THREADS,
        log,
    )
    return Portal(
        workspace=workspace,
        url=f"http://127.0.0.1:{portal_port}",
        master=process.pid,
        log=log,
        sandbox=sandbox,
    )


def _portal_env(workspace: Workspace, sandbox: str) -> dict[str, str]:
    """The portal's environment, calling the sandbox at `sandbox` as FLG."""
    env = {
        **workspace.env,
        "FLG_SANDBOX": "0",
        "FLG_DOMAIN": sandbox,
        "FLG_BOOKING_HOSTS": sandbox.split("/")[2],
    }
    if FLG_MAX_CONCURRENT_CALLS:
        env["FLG_MAX_CONCURRENT_CALLS"] = FLG_MAX_CONCURRENT_CALLS
    return env


@contextmanager
def floor(portal: Portal) -> Iterator[Portal]:
    """The portal with the floor's addresses (bench.floor), on a server of its own with the
    same workers and threads, for as long as the block runs."""
    port, log = free_port(), OUT / "floor.log"
    env = _portal_env(portal.workspace, portal.sandbox)
    env["DJANGO_SETTINGS_MODULE"] = "bench.floor.settings"
    process = gunicorn(
        portal.workspace.src, env, port, PORTAL_WORKERS, PORTAL_THREADS, log, "bench.floor.wsgi"
    )
    try:
        yield Portal(
            workspace=portal.workspace,
            url=f"http://127.0.0.1:{port}",
            master=process.pid,
            log=log,
            sandbox=portal.sandbox,
        )
    finally:
        stop(process)


def sandbox_calls(workspace: Workspace) -> int:
    """Requests that reached FLG's endpoint so far: the sandbox's own count (ApiCall rows)."""
    code = "from flg_sandbox.models import ApiCall; print(ApiCall.objects.count())"
    return int(manage(workspace, "shell", "-c", code).strip().splitlines()[-1])


def set_fault(workspace: Workspace, mode: str, latency_ms: int = INJECTED_MS) -> None:
    code = (
        "from flg_sandbox.models import Fault; "
        f"Fault.objects.update_or_create(pk=1, defaults={{'mode': {mode!r}, "
        f"'latency_ms': {latency_ms}, 'hang_seconds': {HANG_SECONDS}, 'times': None}})"
    )
    manage(workspace, "shell", "-c", code)


def close_breaker(workspace: Workspace) -> None:
    """Close the portal's FLG circuit breaker, which FLG hanging left open."""
    if workspace.cache.startswith("redis"):
        manage(workspace, "shell", "-c", "from flg import breaker; breaker.reset()")
    else:
        time.sleep(BREAKER_COOLDOWN + 1)  # per-process breakers: wait out the cool-down
