"""gunicorn settings for the portal: `gunicorn -c gunicorn.conf.py bookingportal.wsgi`.

Threaded workers: a booking start waits on FLG (up to FLG_TIMEOUT), and a thread can serve
other customers meanwhile, where a sync worker would sit idle.

This file is read by gunicorn's master before Django is configured, so it reads the environment
through bookingportal.env alone (nothing there needs Django's settings); a bad value stops
start-up with one line, as the settings do.
"""

from __future__ import annotations

import os
import resource
import shutil
import sys
from typing import Any

from django.core.exceptions import ImproperlyConfigured

from bookingportal.env import env_bool, env_int, env_log_format, gunicorn_threads

# Read as the settings read them, with the same sentences (bookingportal.env needs no Django
# settings); here a bad value ends start-up with that sentence as its one line.
try:
    workers = env_int("WEB_CONCURRENCY", 2, minimum=1)
    threads = gunicorn_threads()
    # Longer than the FLG budget, so a slow FLG answer never gets a worker killed mid-request.
    timeout = env_int("FLG_TIMEOUT", 10, minimum=1) + 20
    # A guard against a slow leak, seldom paid: with it off, RSS stayed at 86-87 MB per worker
    # over 20,000 requests each (`python -m bench.soak`). A replaced worker's kept-alive clients
    # move to the others while it boots, and stay: one worker then holds more starts than its
    # FLG places and refuses some while its new sibling idles (docs/performance.md).
    max_requests = env_int("GUNICORN_MAX_REQUESTS", 20000, minimum=0)
    # A worker serves at 86-87 MB; importing a 2 MB customer CSV takes one to about 200 MB, and
    # it keeps that after. Past this, the worker is replaced once its requests in hand are done.
    worker_memory_mb = env_int("GUNICORN_WORKER_MEMORY_MB", 160, minimum=0)
    _log_format = env_log_format("LOG_FORMAT", debug=env_bool("DEBUG", False))
except ImproperlyConfigured as exc:
    sys.exit(f"Configuration error: {exc}")

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
worker_class = "gthread"
graceful_timeout = 30
keepalive = 5
# Up to a quarter more at random, so that workers sharing the load evenly are not replaced in
# the same second: a new worker spends about half a second of CPU booting, and answers slowly
# while it warms up (the bench's sandbox, replaced twice within 2 s, answered in 2 to 3 s).
max_requests_jitter = max_requests // 4

# Replaced for its memory after fewer requests than this, a worker says so as a warning.
FEW_REQUESTS = 100


def post_request(worker: Any, req: Any, environ: Any, resp: Any) -> None:
    """Replace a worker whose memory has reached GUNICORN_WORKER_MEMORY_MB (0: never), as
    max_requests does: it takes no new request, finishes those in hand, and exits; the master
    starts another. The peak is what counts (one system call a request): what an import took
    stays the worker's."""
    if not worker_memory_mb or not worker.alive:
        return
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024  # KB on Linux
    if peak_mb < worker_memory_mb:
        return
    message = (
        "Worker's memory reached %s MB (GUNICORN_WORKER_MEMORY_MB is %s): replacing it once its "
        "requests in hand are done."
    )
    if worker.nr < FEW_REQUESTS:
        # A limit below what a worker needs to serve replaces every worker soon after it boots:
        # nothing is lost, but each boot costs half a second of CPU. Say so where it shows.
        worker.log.warning(
            message + " Requests it served: %s. If this repeats, the limit is below what a "
            "worker needs: raise GUNICORN_WORKER_MEMORY_MB.",
            peak_mb,
            worker_memory_mb,
            worker.nr,
        )
    else:
        worker.log.info(message, peak_mb, worker_memory_mb)
    worker.alive = False


# The portal logs one structured line per request itself.
accesslog = None
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info").strip().lower()
if loglevel not in {"debug", "info", "warning", "error", "critical"}:
    sys.exit(
        "Configuration error: GUNICORN_LOG_LEVEL must be debug, info, warning, error or "
        f"critical, not {loglevel!r}."
    )
# The same proxies the portal believes (TRUSTED_PROXIES, checked by the settings at start-up),
# for gunicorn's own forwarder headers. It sets no scheme from a header of its own accord:
# whether X-Forwarded-Proto counts is the portal's decision alone, in one place.
forwarded_allow_ips = ",".join(
    entry.strip() for entry in os.environ.get("TRUSTED_PROXIES", "").split(",") if entry.strip()
)
secure_scheme_headers: dict[str, str] = {}
# Heartbeat files in memory: a container's disk-backed /tmp can stall workers.
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None  # noqa: S108

# gunicorn's own lines (start, worker boot and exit, errors) in the portal's format, JSON or
# plain, so a log pipeline needs one parser; through the portal's mask, so no line holds a
# token from a URL. The formatters and the filter import nothing of Django's.
_handler = {
    "class": "logging.StreamHandler",
    "formatter": _log_format,
    "filters": ["mask_secrets"],
    "stream": "ext://sys.stderr",
}
logconfig_dict: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"mask_secrets": {"()": "bookingportal.logging.MaskSecretsFilter"}},
    "formatters": {
        "json": {"()": "bookingportal.logging.JsonFormatter"},
        "plain": {"()": "bookingportal.logging.PlainFormatter"},
    },
    "handlers": {"stderr": _handler},
    # The root too: whatever logs before Django has configured logging (a configuration
    # error in bookingportal/wsgi.py, say) comes out in the same format as well.
    "root": {"handlers": ["stderr"], "level": "INFO"},
    "loggers": {
        "gunicorn.error": {
            "handlers": ["stderr"],
            "level": loglevel.upper(),
            "propagate": False,
        },
        # Off: a logconfig_dict turns gunicorn's access log on whatever `accesslog` says, and
        # the portal already writes one line per request (bookingportal.access). Its handler
        # still masks, should anyone lower the level.
        "gunicorn.access": {"handlers": ["stderr"], "level": "CRITICAL", "propagate": False},
    },
}

# prometheus-client's multiprocess mode: each worker writes its figures to files in this
# directory and /metrics adds them up. Files left by an earlier run would be added too, so the
# master empties it before the first worker starts.
METRICS_DIR = os.environ.get("PROMETHEUS_MULTIPROC_DIR", "").strip()


def on_starting(server: Any) -> None:
    if METRICS_DIR:
        os.makedirs(METRICS_DIR, exist_ok=True)
        for entry in os.scandir(METRICS_DIR):
            if entry.is_dir(follow_symlinks=False):
                shutil.rmtree(entry.path)
            else:
                os.unlink(entry.path)
    # After the directory exists: the settings check that it can be written.
    settings_check(server)


# gunicorn's exit status for "failed to boot".
BOOT_ERROR = 3


def settings_check(server: Any) -> None:
    """Read the settings once in the master, so a bad value stops gunicorn with its one line
    before any worker starts. (Workers failing at once can trip gunicorn over its own
    shutdown, with a traceback.) The module is then forgotten: each worker reads it afresh,
    FLG_API_KEY_FILE included."""
    import importlib

    try:
        importlib.import_module("bookingportal.settings")
    except ImproperlyConfigured as exc:
        server.log.critical("Configuration error: %s", exc)
        sys.exit(BOOT_ERROR)
    finally:
        sys.modules.pop("bookingportal.settings", None)


def child_exit(server: Any, worker: Any) -> None:
    # A dead worker's counters stay (they are part of the totals); its live gauges go.
    if METRICS_DIR:
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid, METRICS_DIR)
