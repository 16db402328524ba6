"""Running the portal in a subprocess with an environment of the test's choosing only."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent

# Everything the portal reads, so a test's subprocess never inherits the suite's own values
# (pyproject's pytest env, or DJANGO_ALLOW_ASYNC_UNSAFE from the browser tests).
PREFIXES = (
    "FLG_",
    "SECURE_",
    "PORTAL_",
    "DJANGO_",
    "AXES_",
    "BOOKING_",
    "GUNICORN_",
    "EMAIL_",
    "LOG_",
)
NAMES = {
    "SECRET_KEY",
    "DEBUG",
    "DATABASE_URL",
    "CACHE_URL",
    "ALLOWED_HOSTS",
    "SESSION_COOKIE_SECURE",
    "CSRF_COOKIE_SECURE",
    "LOG_FORMAT",
    "TRUST_X_FORWARDED_PROTO",
    "TRUSTED_PROXIES",
    "STATIC_ROOT",
    "PORT",
}


def clean_env(**overrides: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in NAMES and not k.startswith(PREFIXES)}
    env["ENV_FILE"] = "/nonexistent/.env"
    env.update(overrides)
    return env


def manage(*args: str, timeout: int | str = 60, **env: str) -> subprocess.CompletedProcess[str]:
    # (`timeout` may arrive as text, since callers pass the environment as **dict[str, str].)
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=clean_env(**env),
        capture_output=True,
        text=True,
        timeout=float(timeout),
    )
