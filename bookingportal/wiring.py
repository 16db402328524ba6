"""What the portal is built from that no variable changes: the apps, the middleware in its
order, the templates, the Content-Security-Policy; and what it adds to a parsed database or
cache entry. bookingportal/settings.py assigns them; reading the environment is
bookingportal/env.py's.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

INSTALLED_APPS: list[str] = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "csp",
    "axes",
    # Staff two-factor sign-in (accounts.two_factor); before accounts, whose admin hides theirs.
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "django_tasks",
    "django_tasks_db",
    # The business's own settings (business/): its Portal settings are a django-solo singleton.
    "solo",
    "outbox",
    "business",
    "accounts",
    "appointments",
    "flg",
    # After appointments: privacy's admin attaches to the Customer admin appointments registers.
    "auditlog",
    "privacy",
]

MIDDLEWARE: list[str] = [
    # First, so every line logged while a request is served carries its id.
    "bookingportal.middleware.RequestIdMiddleware",
    # Counts every answer, the probes' and errors' included.
    "bookingportal.metrics.RequestMetricsMiddleware",
    # Before anything reads the scheme or the client's address (the https redirect).
    "bookingportal.proxy.ForwardedHeadersMiddleware",
    # Outside SecurityMiddleware: its no-referrer replaces the site's same-origin.
    "bookingportal.middleware.SecretPathMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Inside WhiteNoise, which answers static files with their own caching headers.
    "bookingportal.middleware.PrivatePagesMiddleware",
    "bookingportal.middleware.PortalCSPMiddleware",
    "bookingportal.middleware.PermissionsPolicyMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Before CommonMiddleware, which validates the Host header: an orchestrator probes by
    # container address, which ALLOWED_HOSTS rightly does not list. Below the header
    # middleware, so its answers carry the same headers as every page.
    "bookingportal.health.HealthCheckMiddleware",
    # Before anything reads a request's body: a charset no codec decodes text with is a 400.
    "bookingportal.middleware.BodyCharsetMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Which second factor (if any) this session gave; then the admin asks staff for one.
    "django_otp.middleware.OTPMiddleware",
    # Who did it, for the audit trail (privacy.audit): the signed-in user and their address.
    "privacy.middleware.AuditActorMiddleware",
    "accounts.two_factor.StaffTwoFactorMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # Inside the header and messages middleware, so its page gets the same as any other.
    "bookingportal.not_allowed.MethodNotAllowedPageMiddleware",
    # Last, as django-axes asks.
    "axes.middleware.AxesMiddleware",
]


def templates(directory: Path) -> list[dict[str, Any]]:
    """Django's templates: the project's folder, then each app's."""
    return [
        {
            "BACKEND": "django.template.backends.django.DjangoTemplates",
            "DIRS": [directory],
            "APP_DIRS": True,
            "OPTIONS": {
                "context_processors": [
                    "django.template.context_processors.request",
                    "django.contrib.auth.context_processors.auth",
                    "django.contrib.messages.context_processors.messages",
                    "bookingportal.context_processors.portal",
                ],
                # {% url %}, remembered per process (every page's layout has ten).
                "builtins": ["bookingportal.template_builtins"],
            },
        },
    ]


# Connections one process's pool may open while the customer's start lock is in the shared
# cache: a start gives its connection back while it waits on FLG, so the threads that use one
# at a time are the pages' (and a start's few milliseconds before and after its call).
POOL_WITH_SHARED_CACHE = 8


def database_entry(
    config: dict[str, Any], *, threads: int = 48, shared_cache: bool = False
) -> dict[str, Any]:
    """A parsed DATABASE_URL with the portal's connection options."""
    if config["ENGINE"] == "django.db.backends.postgresql":
        # A pool per process instead of a connection per thread, taken only while a thread
        # works with the database. Without a shared cache the customer's row lock is held
        # across the FLG call, so every thread may need one at once.
        size = min(threads, POOL_WITH_SHARED_CACHE) if shared_cache else threads
        config["CONN_MAX_AGE"] = 0
        options = config.setdefault("OPTIONS", {})
        options.setdefault("pool", {"min_size": min(2, size), "max_size": size, "timeout": 10})
        config["CONN_HEALTH_CHECKS"] = True
    elif config["ENGINE"] == "django.db.backends.sqlite3":
        # Several threads (runserver, live_server) write; wait for the lock instead of failing.
        options = config.setdefault("OPTIONS", {})
        options.setdefault("timeout", 20)
        # Write-ahead logging: readers never block the writer (the sandbox shares the file).
        options.setdefault("init_command", "PRAGMA journal_mode=WAL;")
        # A transaction takes the write lock when it begins, waiting for it as above. One
        # that began by reading and then wrote after another process's commit failed at once
        # with "database is locked", whatever the timeout (the worker lost a bulk run so).
        options.setdefault("transaction_mode", "IMMEDIATE")
    return config


def cache_is_shared(config: dict[str, Any]) -> bool:
    """True when every process reads the same cache (Redis), not a memory of its own."""
    return "redis" in str(config.get("BACKEND", "")).lower()


def cache_entry(config: dict[str, Any]) -> dict[str, Any]:
    """A parsed CACHE_URL; Redis through the cache that survives Redis being down."""
    if config["BACKEND"] == "django.core.cache.backends.redis.RedisCache":
        # Redis down or stalled must not take the site with it: short timeouts, and every
        # error a miss (bookingportal.cache). Limits and the breaker then count per process.
        config["BACKEND"] = "bookingportal.cache.TolerantRedisCache"
    return config


def solo_cache_timeout(config: dict[str, Any]) -> int:
    """How long a process keeps the business's settings: an hour in a shared cache (a save
    rewrites it there), a minute in a process's own memory (nothing tells it of a save)."""
    return 3600 if config["BACKEND"] == "bookingportal.cache.TolerantRedisCache" else 60


# Features neither the portal nor the booking screen uses, for the page and its frames.
PERMISSIONS_POLICY = (
    "accelerometer=(), camera=(), geolocation=(), gyroscope=(), magnetometer=(), "
    "microphone=(), payment=(), usb=()"
)

CONTENT_SECURITY_POLICY: dict[str, Any] = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        # frame-src: the booking hosts, set per request (bookingportal.middleware).
        "frame-ancestors": ["'none'"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "form-action": ["'self'"],
    }
}
