"""gunicorn settings for the portal: `gunicorn -c gunicorn.conf.py bookingportal.wsgi`.

Threaded workers: a booking start waits on FLG (up to FLG_TIMEOUT), and a thread can serve
other customers meanwhile, where a sync worker would sit idle.
"""

import os

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
threads = int(os.environ.get("GUNICORN_THREADS", "8"))
worker_class = "gthread"
# Longer than the FLG budget, so a slow FLG answer never gets a worker killed mid-request.
timeout = int(os.environ.get("FLG_TIMEOUT", "10")) + 20
graceful_timeout = 30
keepalive = 5
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "2000"))
max_requests_jitter = 200
# The portal logs one structured line per request itself.
accesslog = None
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
# The same proxies the portal believes (TRUSTED_PROXIES, checked by the settings at start-up),
# for gunicorn's own forwarder headers. It sets no scheme from a header of its own accord:
# whether X-Forwarded-Proto counts is the portal's decision alone, in one place.
forwarded_allow_ips = ",".join(
    entry.strip() for entry in os.environ.get("TRUSTED_PROXIES", "").split(",") if entry.strip()
)
secure_scheme_headers: dict[str, str] = {}
# Heartbeat files in memory: a container's disk-backed /tmp can stall workers.
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None  # noqa: S108
